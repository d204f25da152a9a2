import { ConfigError } from './errors';
import { toApiTime } from './normalize';

/** How the connector authenticates: a personal API token, or a Pipedrive app's OAuth 2 tokens. */
export type PipedriveCredentials = ApiTokenCredentials | OAuthCredentials;

export interface ApiTokenCredentials {
  auth_type: 'api_token';
  api_token: string;
}

export interface OAuthCredentials {
  auth_type: 'oauth2';
  client_id: string;
  client_secret: string;
  refresh_token: string;
  /** The last access token, if the config has one (it expires after about an hour). */
  access_token?: string;
  /** When access_token expires, RFC 3339; unknown (refresh first) when absent or unreadable. */
  token_expiry_date?: string;
  /** The company's API host the token answer named (`https://acme.pipedrive.com`). */
  api_domain?: string;
}

export type DeleteDetection = 'every_sync' | 'daily' | 'weekly' | 'off';

/** The user's configuration, validated and with defaults applied. */
export interface PipedriveConfig {
  credentials: PipedriveCredentials;
  company_domain?: string;
  api_url?: string;
  /** Base of the OAuth token endpoint (`<oauth_url>/oauth/token`). */
  oauth_url: string;
  start_date?: string;
  deals_lookback_hours: number;
  notes_update_window_days: number;
  max_requests_per_2_seconds: number;
  /**
   * True when the config set max_requests_per_2_seconds. When false the value is the default
   * of the auth type, and the client may adopt a higher x-ratelimit-limit Pipedrive reports.
   */
  max_requests_explicit: boolean;
  /** Upper bound of requests in flight; the connector adapts below it to the latency it sees. */
  max_concurrent_requests: number;
  custom_field_names: 'name' | 'key';
  /** Stop before Pipedrive's remaining daily token budget would fall below this. */
  daily_token_reserve: number;
  /** How often incremental streams run an id-only pass to find records deleted in Pipedrive. */
  delete_detection: DeleteDetection;
}

/** Something worth telling the user about their config that is not an error. */
export interface ConfigNote {
  level: 'INFO' | 'WARN';
  message: string;
}

export const DEFAULT_OAUTH_URL = 'https://oauth.pipedrive.com';

/** Pipedrive's burst limits per rolling 2 s on the Lite plan; OAuth apps get 4× the API token's. */
export const DEFAULT_BURST_LIMIT = { api_token: 20, oauth2: 80 } as const;

export const DELETE_DETECTION_MODES: readonly DeleteDetection[] = [
  'every_sync',
  'daily',
  'weekly',
  'off',
];

const DEFAULTS = {
  deals_lookback_hours: 24,
  notes_update_window_days: 0,
  custom_field_names: 'name' as const,
  daily_token_reserve: 0,
  delete_detection: 'weekly' as DeleteDetection,
  max_concurrent_requests: 64,
};

/** Every top-level key the spec declares (a config may carry others: they are warned about). */
export const KNOWN_KEYS = [
  'credentials',
  'api_token',
  'company_domain',
  'start_date',
  'custom_field_names',
  'deals_lookback_hours',
  'notes_update_window_days',
  'max_requests_per_2_seconds',
  'max_concurrent_requests',
  'daily_token_reserve',
  'delete_detection',
  'api_url',
  'oauth_url',
];

export const CREDENTIAL_KEYS: Record<PipedriveCredentials['auth_type'], string[]> = {
  api_token: ['auth_type', 'api_token'],
  oauth2: [
    'auth_type',
    'client_id',
    'client_secret',
    'refresh_token',
    'access_token',
    'token_expiry_date',
    'api_domain',
  ],
};

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
/** Token expiry dates as other tools write them too (`2026-06-01 13:00:00.123456+00:00`). */
const EXPIRY = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

const TOKEN_HELP = 'copy your token from Pipedrive › Settings › Personal preferences › API';

export function isLoopback(hostname: string): boolean {
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
  field: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const value = raw[field];
  if (value === undefined || value === null) return fallback;
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

function oneOf<T extends string>(
  raw: Record<string, unknown>,
  field: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const value = raw[field] ?? fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new ConfigError(
      `Config field '${field}' must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(value)}.`,
    );
  }
  return value as T;
}

