import { DEFAULT_OAUTH_URL, type PipedriveConfig } from '../config';
import { AccountError, ConfigError, ConnectorError, TransientError } from '../errors';
import type { LogLevel } from '../protocol/output';
import { ApiTokenAuth, OAuthSession, type RequestAuth } from './auth';
import { type Envelope, PipedriveClient, type V1Prefix } from './client';
import { proxyFor } from './proxy';

/** Pipedrive's global host; tests point it at a fake that behaves like it. */
export const GLOBAL_API_URL = process.env.PIPEDRIVE_GLOBAL_API_URL || 'https://api.pipedrive.com';

/**
 * The host of a company's account. PIPEDRIVE_BASE_DOMAIN (default pipedrive.com) exists for
 * tests, which need a company host that can never resolve (`acme.pipedrive.invalid`).
 */
export function companyHost(companyDomain: string): string {
  return `${companyDomain}.${process.env.PIPEDRIVE_BASE_DOMAIN || 'pipedrive.com'}`;
}

type Logger = (level: LogLevel, message: string) => void;

/** What OAuth needs from the command: redaction, and a way to persist a rotated refresh token. */
export interface ConnectHooks {
  /** The config as given (a rotated refresh token is written into a copy of it). */
  rawConfig: Record<string, unknown>;
  addSecret: (secret: string) => void;
  /** Persists an updated config (the CONTROL message). */
  onConfigChange: (config: Record<string, unknown>) => Promise<void>;
}

/** The RequestAuth of a config: the API token, or an OAuth session (which may refresh now). */
export async function authenticate(
  config: PipedriveConfig,
  log: Logger,
  hooks?: ConnectHooks,
): Promise<RequestAuth> {
  const credentials = config.credentials;
  if (credentials.auth_type === 'api_token') {
    hooks?.addSecret(credentials.api_token);
    return new ApiTokenAuth(credentials.api_token);
  }
  if (!hooks) throw new Error('OAuth credentials need ConnectHooks to persist tokens');
  const session = new OAuthSession({
    credentials,
    tokenUrl: `${config.oauth_url}/oauth/token`,
    customTokenUrl: config.oauth_url !== DEFAULT_OAUTH_URL,
    rawConfig: hooks.rawConfig,
    addSecret: hooks.addSecret,
    onConfigChange: hooks.onConfigChange,
    log,
  });
  await session.start();
  return session;
}

/** Names the setting to fix when the API host does not resolve. */
function unresolvedHost(config: PipedriveConfig): (host: string) => ConnectorError {
  return (host) => {
    const info = { host, code: 'ENOTFOUND' };
    if (config.api_url && new URL(config.api_url).hostname === host) {
      return new ConfigError(`Cannot resolve ${host} (ENOTFOUND): check api_url.`, { info });
    }
    if (config.company_domain && host === companyHost(config.company_domain)) {
      return new ConfigError(
        `Cannot resolve ${host} (ENOTFOUND): check company_domain ("${config.company_domain}"); it must be your company's Pipedrive subdomain, as in https://<company_domain>.pipedrive.com, or leave it empty to look it up.`,
        { info },
      );
    }
    return new TransientError(
      `Cannot resolve ${host} (ENOTFOUND): this machine's DNS or network cannot reach Pipedrive.`,
      { info },
    );
  };
}

function clientFor(
  config: PipedriveConfig,
  baseUrl: string,
  auth: RequestAuth,
  log: Logger,
  v1Prefix: V1Prefix = '/api/v1',
): PipedriveClient {
  return new PipedriveClient({
    baseUrl,
    v1Prefix,
    auth,
    maxRequestsPer2Seconds: config.max_requests_per_2_seconds,
    limitIsExplicit: config.max_requests_explicit,
    maxConcurrentRequests: config.max_concurrent_requests,
    dailyTokenReserve: config.daily_token_reserve,
    unresolvedHost: unresolvedHost(config),
    log,
  });
}

/**
 * Builds the client for the account's own host: api_url if given, else the api_domain an OAuth
 * token answer named, else the company domain (Pipedrive routes it to the right data centre),
 * else the one /v1/users/me reports, else the global host. The v1 API is `/api/v1` on a company
 * host but `/v1` on api.pipedrive.com, where `/api/v1/leads`, `/leadLabels`, `/goals/find`,
 * `/mailbox/…` answer 404.
 */
export async function connect(
  config: PipedriveConfig,
  log: Logger,
  hooks?: ConnectHooks,
): Promise<PipedriveClient> {
  // A proxy variable that names no usable proxy fails here, before any request.
  const proxy = proxyFor(
    new URL(
      config.api_url ||
        (config.company_domain ? `https://${companyHost(config.company_domain)}` : GLOBAL_API_URL),
    ),
  );
  if (proxy)
    log('INFO', `Reaching Pipedrive through the proxy ${proxy.label} (${proxy.variable}).`);
  const auth = await authenticate(config, log, hooks);
  if (config.api_url) return clientFor(config, config.api_url, auth, log);
  if (auth instanceof OAuthSession && auth.apiDomain) {
    return clientFor(config, auth.apiDomain, auth, log);
  }
  if (config.company_domain) {
    return clientFor(config, `https://${companyHost(config.company_domain)}`, auth, log);
  }
  const global = clientFor(config, GLOBAL_API_URL, auth, log, '/v1');
  try {
    const me = await global.get('v1', '/users/me', {}, 'connector');
    const domain = (me.data as Record<string, unknown> | null)?.company_domain;
    if (typeof domain === 'string' && /^[a-zA-Z0-9-]+$/.test(domain)) {
      log('INFO', `Using https://${companyHost(domain)} (company domain of the token's user).`);
      global.rebase(`https://${companyHost(domain)}`, '/api/v1');
    }
  } catch (error) {
    if (error instanceof AccountError) throw error;
    if (!(error instanceof ConnectorError)) throw error;
    log('WARN', `Could not read the company domain (${error.message}); using ${GLOBAL_API_URL}.`);
  }
  return global;
}

/** The cheapest authenticated call: proves the token and the host. */
export async function whoAmI(client: PipedriveClient): Promise<Record<string, unknown>> {
  return (await whoAmIWithLimits(client)).user;
}

/** whoAmI, with the rate-limit headers of the answer (for check's report). */
export async function whoAmIWithLimits(
  client: PipedriveClient,
): Promise<{ user: Record<string, unknown>; rateLimits: Envelope['rateLimits'] }> {
  const me = await client.get('v1', '/users/me', {}, 'check');
  const data = me.data;
  if (!data || typeof data !== 'object') {
    throw new ConnectorError(
      `Pipedrive's /v1/users/me answered without user data at ${client.baseUrl}.`,
      'transient_error',
    );
  }
  return { user: data as Record<string, unknown>, rateLimits: me.rateLimits };
}
