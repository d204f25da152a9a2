import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

import { ConfigError } from '../src/errors';
import { NetworkFailure, ProxyRefusal } from '../src/pipedrive/http';
import { Connections, proxyFailure, proxyFor } from '../src/pipedrive/proxy';
import { FakePipedrive } from './fake-pipedrive';
import {
  configuredCatalog,
  errorsOf,
  expectValidProtocol,
  ofType,
  recordsOf,
  runConnector,
} from './helpers/connector';
import { allOutput } from './helpers/resilience';
import { temporaryDirectory } from './helpers/temp';

/**
 * HTTPS proxies (HTTPS_PROXY, ALL_PROXY, NO_PROXY), as companies run Airbyte behind them: which
 * requests go through one, what a misnamed or refusing proxy says, and a bin/main sync through
 * a CONNECT proxy that asks for a password to a TLS Pipedrive.
 */

const PROXY_VARIABLES = ['https_proxy', 'all_proxy', 'no_proxy', 'http_proxy'];

/** Runs body with exactly these proxy variables set (both spellings cleared first). */
function withProxyEnv<T>(vars: Record<string, string>, body: () => T): T {
  const saved = new Map<string, string | undefined>();
  for (const name of PROXY_VARIABLES.flatMap((n) => [n, n.toUpperCase()])) {
    saved.set(name, process.env[name]);
    delete process.env[name];
  }
  Object.assign(process.env, vars);
  try {
    return body();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

const PIPEDRIVE = new URL('https://acme.pipedrive.com/api/v2/deals');

describe('which requests go through a proxy', () => {
  test('https requests take HTTPS_PROXY, without its credentials in the label', () => {
    const proxy = withProxyEnv({ HTTPS_PROXY: 'http://me:s3cret@proxy.corp:3128' }, () =>
      proxyFor(PIPEDRIVE),
    );
    expect(proxy?.variable).toBe('HTTPS_PROXY');
    expect(proxy?.label).toBe('http://proxy.corp:3128');
    expect(proxy?.url.password).toBe('s3cret');
  });

  test('the lower-case spelling and ALL_PROXY count too; HTTPS_PROXY wins over ALL_PROXY', () => {
    withProxyEnv({ https_proxy: 'http://lower:8080' }, () =>
      expect(proxyFor(PIPEDRIVE)?.label).toBe('http://lower:8080'),
    );
    withProxyEnv({ ALL_PROXY: 'http://all:8080' }, () =>
      expect(proxyFor(PIPEDRIVE)).toMatchObject({
        variable: 'ALL_PROXY',
        label: 'http://all:8080',
      }),
    );
    withProxyEnv({ ALL_PROXY: 'http://all:8080', HTTPS_PROXY: 'http://https:8080' }, () =>
      expect(proxyFor(PIPEDRIVE)?.label).toBe('http://https:8080'),
    );
  });

  test('a value without a scheme is an http proxy, as curl reads it', () => {
    withProxyEnv({ HTTPS_PROXY: 'proxy.corp:3128' }, () =>
      expect(proxyFor(PIPEDRIVE)?.label).toBe('http://proxy.corp:3128'),
    );
  });

  test('NO_PROXY exempts a host and its subdomains, with or without a port, as curl reads it', () => {
    const exempts = (noProxy: string, url = PIPEDRIVE): boolean =>
      withProxyEnv({ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: noProxy }, () => !proxyFor(url));
    for (const noProxy of [
      'acme.pipedrive.com',
      'pipedrive.com',
      '.pipedrive.com',
      '*.pipedrive.com',
      'example.org, PIPEDRIVE.com',
      'example.org pipedrive.com:443',
      '*',
    ]) {
      expect([noProxy, exempts(noProxy)]).toEqual([noProxy, true]);
    }
    for (const noProxy of [
      'example.org',
      'epipedrive.com',
      'pipedrive.com:8443',
      ',',
      'com.pipedrive',
    ]) {
      expect([noProxy, exempts(noProxy)]).toEqual([noProxy, false]);
    }
    expect(exempts('pipedrive.com:8443', new URL('https://acme.pipedrive.com:8443/'))).toBe(true);
    withProxyEnv({ HTTPS_PROXY: 'http://proxy:3128', no_proxy: 'pipedrive.com' }, () =>
      expect(proxyFor(PIPEDRIVE)).toBeUndefined(),
    );
  });

  test('plain http (loopback only) never goes through a proxy, whatever is set', () => {
    withProxyEnv(
      { HTTPS_PROXY: 'http://p:1', HTTP_PROXY: 'http://p:1', ALL_PROXY: 'http://p:1' },
      () => {
        expect(proxyFor(new URL('http://127.0.0.1:8080/api/v2/deals'))).toBeUndefined();
        const connections = new Connections({ keepAlive: false });
        expect(connections.route(new URL('http://127.0.0.1:8080/')).proxy).toBeUndefined();
      },
    );
  });

  test('one agent per host: a proxied host gets a proxy agent, an exempt one the direct agent', () => {
    withProxyEnv({ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'oauth.pipedrive.com' }, () => {
      const connections = new Connections({ keepAlive: true, maxSockets: 8 });
      const proxied = connections.route(PIPEDRIVE);
      expect(proxied.proxy?.label).toBe('http://proxy:3128');
      expect(connections.route(new URL('https://acme.pipedrive.com/api/v1/users')).agent).toBe(
        proxied.agent,
      );
      const direct = connections.route(new URL('https://oauth.pipedrive.com/oauth/token'));
      expect(direct.proxy).toBeUndefined();
      expect(direct.agent).not.toBe(proxied.agent);
      expect(proxied.agent.maxSockets).toBe(8);
      connections.close();
    });
  });

  test('a proxy this connector cannot use is a config error naming the variable, never its value', () => {
    const problem = (vars: Record<string, string>): string => {
      try {
        withProxyEnv(vars, () => proxyFor(PIPEDRIVE));
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error(`no error for ${JSON.stringify(vars)}`);
    };
    const socks = problem({ ALL_PROXY: 'socks5://me:s3cret@proxy:1080' });
    expect(socks).toMatch(/^ALL_PROXY names a socks5 proxy, which this connector cannot use/);
    expect(socks).not.toContain('s3cret');
    const broken = problem({ HTTPS_PROXY: 'http://me:s3cret@[proxy:1080' });
    expect(broken).toMatch(/^HTTPS_PROXY is not a URL: set it as http:\/\/host:port/);
    expect(broken).not.toContain('s3cret');
  });

  test('what a refusing or unreachable proxy means: fix the config, or retry', () => {
    const proxy = withProxyEnv({ HTTPS_PROXY: 'http://me:s3cret@proxy.corp:3128' }, () =>
      proxyFor(PIPEDRIVE),
    )!;
    const host = 'acme.pipedrive.com';
    const denied = proxyFailure(
      new ProxyRefusal(407, 'Proxy Authentication Required', proxy),
      host,
    );
    expect(denied).toBeInstanceOf(ConfigError);
    expect((denied as Error).message).toBe(
      'The proxy http://proxy.corp:3128 (from HTTPS_PROXY) refused to connect to acme.pipedrive.com: 407 Proxy Authentication Required. Check the user and password in HTTPS_PROXY.',
    );
    const forbidden = proxyFailure(new ProxyRefusal(403, 'Forbidden', proxy), host);
    expect((forbidden as Error).message).toMatch(
      /403 Forbidden\. Allow acme\.pipedrive\.com:443 through the proxy, or exempt it with NO_PROXY\.$/,
    );
    expect(proxyFailure(new ProxyRefusal(502, 'Bad Gateway', proxy), host)).toBe(
      'the proxy http://proxy.corp:3128 (from HTTPS_PROXY) answered 502 Bad Gateway to CONNECT acme.pipedrive.com',
    );
    const unresolved = proxyFailure(new NetworkFailure('ENOTFOUND', proxy), host);
    expect((unresolved as Error).message).toBe(
      'Cannot resolve the proxy host proxy.corp (ENOTFOUND): check HTTPS_PROXY.',
    );
    expect(proxyFailure(new NetworkFailure('ECONNREFUSED', proxy), host)).toBe(
      'ECONNREFUSED (through the proxy http://proxy.corp:3128 from HTTPS_PROXY)',
    );
    expect(proxyFailure(new NetworkFailure('ECONNREFUSED'), host)).toBeUndefined();
  });
});

const HOST = 'acme.pipedrive.invalid';
const OPENSSL = spawnSync('openssl', ['version']).status === 0;
const describeTls = OPENSSL ? describe : describe.skip;
if (!OPENSSL) {
  test.skip('openssl not found: the sync through a proxy to a TLS Pipedrive is skipped', () => {});
}

describeTls('a sync through a CONNECT proxy to a TLS Pipedrive', () => {
  const fake = new FakePipedrive({ seed: 31, sizes: { deals: 120, persons: 60 } });
  const PASSWORD = 'pr0xy-pässword-7f3e';
  const connects: Array<{ target: string; authorized: boolean }> = [];
  let tlsFront: tls.Server;
  let proxy: http.Server;
  let proxyPort = 0;
  let certFile = '';

  beforeAll(async () => {
    await fake.start();
    const dir = temporaryDirectory('pd-proxy-');
    certFile = path.join(dir, 'cert.pem');
    const keyFile = path.join(dir, 'key.pem');
    const made = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      `/CN=${HOST}`,
      '-addext',
      `subjectAltName=DNS:${HOST}`,
    ]);
    if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
    const fakePort = Number(new URL(fake.url).port);
    // Pipedrive's TLS, in front of the fake.
    tlsFront = tls.createServer(
      { key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) },
      (socket) => {
        const upstream = net.connect(fakePort, '127.0.0.1');
        socket.pipe(upstream).pipe(socket);
        socket.on('error', () => upstream.destroy());
        upstream.on('error', () => socket.destroy());
      },
    );
    await new Promise<void>((resolve) => tlsFront.listen(0, '127.0.0.1', resolve));
    const tlsPort = (tlsFront.address() as net.AddressInfo).port;
    // A corporate proxy: CONNECT only, with a password; every target goes to the TLS front.
    proxy = http.createServer((_request, response) => response.writeHead(405).end());
    proxy.on('connect', (request: http.IncomingMessage, socket: net.Socket) => {
      const expected = `Basic ${Buffer.from(`corp:${PASSWORD}`).toString('base64')}`;
      const authorized = request.headers['proxy-authorization'] === expected;
      connects.push({ target: request.url ?? '', authorized });
      socket.on('error', () => undefined);
      if (!authorized) {
        socket.end(
          'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="corp"\r\nContent-Length: 0\r\n\r\n',
        );
        return;
      }
      const upstream = net.connect(tlsPort, '127.0.0.1', () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        socket.pipe(upstream).pipe(socket);
      });
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyPort = (proxy.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await fake.stop();
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
    await new Promise((resolve) => tlsFront.close(resolve));
  });

  const proxyEnv = (password: string): Record<string, string> => {
    const value = `http://corp:${encodeURIComponent(password)}@127.0.0.1:${proxyPort}`;
    return {
      HTTPS_PROXY: value,
      https_proxy: value,
      NO_PROXY: '',
      no_proxy: '',
      ALL_PROXY: '',
      all_proxy: '',
      NODE_EXTRA_CA_CERTS: certFile,
    };
  };
  const catalog = configuredCatalog(['deals', 'persons', 'users']);

  test('reads the same records as a direct sync, and no secret shows', async () => {
    const direct = await runConnector(['read'], {
      config: { api_token: fake.token, api_url: fake.url },
      catalog,
    });
    expect(direct.code).toBe(0);
    connects.length = 0;
    const proxied = await runConnector(['read'], {
      config: { api_token: fake.token, api_url: `https://${HOST}` },
      catalog,
      env: proxyEnv(PASSWORD),
    });
    expect(allOutput(proxied)).not.toContain(PASSWORD);
    expect(allOutput(proxied)).not.toContain(encodeURIComponent(PASSWORD));
    expect(allOutput(proxied)).not.toContain(fake.token);
    expect(errorsOf(proxied)).toEqual([]);
    expect(proxied.code).toBe(0);
    expectValidProtocol(proxied);
    for (const stream of ['deals', 'persons', 'users']) {
      // The same rows; their order may differ (a slow round trip splits a list into windows).
      const byId = (rows: any[]) =>
        [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      expect([stream, byId(recordsOf(proxied, stream))]).toEqual([
        stream,
        byId(recordsOf(direct, stream)),
      ]);
    }
    expect(recordsOf(proxied, 'deals').length).toBeGreaterThan(100);
    expect(connects.length).toBeGreaterThan(0);
    expect(connects.every((c) => c.target === `${HOST}:443` && c.authorized)).toBe(true);
    const logs = ofType(proxied, 'LOG').map((m) => m.log.message);
    expect(logs).toContain(
      `Reaching Pipedrive through the proxy http://127.0.0.1:${proxyPort} (HTTPS_PROXY).`,
    );
  });

  test('a wrong proxy password fails check at once, saying which variable to fix', async () => {
    connects.length = 0;
    const wrong = 'not-the-password-41c2';
    const result = await runConnector(['check'], {
      config: { api_token: fake.token, api_url: `https://${HOST}` },
      env: proxyEnv(wrong),
    });
    expect(result.code).toBe(0);
    expectValidProtocol(result);
    const status = ofType(result, 'CONNECTION_STATUS')[0]?.connectionStatus;
    expect(status?.status).toBe('FAILED');
    expect(status?.message).toContain(
      `The proxy http://127.0.0.1:${proxyPort} (from HTTPS_PROXY) refused to connect to ${HOST}: 407 Proxy Authentication Required. Check the user and password in HTTPS_PROXY.`,
    );
    // Not retried: a password does not get better by asking again.
    expect(connects).toEqual([{ target: `${HOST}:443`, authorized: false }]);
    expect(allOutput(result)).not.toContain(wrong);
    expect(allOutput(result)).not.toContain(fake.token);
  });

  test('a socks proxy is refused before any request', async () => {
    connects.length = 0;
    const result = await runConnector(['check'], {
      config: { api_token: fake.token, api_url: `https://${HOST}` },
      env: {
        ...proxyEnv(PASSWORD),
        HTTPS_PROXY: `socks5://corp:${PASSWORD}@127.0.0.1:1080`,
        https_proxy: '',
      },
    });
    const status = ofType(result, 'CONNECTION_STATUS')[0]?.connectionStatus;
    expect(status?.status).toBe('FAILED');
    expect(status?.message).toMatch(
      /HTTPS_PROXY names a socks5 proxy, which this connector cannot use/,
    );
    expect(allOutput(result)).not.toContain(PASSWORD);
    expect(connects).toEqual([]);
  });
});