/** A secret string field: present, a string, no white space inside. */
function secret(
  raw: Record<string, unknown>,
  key: string,
  field: string,
  help: string,
  context = '',
): string {
  const value = raw[key];
  if (value === undefined || value === null) {
    throw new ConfigError(`Config field '${field}' is missing${context}: ${help}.`);
  }
  if (typeof value !== 'string') {
    throw new ConfigError(`Config field '${field}' must be a string, got ${typeof value}.`);
  }
  const trimmed = value.trim();
  if (trimmed === '') throw new ConfigError(`Config field '${field}' is empty: ${help}.`);
  if (/\s/.test(trimmed)) {
    throw new ConfigError(
      `Config field '${field}' contains white space: paste the value exactly as Pipedrive shows it.`,
    );
  }
  return trimmed;
}

/** Parses an RFC 3339 date-time strictly (real calendar date, explicit zone). */
export function parseRfc3339(value: string): Date | undefined {
  const match = RFC3339.exec(value);
  if (!match) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return undefined;
  const [, year, month, day] = match;
  return isCalendarDate(+year, +month, +day) ? date : undefined;
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  const check = new Date(Date.UTC(year, month - 1, day));
  return check.getUTCMonth() === month - 1 && check.getUTCDate() === day;
}

/** An RFC 3339 date-time, or a date alone (`2024-01-01`, midnight UTC). */
export function parseStartDate(value: string): Date | undefined {
  const dateOnly = DATE_ONLY.exec(value);
  if (dateOnly) {
    const [, year, month, day] = dateOnly;
    return isCalendarDate(+year, +month, +day)
      ? new Date(Date.UTC(+year, +month - 1, +day))
      : undefined;
  }
  return parseRfc3339(value);
}

/** The path suffixes the connector adds itself: an api_url ending in one would double it. */
const API_PATH_SUFFIX = /\/(api\/v[12]|api|v1|v2)$/i;

function validateBaseUrl(
  field: string,
  value: string,
  example: string,
  secretName: string,
): { url: string; path: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(
      `Config field '${field}' is not a valid URL: ${JSON.stringify(value)}. Use e.g. ${example}, or leave it empty.`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`Config field '${field}' must use https://, got ${url.protocol}//.`);
  }
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw new ConfigError(
      `Config field '${field}' uses plain http to ${url.hostname}: the ${secretName} would travel unencrypted. Use https://, or leave ${field} empty.`,
    );
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ConfigError(
      `Config field '${field}' must be a plain base URL without credentials, query or fragment.`,
    );
  }
  return { url: `${url.protocol}//${url.host}`, path: url.pathname.replace(/\/+$/, '') };
}

/** Validates an api_url (https, or http to loopback) and drops a trailing API path. */
export function validateApiUrl(value: string, notes: ConfigNote[] = []): string {
  const { url, path } = validateBaseUrl(
    'api_url',
    value,
    'https://acme.pipedrive.com',
    'API token',
  );
  const match = API_PATH_SUFFIX.exec(path);
  const base = match ? path.slice(0, match.index) : path;
  if (match) {
    notes.push({
      level: 'INFO',
      message: `Config field 'api_url' ends in ${match[0]}; the connector adds /api/v1 and /api/v2 itself, so it uses ${url}${base}.`,
    });
  }
  return `${url}${base}`;
}

/** Validates oauth_url, the base of the token endpoint; a full `/oauth/token` URL is accepted. */
export function validateOAuthUrl(value: string, notes: ConfigNote[] = []): string {
  const { url, path } = validateBaseUrl(
    'oauth_url',
    value,
    DEFAULT_OAUTH_URL,
    'refresh token and client secret',
  );
  const match = /\/oauth(\/token)?$/i.exec(path);
  const base = match ? path.slice(0, match.index) : path;
  if (match) {
    notes.push({
      level: 'INFO',
      message: `Config field 'oauth_url' ends in ${match[0]}; it is the base of the token endpoint, so the connector calls ${url}${base}/oauth/token.`,
    });
  }
  return `${url}${base}`;
}

/** `acme`, `acme.pipedrive.com`, `https://acme.pipedrive.com/…` → `acme`. */
function parseCompanyDomain(value: string | undefined, notes: ConfigNote[]): string | undefined {
  if (value === undefined) return undefined;
  let host = value;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || value.includes('/')) {
    try {
      host = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`).hostname;
    } catch {
      host = value;
    }
  }
  host = host.toLowerCase().replace(/\.$/, '');
  const subdomain = host.endsWith('.pipedrive.com')
    ? host.slice(0, -'.pipedrive.com'.length)
    : host;
  if (!/^[a-z0-9][a-z0-9-]*$/.test(subdomain)) {
    throw new ConfigError(
      `Config field 'company_domain' must be your Pipedrive subdomain (\`acme\` for acme.pipedrive.com), got ${JSON.stringify(value)}. For another host (a proxy) set api_url instead.`,
    );
  }
  if (subdomain !== value) {
    notes.push({
      level: 'INFO',
      message: `Config field 'company_domain' is ${JSON.stringify(value)}: using the subdomain "${subdomain}" (${subdomain}.pipedrive.com).`,
    });
  }
  return subdomain;
}

