/**
 * Which connection a request takes: direct, or through the HTTPS proxy the environment names
 * (HTTPS_PROXY / https_proxy, else ALL_PROXY / all_proxy; NO_PROXY exempts hosts), as curl,
 * Python's requests (Airbyte's own connectors) and axios do. Only https targets are proxied:
 * plain http is allowed for loopback hosts only (config.ts), which a proxy could not reach.
 */
import http from 'node:http';
import https from 'node:https';

import { ConfigError } from '../errors';
import { NetworkFailure, ProxyRefusal } from './http';

export interface Proxy {
  url: URL;
  /** The variable that named it, for messages: HTTPS_PROXY or ALL_PROXY. */
  variable: string;
  /** scheme://host:port, never its user or password. */
  label: string;
}

function envValue(name: string): string {
  return process.env[name.toLowerCase()] || process.env[name.toUpperCase()] || '';
}

/**
 * Whether NO_PROXY exempts url: `*`, or an entry that is its host or a parent domain of it
 * (`pipedrive.com`, `.pipedrive.com` and `*.pipedrive.com` all exempt `acme.pipedrive.com`,
 * as curl, Go and Python's requests read it), optionally with a port that must match.
 */
function exempt(url: URL): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port || '443';
  return envValue('no_proxy')
    .toLowerCase()
    .split(/[\s,]+/)
    .some((entry) => {
      if (entry === '') return false;
      if (entry === '*') return true;
      const withPort = /^(.*[^:\]]|\[.*\]):(\d+)$/.exec(entry);
      if (withPort && withPort[2] !== port) return false;
      const name = (withPort ? withPort[1] : entry).replace(/^\[|\]$/g, '').replace(/^\*?\./, '');
      return name !== '' && (host === name || host.endsWith(`.${name}`));
    });
}

/** The proxy for url, or undefined; a ConfigError when the variable cannot name a usable one. */
export function proxyFor(url: URL): Proxy | undefined {
  if (url.protocol !== 'https:') return undefined;
  const variable = envValue('https_proxy') ? 'HTTPS_PROXY' : 'ALL_PROXY';
  const raw = envValue(variable).trim();
  if (raw === '' || exempt(url)) return undefined;
  let proxy: URL;
  try {
    // Without a scheme it is an http proxy, as curl reads it (proxy-from-env would assume https).
    proxy = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    // Not echoed: it may hold the proxy's password.
    throw new ConfigError(
      `${variable} is not a URL: set it as http://host:port (or http://user:password@host:port), or unset it.`,
    );
  }
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') {
    throw new ConfigError(
      `${variable} names a ${proxy.protocol.replace(/:$/, '')} proxy, which this connector cannot use: give an http:// or https:// proxy, or unset it.`,
    );
  }
  return { url: proxy, variable, label: `${proxy.protocol}//${proxy.host}` };
}

/** The agents of one client: direct ones per scheme, and one per proxy in use. */
export class Connections {
  private readonly direct: { http: http.Agent; https: https.Agent };
  private readonly proxied = new Map<string, { agent: http.Agent; proxy?: Proxy }>();

  constructor(private readonly options: { keepAlive: boolean; maxSockets?: number }) {
    this.direct = { http: new http.Agent(options), https: new https.Agent(options) };
  }

  /** The agent for a request to url, and the proxy it goes through (if any). */
  route(url: URL): { agent: http.Agent; proxy?: Proxy } {
    if (url.protocol !== 'https:') return { agent: this.direct.http };
    let route = this.proxied.get(url.host);
    if (!route) {
      const proxy = proxyFor(url);
      if (proxy) {
        // Loaded only when a proxy is used: spec and direct syncs do not pay for it.
        const { HttpsProxyAgent } =
          require('https-proxy-agent') as typeof import('https-proxy-agent');
        route = { agent: new HttpsProxyAgent(proxy.url, this.options), proxy };
      } else {
        route = { agent: this.direct.https };
      }
      this.proxied.set(url.host, route);
    }
    return route;
  }

  /** Closes every idle connection (so that a test's process can exit). */
  close(): void {
    this.direct.http.destroy();
    this.direct.https.destroy();
    for (const { agent } of this.proxied.values()) agent.destroy();
  }
}

/**
 * What a failed exchange means when it went through a proxy: a ConfigError when the proxy
 * must be fixed, else the words for a retryable failure; undefined when no proxy was involved.
 */
export function proxyFailure(error: unknown, host: string): ConfigError | string | undefined {
  if (error instanceof ProxyRefusal) {
    const { proxy, status } = error;
    const refused = `The proxy ${proxy.label} (from ${proxy.variable}) refused to connect to ${host}: ${error.message}.`;
    if (status === 407) {
      return new ConfigError(`${refused} Check the user and password in ${proxy.variable}.`);
    }
    if (status < 500) {
      return new ConfigError(
        `${refused} Allow ${host}:443 through the proxy, or exempt it with NO_PROXY.`,
      );
    }
    return `the proxy ${proxy.label} (from ${proxy.variable}) answered ${error.message} to CONNECT ${host}`;
  }
  if (error instanceof NetworkFailure && error.proxy) {
    const { proxy, code } = error;
    if (code === 'ENOTFOUND') {
      return new ConfigError(
        `Cannot resolve the proxy host ${proxy.url.hostname} (ENOTFOUND): check ${proxy.variable}.`,
      );
    }
    return `${code} (through the proxy ${proxy.label} from ${proxy.variable})`;
  }
  return undefined;
}
