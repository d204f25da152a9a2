import { ConfigError } from './errors';
import { toApiTime } from './normalize';

/** The user's configuration, validated and with defaults applied. */
export interface PipedriveConfig {
  api_token: string;
  company_domain?: string;
  api_url?: string;
  start_date?: string;
  deals_lookback_hours: number;
  notes_update_window_days: number;
  max_requests_per_2_seconds: number;
  /** Whether max_requests_per_2_seconds was set (else Pipedrive's x-ratelimit-limit is followed). */
  max_requests_explicit: boolean;
  /** Upper bound of requests in flight; the connector adapts below it. */
  max_concurrent_requests: number;
  /** Tokens of the company's daily budget to leave to other integrations. */
  daily_token_reserve: number;
  custom_field_names: 'name' | 'key';
}

const DEFAULTS = {
  deals_lookback_hours: 24,
  notes_update_window_days: 0,
  max_requests_per_2_seconds: 20,
  max_concurrent_requests: 64,
  daily_token_reserve: 0,
  custom_field_names: 'name' as const,
};

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function optionalString(raw: Record<string, unknown>, field: string): string | undefined {
  const value = raw[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new ConfigError(`Config field '${field}' must be a string, got ${typeof value}.`);
  }
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function integer(
  raw: Record<string, unknown>,
  field: keyof typeof DEFAULTS,
  min: number,
  max: number,
): number {
  const value = raw[field];
  if (value === undefined || value === null) return DEFAULTS[field] as number;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ConfigError(
      `Config field '${field}' must be a whole number between ${min} and ${max}, got ${JSON.stringify(value)}.`,
    );
  }
  if (value < min || value > max) {
    throw new ConfigError(
      `Config field '${field}' must be between ${min} and ${max}, got ${value}.`,
    );
  }
  return value;
}

/** Parses an RFC 3339 date-time strictly (real calendar date, explicit zone). */
export function parseRfc3339(value: string): Date | undefined {
  const match = RFC3339.exec(value);
  if (!match) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return undefined;
  const [, year, month, day] = match;
  const check = new Date(Date.UTC(+year, +month - 1, +day));
  if (check.getUTCMonth() !== +month - 1 || check.getUTCDate() !== +day) return undefined;
  return date;
}

export function validateApiUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(
      `Config field 'api_url' is not a valid URL: ${JSON.stringify(value)}. Use e.g. https://acme.pipedrive.com, or leave it empty.`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`Config field 'api_url' must use https://, got ${url.protocol}//.`);
  }
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw new ConfigError(
      `Config field 'api_url' uses plain http to ${url.hostname}: the API token would travel unencrypted. Use https://, or leave api_url empty.`,
    );
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ConfigError(
      `Config field 'api_url' must be a plain base URL without credentials, query or fragment.`,
    );
  }
  return url.toString().replace(/\/+$/, '');
}

/** Validates a raw config object; throws ConfigError naming the field and the fix. */
export function parseConfig(raw: unknown, now: Date = new Date()): PipedriveConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError('The config must be a JSON object with at least "api_token".');
  }
  const input = raw as Record<string, unknown>;
  const token = input.api_token;
  if (token === undefined || token === null) {
    throw new ConfigError(
      "Config field 'api_token' is missing: copy your token from Pipedrive › Settings › Personal preferences › API.",
    );
  }
  if (typeof token !== 'string') {
    throw new ConfigError(`Config field 'api_token' must be a string, got ${typeof token}.`);
  }
  if (token.trim() === '') {
    throw new ConfigError(
      "Config field 'api_token' is empty: copy your token from Pipedrive › Settings › Personal preferences › API.",
    );
  }
  if (/\s/.test(token.trim())) {
    throw new ConfigError(
      "Config field 'api_token' contains white space: paste the token exactly as Pipedrive shows it.",
    );
  }

  const companyDomain = optionalString(input, 'company_domain');
  if (companyDomain !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9-]*$/.test(companyDomain)) {
    throw new ConfigError(
      `Config field 'company_domain' must be the subdomain only (\`acme\` for acme.pipedrive.com), got ${JSON.stringify(companyDomain)}.`,
    );
  }

  const apiUrlRaw = optionalString(input, 'api_url');
  const apiUrl = apiUrlRaw === undefined ? undefined : validateApiUrl(apiUrlRaw);

  const startDateRaw = optionalString(input, 'start_date');
  let startDate: string | undefined;
  if (startDateRaw !== undefined) {
    const parsed = parseRfc3339(startDateRaw);
    if (!parsed) {
      throw new ConfigError(
        `Config field 'start_date' must be an RFC 3339 date-time such as 2024-01-01T00:00:00Z, got ${JSON.stringify(startDateRaw)}.`,
      );
    }
    if (parsed.getTime() > now.getTime()) {
      throw new ConfigError(
        `Config field 'start_date' (${startDateRaw}) is in the future: no record could be read. Use a past date or leave it empty for all history.`,
      );
    }
    startDate = toApiTime(parsed);
  }

  const naming = input.custom_field_names ?? DEFAULTS.custom_field_names;
  if (naming !== 'name' && naming !== 'key') {
    throw new ConfigError(
      `Config field 'custom_field_names' must be "name" or "key", got ${JSON.stringify(naming)}.`,
    );
  }

  return {
    api_token: token.trim(),
    company_domain: companyDomain,
    api_url: apiUrl,
    start_date: startDate,
    deals_lookback_hours: integer(input, 'deals_lookback_hours', 0, 8760),
    notes_update_window_days: integer(input, 'notes_update_window_days', 0, 3650),
    max_requests_per_2_seconds: integer(input, 'max_requests_per_2_seconds', 1, 480),
    max_requests_explicit:
      input.max_requests_per_2_seconds !== undefined && input.max_requests_per_2_seconds !== null,
    max_concurrent_requests: integer(input, 'max_concurrent_requests', 1, 256),
    daily_token_reserve: integer(input, 'daily_token_reserve', 0, 100_000_000),
    custom_field_names: naming,
  };
}