function inferAuthType(credentials: Record<string, unknown>): unknown {
  if (credentials.auth_type !== undefined) return credentials.auth_type;
  if ('refresh_token' in credentials || 'client_id' in credentials) return 'oauth2';
  if ('api_token' in credentials) return 'api_token';
  return undefined;
}

function parseCredentials(
  input: Record<string, unknown>,
  notes: ConfigNote[],
): PipedriveCredentials {
  const raw = input.credentials;
  if (raw === undefined || raw === null) {
    // The config of versions before 0.2: a top-level api_token.
    return {
      auth_type: 'api_token',
      api_token: secret(
        input,
        'api_token',
        'api_token',
        `${TOKEN_HELP}, into credentials.api_token with auth_type "api_token" — or authorise a Pipedrive app (auth_type "oauth2")`,
        " (and there are no 'credentials')",
      ),
    };
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(
      `Config field 'credentials' must be an object such as {"auth_type": "api_token", "api_token": "…"}, got ${Array.isArray(raw) ? 'a list' : typeof raw}.`,
    );
  }
  const credentials = raw as Record<string, unknown>;
  const authType = inferAuthType(credentials);
  if (authType !== 'api_token' && authType !== 'oauth2') {
    throw new ConfigError(
      `Config field 'credentials.auth_type' must be "api_token" (a personal API token) or "oauth2" (a Pipedrive app), got ${JSON.stringify(authType)}.`,
    );
  }
  if (input.api_token !== undefined && input.api_token !== null) {
    notes.push({
      level: 'WARN',
      message: `The config has both 'credentials' and the older top-level 'api_token': using credentials (${authType}); remove 'api_token'.`,
    });
  }
  if (authType === 'api_token') {
    return {
      auth_type: 'api_token',
      api_token: secret(credentials, 'api_token', 'credentials.api_token', TOKEN_HELP),
    };
  }
  const appHelp =
    'copy it from your app in Pipedrive’s Developer Hub, or run the OAuth consent flow again';
  const oauth: OAuthCredentials = {
    auth_type: 'oauth2',
    client_id: secret(credentials, 'client_id', 'credentials.client_id', appHelp),
    client_secret: secret(credentials, 'client_secret', 'credentials.client_secret', appHelp),
    refresh_token: secret(
      credentials,
      'refresh_token',
      'credentials.refresh_token',
      'authorise the app again (the consent flow returns a refresh token)',
    ),
  };
  const accessToken = optionalString(credentials, 'access_token');
  if (accessToken !== undefined) oauth.access_token = accessToken;
  const expiry = credentials.token_expiry_date;
  if (typeof expiry === 'string' && EXPIRY.test(expiry.trim())) {
    const date = new Date(expiry.trim().replace(' ', 'T'));
    if (!Number.isNaN(date.getTime())) oauth.token_expiry_date = toApiTime(date);
  }
  // Anything else (a number of seconds, a date without zone) is unknown: refresh first.
  const apiDomain = optionalString(credentials, 'api_domain');
  if (apiDomain !== undefined) {
    oauth.api_domain = validateBaseUrl(
      'credentials.api_domain',
      apiDomain,
      'https://acme.pipedrive.com',
      'access token',
    ).url;
  }
  return oauth;
}

