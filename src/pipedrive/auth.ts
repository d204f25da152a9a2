import { isLoopback, type OAuthCredentials } from '../config';
import { AccountError, ConfigError, TransientError } from '../errors';
import { toApiTime } from '../normalize';
import type { LogLevel } from '../protocol/output';
import { exchange, type HttpAnswer, NetworkFailure } from './http';
import { Connections, proxyFailure } from './proxy';
import { sleep } from './rate-limiter';

/**
 * How requests to Pipedrive authenticate. The client asks for headers before every request
 * and reports every 401; the implementation decides whether fresh credentials can fix it.
 * With an API token nothing can; with OAuth the access token is refreshed once.
 */
export interface RequestAuth {
  readonly kind: 'api_token' | 'oauth2';
  /** Headers for the next request (an OAuth access token about to expire is refreshed first). */
  headers(): Promise<Record<string, string>>;
  /**
   * A request sent with `sent` headers was answered 401. Resolves true when the request is worth
   * one retry with new headers (the access token was refreshed, here or by a concurrent request);
   * rejects with a config error when the credentials themselves are refused.
   */
  renewAfter401(sent: Record<string, string>): Promise<boolean>;
  /** The config_error message for a 401 that new credentials did not fix. */
  rejectedMessage(endpoint: string): string;
}

export class ApiTokenAuth implements RequestAuth {
  readonly kind = 'api_token';

  constructor(private readonly token: string) {}

  headers(): Promise<Record<string, string>> {
    return Promise.resolve({ 'x-api-token': this.token });
  }

  renewAfter401(): Promise<boolean> {
    return Promise.resolve(false);
  }

  rejectedMessage(): string {
    return `Pipedrive rejected the API token (401 unauthorized): the API token is invalid or revoked. Copy a current token from Settings › Personal preferences › API into 'credentials.api_token' (or the older top-level 'api_token').`;
  }
}

export interface OAuthSessionOptions {
  credentials: OAuthCredentials;
  /** `<oauth_url>/oauth/token`. */
  tokenUrl: string;
  /** True when oauth_url was set in the config (an unresolvable host is then a config error). */
  customTokenUrl?: boolean;
  /** The config as the user gave it: a rotated refresh token is written back into a copy. */
  rawConfig: Record<string, unknown>;
  /** Every token learned at runtime goes here before anything could print it. */
  addSecret: (secret: string) => void;
  /** Persists a changed config (Airbyte's CONTROL message); awaited before the sync goes on. */
  onConfigChange: (config: Record<string, unknown>) => Promise<void>;
  log?: (level: LogLevel, message: string) => void;
  now?: () => number;
  timeoutMs?: number;
  maxAttempts?: number;
  retryBaseMs?: number;
}

interface TokenAnswer {
  access_token?: unknown;
  refresh_token?: unknown;
  expires_in?: unknown;
  api_domain?: unknown;
  error?: unknown;
  error_description?: unknown;
  message?: unknown;
}

/** Refresh this long before the access token expires (at most a quarter of its lifetime). */
const REFRESH_MARGIN_MS = 5 * 60_000;
const REAUTHORISE =
  'Re-authorise the app: in Airbyte open the source and click "Authenticate your Pipedrive account" again; outside Airbyte run the consent flow again and put the new refresh token into credentials.refresh_token.';

function envNumber(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) && parsed >= 0 ? parsed : undefined;
}

function parseAnswer(text: unknown): TokenAnswer {
  if (typeof text !== 'string' || text === '') return {};
  try {
    const parsed = JSON.parse(text);
    return parsed && typeof parsed === 'object' ? (parsed as TokenAnswer) : {};
  } catch {
    return {};
  }
}

/** Pipedrive's words for a refused refresh, without anything the caller sent. */
function reasonOf(answer: TokenAnswer): string {
  const parts = [answer.error, answer.error_description ?? answer.message]
    .filter((part) => typeof part === 'string' && part !== '')
    .map((part) => String(part).slice(0, 200));
  return parts.length > 0 ? parts.join(': ') : 'no reason given';
}

/** A token or domain answer field that must be a non-empty string without white space. */
function tokenField(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && !/\s/.test(value) ? value : undefined;
}

/**
 * OAuth 2 for a Pipedrive app: keeps a valid access token, refreshing it before it expires and
 * once on a 401, and hands a rotated refresh token to `onConfigChange` so that Airbyte stores it.
 * Concurrent requests share one refresh.
 */
