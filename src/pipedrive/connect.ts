import type { PipedriveConfig } from '../config';
import { AccountError, ConnectorError } from '../errors';
import type { LogLevel } from '../protocol/output';
import { PipedriveClient, type V1Prefix } from './client';

/** Pipedrive's global host; tests point it at a fake that behaves like it. */
export const GLOBAL_API_URL = process.env.PIPEDRIVE_GLOBAL_API_URL || 'https://api.pipedrive.com';

function clientFor(
  config: PipedriveConfig,
  baseUrl: string,
  log: Logger,
  v1Prefix: V1Prefix = '/api/v1',
): PipedriveClient {
  return new PipedriveClient({
    baseUrl,
    v1Prefix,
    apiToken: config.api_token,
    maxRequestsPer2Seconds: config.max_requests_per_2_seconds,
    limitIsExplicit: config.max_requests_explicit,
    maxConcurrentRequests: config.max_concurrent_requests,
    dailyTokenReserve: config.daily_token_reserve,
    log,
  });
}

type Logger = (level: LogLevel, message: string) => void;

/**
 * Builds the client for the account's own host: api_url if given, else the company domain
 * (Pipedrive routes it to the right data centre), else the one /v1/users/me reports, else the
 * global host. The v1 API is `/api/v1` on a company host but `/v1` on api.pipedrive.com, where
 * `/api/v1/leads`, `/leadLabels`, `/goals/find`, `/mailbox/…` answer 404.
 */
export async function connect(config: PipedriveConfig, log: Logger): Promise<PipedriveClient> {
  if (config.api_url) return clientFor(config, config.api_url, log);
  if (config.company_domain) {
    return clientFor(config, `https://${config.company_domain}.pipedrive.com`, log);
  }
  const global = clientFor(config, GLOBAL_API_URL, log, '/v1');
  try {
    const me = await global.get('v1', '/users/me', {}, 'connector');
    const domain = (me.data as Record<string, unknown> | null)?.company_domain;
    if (typeof domain === 'string' && /^[a-zA-Z0-9-]+$/.test(domain)) {
      log('INFO', `Using https://${domain}.pipedrive.com (company domain of the token's user).`);
      global.rebase(`https://${domain}.pipedrive.com`, '/api/v1');
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
  const me = await client.get('v1', '/users/me', {}, 'check');
  const data = me.data;
  if (!data || typeof data !== 'object') {
    throw new ConnectorError(
      `Pipedrive's /v1/users/me answered without user data at ${client.baseUrl}.`,
      'transient_error',
    );
  }
  return data as Record<string, unknown>;
}