/** Levenshtein distance (small strings only). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
    }
    previous = current;
  }
  return previous[b.length];
}

export function closestKey(key: string, known: string[]): string {
  const lower = key.toLowerCase();
  return known.reduce((best, candidate) =>
    distance(lower, candidate) < distance(lower, best) ? candidate : best,
  );
}

/** Keys the connector does not know (a typo such as start_time), each with its closest known key. */
function unknownKeyNotes(input: Record<string, unknown>, notes: ConfigNote[]): void {
  const report = (object: Record<string, unknown>, known: string[], prefix: string) => {
    for (const key of Object.keys(object)) {
      // Airbyte's convention: keys starting with "_" are technical, not settings.
      if (known.includes(key) || key.startsWith('_')) continue;
      notes.push({
        level: 'WARN',
        message: `Config field '${prefix}${key}' is not a setting of this connector and is ignored; did you mean '${prefix}${closestKey(key, known)}'?`,
      });
    }
  };
  report(input, KNOWN_KEYS, '');
  const credentials = input.credentials;
  if (credentials && typeof credentials === 'object' && !Array.isArray(credentials)) {
    const type = inferAuthType(credentials as Record<string, unknown>);
    const known = CREDENTIAL_KEYS[type === 'oauth2' ? 'oauth2' : 'api_token'];
    report(credentials as Record<string, unknown>, known, 'credentials.');
  }
}

/** Validates a raw config object; throws ConfigError naming the field and the fix. */
export function parseConfig(raw: unknown, now: Date = new Date()): PipedriveConfig {
  return parseConfigWithNotes(raw, now).config;
}

/** Like parseConfig, plus what to tell the user (unknown keys, normalised values). */
export function parseConfigWithNotes(
  raw: unknown,
  now: Date = new Date(),
): { config: PipedriveConfig; notes: ConfigNote[] } {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(
      'The config must be a JSON object with "credentials" (or the older "api_token").',
    );
  }
  const input = raw as Record<string, unknown>;
  const notes: ConfigNote[] = [];
  const credentials = parseCredentials(input, notes);

  const companyDomain = parseCompanyDomain(optionalString(input, 'company_domain'), notes);

  const apiUrlRaw = optionalString(input, 'api_url');
  const apiUrl = apiUrlRaw === undefined ? undefined : validateApiUrl(apiUrlRaw, notes);
  const oauthUrlRaw = optionalString(input, 'oauth_url');
  const oauthUrl =
    oauthUrlRaw === undefined ? DEFAULT_OAUTH_URL : validateOAuthUrl(oauthUrlRaw, notes);

  const startDateRaw = optionalString(input, 'start_date');
  let startDate: string | undefined;
  if (startDateRaw !== undefined) {
    const parsed = parseStartDate(startDateRaw);
    if (!parsed) {
      throw new ConfigError(
        `Config field 'start_date' must be an RFC 3339 date-time such as 2024-01-01T00:00:00Z or a date such as 2024-01-01 (midnight UTC), got ${JSON.stringify(startDateRaw)}.`,
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

  const explicitLimit =
    input.max_requests_per_2_seconds !== undefined && input.max_requests_per_2_seconds !== null;
  const config: PipedriveConfig = {
    credentials,
    company_domain: companyDomain,
    api_url: apiUrl,
    oauth_url: oauthUrl,
    start_date: startDate,
    deals_lookback_hours: integer(
      input,
      'deals_lookback_hours',
      DEFAULTS.deals_lookback_hours,
      0,
      8760,
    ),
    notes_update_window_days: integer(
      input,
      'notes_update_window_days',
      DEFAULTS.notes_update_window_days,
      0,
      3650,
    ),
    max_requests_per_2_seconds: integer(
      input,
      'max_requests_per_2_seconds',
      DEFAULT_BURST_LIMIT[credentials.auth_type],
      1,
      480,
    ),
    max_requests_explicit: explicitLimit,
    max_concurrent_requests: integer(
      input,
      'max_concurrent_requests',
      DEFAULTS.max_concurrent_requests,
      1,
      256,
    ),
    custom_field_names: naming,
    daily_token_reserve: integer(
      input,
      'daily_token_reserve',
      DEFAULTS.daily_token_reserve,
      0,
      1_000_000_000,
    ),
    delete_detection: oneOf(
      input,
      'delete_detection',
      DELETE_DETECTION_MODES,
      DEFAULTS.delete_detection,
    ),
  };
  unknownKeyNotes(input, notes);
  return { config, notes };
}

/** Every secret string a raw config may hold, before it is validated (for redaction). */
export function rawSecrets(raw: unknown): string[] {
  if (!raw || typeof raw !== 'object') return [];
  const input = raw as Record<string, any>;
  const candidates = [input.api_token];
  const credentials = input.credentials;
  if (credentials && typeof credentials === 'object') {
    candidates.push(
      credentials.api_token,
      credentials.client_secret,
      credentials.refresh_token,
      credentials.access_token,
    );
  }
  return candidates
    .filter((value): value is string => typeof value === 'string')
    .map((value) => value.trim())
    .filter((value) => value !== '');
}