export class OAuthSession implements RequestAuth {
  readonly kind = 'oauth2';
  private accessToken?: string;
  private refreshToken: string;
  /** Epoch ms when the access token should be refreshed (undefined: refresh first). */
  private refreshAt?: number;
  private refreshing?: Promise<void>;
  private rawConfig: Record<string, unknown>;
  private domain?: string;
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private readonly connections = new Connections({ keepAlive: false });

  constructor(private readonly options: OAuthSessionOptions) {
    const { credentials } = options;
    this.now = options.now ?? Date.now;
    this.timeoutMs = options.timeoutMs ?? envNumber('PIPEDRIVE_TIMEOUT_MS') ?? 60_000;
    this.maxAttempts = options.maxAttempts ?? envNumber('PIPEDRIVE_MAX_ATTEMPTS') ?? 6;
    this.retryBaseMs = options.retryBaseMs ?? envNumber('PIPEDRIVE_RETRY_BASE_MS') ?? 1000;
    this.refreshToken = credentials.refresh_token;
    this.rawConfig = options.rawConfig;
    this.domain = credentials.api_domain;
    for (const secret of [credentials.client_secret, credentials.refresh_token]) {
      options.addSecret(secret);
    }
    if (credentials.access_token) {
      options.addSecret(credentials.access_token);
      const expiry = credentials.token_expiry_date
        ? Date.parse(credentials.token_expiry_date)
        : NaN;
      // An access token of unknown age is not trusted: refresh first.
      if (Number.isFinite(expiry)) {
        this.accessToken = credentials.access_token;
        this.refreshAt = expiry - REFRESH_MARGIN_MS;
      }
    }
  }

  /** The company's API base URL the last token answer named (`https://acme.pipedrive.com`). */
  get apiDomain(): string | undefined {
    return this.domain;
  }

  /** Makes sure there is an access token that does not expire soon. */
  async start(): Promise<void> {
    if (this.needsRefresh())
      await this.refresh('the access token in the config is missing or expires soon');
  }

  async headers(): Promise<Record<string, string>> {
    if (this.needsRefresh()) await this.refresh('the access token expires soon');
    return { authorization: `Bearer ${this.accessToken}` };
  }

  async renewAfter401(sent: Record<string, string>): Promise<boolean> {
    // Another request may have refreshed since this one was sent: retry with the new token.
    if (sent.authorization !== `Bearer ${this.accessToken}`) return true;
    await this.refresh('Pipedrive answered 401 to the current access token');
    return true;
  }

  rejectedMessage(endpoint: string): string {
    return `Pipedrive rejected a freshly refreshed OAuth access token (401 unauthorized for ${endpoint}): the app's access was probably revoked or its scopes do not cover this data. ${REAUTHORISE}`;
  }

  private needsRefresh(): boolean {
    return !this.accessToken || this.refreshAt === undefined || this.now() >= this.refreshAt;
  }

  /** One refresh at a time; callers arriving meanwhile wait for the same one. */
  private refresh(reason: string): Promise<void> {
    if (!this.refreshing) {
      this.refreshing = this.exchange(reason).finally(() => {
        this.refreshing = undefined;
      });
    }
    return this.refreshing;
  }

  private async exchange(reason: string): Promise<void> {
    const answer = await this.callTokenEndpoint();
    const accessToken = tokenField(answer.access_token);
    if (!accessToken) {
      throw new TransientError(
        `Pipedrive's OAuth token endpoint (${this.endpointLabel}) answered without an access token.`,
      );
    }
    this.options.addSecret(accessToken);
    const refreshToken = tokenField(answer.refresh_token) ?? this.refreshToken;
    this.options.addSecret(refreshToken);
    const rotated = refreshToken !== this.refreshToken;
    const lifetimeMs =
      typeof answer.expires_in === 'number' && answer.expires_in > 0
        ? answer.expires_in * 1000
        : 3_600_000;
    const issuedAt = this.now();
    this.accessToken = accessToken;
    this.refreshToken = refreshToken;
    this.refreshAt = issuedAt + lifetimeMs - Math.min(REFRESH_MARGIN_MS, lifetimeMs / 4);
    this.domain = this.acceptDomain(answer.api_domain) ?? this.domain;
    const expiresAt = toApiTime(new Date(issuedAt + lifetimeMs));
    this.options.log?.(
      'INFO',
      `Refreshed the OAuth access token (${reason}); it is valid until ${expiresAt}${rotated ? ', and Pipedrive issued a new refresh token' : ''}.`,
    );
    if (!rotated) return;
    const credentials = { ...((this.rawConfig.credentials as Record<string, unknown>) ?? {}) };
    credentials.refresh_token = refreshToken;
    credentials.access_token = accessToken;
    credentials.token_expiry_date = expiresAt;
    if (this.domain) credentials.api_domain = this.domain;
    this.rawConfig = { ...this.rawConfig, credentials };
    // The old refresh token is spent: the new one must be stored before anything else happens.
    await this.options.onConfigChange(this.rawConfig);
  }

  /** api_domain must be https (or loopback http, for tests); anything else is ignored. */
  private acceptDomain(value: unknown): string | undefined {
    if (typeof value !== 'string' || value === '') return undefined;
    try {
      const url = new URL(value);
      const secure =
        url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname));
      if (secure && !url.username && !url.password) return `${url.protocol}//${url.host}`;
    } catch {
      // fall through to the warning
    }
    this.options.log?.(
      'WARN',
      `Ignored the api_domain of Pipedrive's token answer (${value.slice(0, 100)}): not an https URL.`,
    );
    return undefined;
  }

  private get endpointLabel(): string {
    const url = new URL(this.options.tokenUrl);
    return `POST ${url.host}${url.pathname}`;
  }

  private async callTokenEndpoint(): Promise<TokenAnswer> {
    const { credentials } = this.options;
    const body = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: this.refreshToken,
    }).toString();
    for (let attempt = 1; ; attempt++) {
      let response: HttpAnswer;
      let problem: string;
      try {
        response = await exchange({
          method: 'POST',
          url: new URL(this.options.tokenUrl),
          body,
          headers: {
            authorization: `Basic ${Buffer.from(`${credentials.client_id}:${credentials.client_secret}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          timeoutMs: this.timeoutMs,
          connections: this.connections,
        });
        const answer = parseAnswer(response.data);
        if (response.status >= 200 && response.status < 300) return answer;
        if (response.status !== 429 && response.status < 500) throw this.refused(response, answer);
        problem = `${this.endpointLabel} answered ${response.status}`;
      } catch (error) {
        const proxied = proxyFailure(error, new URL(this.options.tokenUrl).host);
        if (proxied instanceof ConfigError) throw proxied;
        if (!(error instanceof NetworkFailure) && proxied === undefined) throw error;
        // Only the system's error code: nothing of the request (it holds the client secret).
        const code = proxied ?? (error as NetworkFailure).code;
        if (code === 'ENOTFOUND') throw this.hostNotFound();
        problem = `${this.endpointLabel} failed: ${code}`;
      }
      if (attempt >= this.maxAttempts) {
        throw new TransientError(
          `Could not refresh the OAuth access token: ${problem}; gave up after ${attempt} attempts. The next sync tries again.`,
          { info: { endpoint: this.endpointLabel } },
        );
      }
      const backoff = Math.random() * Math.min(60_000, this.retryBaseMs * 2 ** (attempt - 1));
      this.options.log?.(
        'WARN',
        `${problem}; retrying the token refresh in ${(backoff / 1000).toFixed(1)} s.`,
      );
      await sleep(backoff);
    }
  }

  private refused(response: HttpAnswer, answer: TokenAnswer): AccountError {
    const info = { endpoint: this.endpointLabel, status: response.status };
    if (answer.error === 'invalid_client') {
      return new AccountError(
        `Pipedrive refused the app's credentials (${response.status} ${reasonOf(answer)}): check credentials.client_id and credentials.client_secret against your app in Pipedrive's Developer Hub.`,
        { info },
      );
    }
    return new AccountError(
      `Pipedrive refused the OAuth refresh token (${response.status} ${reasonOf(answer)}): it was revoked, or it expired (Pipedrive expires refresh tokens after 60 days unused). ${REAUTHORISE}`,
      { info },
    );
  }

  private hostNotFound(): ConfigError | TransientError {
    const host = new URL(this.options.tokenUrl).hostname;
    const info = { endpoint: this.endpointLabel, host, code: 'ENOTFOUND' };
    if (this.options.customTokenUrl) {
      return new ConfigError(
        `Cannot resolve ${host} (ENOTFOUND), the host of oauth_url: check oauth_url, or leave it empty for ${'https://oauth.pipedrive.com'}.`,
        { info },
      );
    }
    return new TransientError(
      `Cannot resolve ${host} (ENOTFOUND): this machine's DNS or network cannot reach Pipedrive's OAuth server.`,
      { info },
    );
  }
}
