import http from 'node:http';
import https from 'node:https';

import axios, { AxiosInstance, AxiosResponse } from 'axios';

import {
  AccountError,
  ConfigError,
  ConnectorError,
  DailyBudgetExhaustedError,
  PermissionError,
  ResourceGoneError,
  TransientError,
} from '../errors';
import { toApiTime } from '../normalize';
import { ApiTokenAuth, type RequestAuth } from './auth';
import { endpointLabel, tokenCost } from './costs';
import { RollingWindowLimiter, sleep } from './rate-limiter';

export type ApiVersion = 'v1' | 'v2';
export type Query = Record<string, string | number | boolean | undefined>;

export interface ClientOptions {
  baseUrl: string;
  /** How requests authenticate (src/pipedrive/auth.ts); `apiToken` is the short form. */
  auth?: RequestAuth;
  apiToken?: string;
  /**
   * What to say when the API host does not resolve (ENOTFOUND): no retry helps a wrong
   * company_domain, so the caller names the setting to fix.
   */
  unresolvedHost?: (host: string) => ConnectorError;
  maxRequestsPer2Seconds: number;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Attempts for transient failures (5xx, resets, timeouts, broken bodies). */
  maxAttempts?: number;
  /** First back-off step; doubles per attempt, with full jitter. */
  retryBaseMs?: number;
  log?: (level: 'INFO' | 'WARN' | 'DEBUG', message: string) => void;
}

export interface Envelope {
  success?: boolean;
  data?: unknown;
  additional_data?: Record<string, any> | null;
  error?: string;
  /** Pipedrive's clock when it answered (the HTTP Date header), RFC 3339; set by the client. */
  serverTime?: string;
  /** The rate-limit headers of the answer, when Pipedrive sent them; set by the client. */
  rateLimits?: RateLimitHeaders;
}

/** What Pipedrive's x-ratelimit-* and x-daily-ratelimit-* headers said about one answer. */
export interface RateLimitHeaders {
  /** The plan's burst limit: requests per rolling 2 seconds (x-ratelimit-limit). */
  burstLimit?: number;
  /** API tokens left today for the whole company (x-daily-ratelimit-token-remaining). */
  dailyRemaining?: number;
  /** The company's daily API token budget (x-daily-ratelimit-token-limit). */
  dailyLimit?: number;
}

export interface Page<T = Record<string, any>> {
  records: T[];
  /** True when the API says there is another page. */
  hasMore: boolean;
  /** Pipedrive's clock when it answered this page, when it said (HTTP Date header). */
  serverTime?: string;
}

export interface EndpointStats {
  requests: number;
  tokens: number;
}

/** Requests and API tokens spent, per stream (scope) and per endpoint. */
export class RequestStats {
  readonly byScope = new Map<string, EndpointStats>();
  readonly byEndpoint = new Map<string, EndpointStats>();
  requests = 0;
  tokens = 0;
  retries = 0;
  responses429 = 0;

  add(scope: string, endpoint: string, tokens: number): void {
    this.requests += 1;
    this.tokens += tokens;
    for (const [map, key] of [
      [this.byScope, scope],
      [this.byEndpoint, endpoint],
    ] as const) {
      const entry = map.get(key) ?? { requests: 0, tokens: 0 };
      entry.requests += 1;
      entry.tokens += tokens;
      map.set(key, entry);
    }
  }

  forScope(scope: string): EndpointStats {
    return this.byScope.get(scope) ?? { requests: 0, tokens: 0 };
  }
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_ATTEMPTS = 6;
const DEFAULT_RETRY_BASE_MS = 1000;
const MAX_BACKOFF_MS = 60_000;
/** 429s in a row while our own window was clear: the daily budget, not the burst limit. */
const UNEXPLAINED_429_LIMIT = 3;
const MAX_BURST_RETRIES = 10;
export const PAGE_LIMIT = 500;
const BURST_WINDOW_MS = 2000;
/**
 * The limiter counts when requests leave, Pipedrive when they arrive: request n+limit may
 * only start this much later than a full window after request n, to absorb network jitter.
 * 150 ms keeps 93% of the allowed rate.
 */
const BURST_WINDOW_MARGIN_MS = 150;

function envNumber(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) && parsed >= 0 ? parsed : undefined;
}

function nextMidnightUtc(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}

function headerNumber(response: AxiosResponse, name: string): number | undefined {
  const value = response.headers[name];
  if (value === undefined || value === null || value === '') return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** The credentials were renewed after a 401: the request is sent once more. */
class CredentialsRenewed extends Error {}

/** A failure worth retrying; carries what to say if retries run out. */
class RetryableFailure extends Error {
  constructor(
    message: string,
    readonly waitMs?: number,
  ) {
    super(message);
  }
}

/**
 * The only code that talks HTTP to Pipedrive: auth, base URL, rate limiting,
 * retries, pagination and error classification.
 */
export class PipedriveClient {
  readonly stats = new RequestStats();
  private readonly http: AxiosInstance;
  private readonly auth: RequestAuth;
  private readonly limiter: RollingWindowLimiter;
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private unexplained429s = 0;
  private budgetError?: DailyBudgetExhaustedError;
  /** x-daily-ratelimit-token-remaining of the latest answer (when Pipedrive sends it). */
  private dailyRemaining?: number;
  /** API tokens of the requests sent and not answered yet. */
  private tokensInFlight = 0;
  private budgetWaiters: Array<() => void> = [];

  constructor(private readonly options: ClientOptions) {
    this.auth = options.auth ?? new ApiTokenAuth(options.apiToken ?? '');
    this.maxAttempts =
      options.maxAttempts ?? envNumber('PIPEDRIVE_MAX_ATTEMPTS') ?? DEFAULT_ATTEMPTS;
    this.retryBaseMs =
      options.retryBaseMs ?? envNumber('PIPEDRIVE_RETRY_BASE_MS') ?? DEFAULT_RETRY_BASE_MS;
    this.limiter = new RollingWindowLimiter(
      options.maxRequestsPer2Seconds,
      BURST_WINDOW_MS,
      BURST_WINDOW_MARGIN_MS,
    );
    this.http = axios.create({
      baseURL: options.baseUrl,
      timeout: options.timeoutMs ?? envNumber('PIPEDRIVE_TIMEOUT_MS') ?? DEFAULT_TIMEOUT_MS,
      headers: { accept: 'application/json' },
      // We parse ourselves: a truncated or HTML body must become a retry, not a throw.
      responseType: 'text',
      transformResponse: (body) => body,
      validateStatus: () => true,
      maxRedirects: 0,
      httpAgent: new http.Agent({ keepAlive: true, maxSockets: 32 }),
      httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 32 }),
    });
  }

  get baseUrl(): string {
    return this.http.defaults.baseURL ?? this.options.baseUrl;
  }

  /** Switches to the account's own host once it is known. */
  rebase(baseUrl: string): void {
    this.http.defaults.baseURL = baseUrl;
  }

  /** One request with limiter, retries and classification; returns the parsed envelope. */
  async get(
    version: ApiVersion,
    path: string,
    query: Query = {},
    scope = 'connector',
  ): Promise<Envelope> {
    if (this.budgetError) throw this.budgetError;
    const endpoint = endpointLabel(version, path);
    const url = `/api/${version}${path}`;
    const cost = tokenCost(version, path);
    let burstRetries = 0;
    let failures = 0;
    let renewed = false;
    for (let attempt = 1; ; attempt++) {
      await this.reserveBudget(cost, endpoint);
      let error: RetryableFailure;
      try {
        await this.limiter.acquire();
        if (this.budgetError) throw this.budgetError;
        const windowBefore = this.limiter.inWindow();
        this.stats.add(scope, endpoint, cost);
        return await this.attempt(url, endpoint, query, windowBefore, renewed);
      } catch (failure) {
        if (failure instanceof CredentialsRenewed) {
          renewed = true;
          continue;
        }
        if (!(failure instanceof RetryableFailure)) throw failure;
        error = failure;
      } finally {
        this.releaseBudget(cost);
      }
      const isBurst = error.waitMs !== undefined;
      if (isBurst) burstRetries++;
      else failures++;
      const exhausted = isBurst ? burstRetries > MAX_BURST_RETRIES : failures >= this.maxAttempts;
      if (exhausted) {
        throw new TransientError(
          `${error.message}; gave up after ${attempt} attempts. Pipedrive may be having an outage: the next sync resumes from the saved state.`,
        );
      }
      this.stats.retries++;
      const backoff =
        error.waitMs ??
        Math.random() * Math.min(MAX_BACKOFF_MS, this.retryBaseMs * 2 ** (failures - 1));
      this.options.log?.(
        'WARN',
        `${error.message}; retrying in ${(backoff / 1000).toFixed(1)} s (attempt ${attempt + 1}).`,
      );
      if (!isBurst) await sleep(backoff);
    }
  }

  private async attempt(
    url: string,
    endpoint: string,
    query: Query,
    windowBefore: number,
    renewed: boolean,
  ): Promise<Envelope> {
    let response: AxiosResponse<string>;
    const sent = await this.auth.headers();
    try {
      response = await this.http.get<string>(url, { params: cleanQuery(query), headers: sent });
    } catch (error: any) {
      // Network-level failures: never pass the axios error on (its config holds the token).
      const code = error?.code ?? 'network error';
      if (code === 'ENOTFOUND') throw this.unresolvedHost(endpoint);
      throw new RetryableFailure(`GET ${endpoint} failed: ${code}`);
    }
    const status = response.status;
    this.observeRateHeaders(response);
    if (status === 429) return this.on429(response, endpoint, windowBefore);
    this.unexplained429s = 0;

    const body = parseJson(response.data);
    const apiMessage = describeApiError(body, response.data);
    if (status >= 500 || status === 408) {
      throw new RetryableFailure(`Pipedrive answered ${status} for GET ${endpoint}${apiMessage}`);
    }
    if (status === 401) {
      if (!renewed && (await this.auth.renewAfter401(sent))) throw new CredentialsRenewed();
      throw new AccountError(this.auth.rejectedMessage(`GET ${endpoint}`), {
        info: { endpoint: `GET ${endpoint}`, status },
      });
    }
    if (status === 402) {
      throw new AccountError(
        `Pipedrive answered 402 for GET ${endpoint}: the company account is not open (trial ended or payment missing). Reopen the account in Pipedrive's billing settings.`,
      );
    }
    if (status === 403) {
      if (body === undefined) {
        // Cloudflare's HTML block after too many refused requests.
        throw new TransientError(
          `Pipedrive blocked requests for GET ${endpoint} (403 HTML page, usually after repeated rate-limit errors). Wait before the next sync.`,
        );
      }
      throw new PermissionError(
        `No permission to read ${endpoint} (403${apiMessage}). Give the token's user access to this data (an admin user sees everything), or deselect the stream.`,
      );
    }
    if (status === 404 || status === 410) {
      throw new ResourceGoneError(
        `Pipedrive answered ${status} for GET ${endpoint}${apiMessage}`,
        status,
      );
    }
    if (status >= 300) {
      throw new ConnectorError(
        `Pipedrive answered ${status} for GET ${endpoint}${apiMessage}`,
        'system_error',
      );
    }
    if (body === undefined || typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new RetryableFailure(
        `Pipedrive sent a response for GET ${endpoint} that is not a JSON object (truncated or HTML body)`,
      );
    }
    if (!('data' in body)) {
      throw new RetryableFailure(`Pipedrive's response for GET ${endpoint} has no 'data' field`);
    }
    const envelope = body as Envelope;
    envelope.serverTime = serverTimeOf(response);
    envelope.rateLimits = rateLimitsOf(response);
    if (envelope.data === null && !envelope.additional_data && url.startsWith('/api/v2/')) {
      // v2 lists answer [] with a next_cursor when empty: this is a broken answer.
      throw new RetryableFailure(
        `Pipedrive's response for GET ${endpoint} has 'data: null' and no paging information`,
      );
    }
    return envelope;
  }

  /**
   * Waits until the daily budget, as the latest answer reported it, covers one more request
   * besides those in flight; when nothing is in flight and nothing is left, the sync stops
   * before Pipedrive has to refuse anything.
   */
  private async reserveBudget(cost: number, endpoint: string): Promise<void> {
    for (;;) {
      if (this.budgetError) throw this.budgetError;
      const left =
        this.dailyRemaining === undefined ? Infinity : this.dailyRemaining - this.tokensInFlight;
      if (left > 0) {
        this.tokensInFlight += cost;
        return;
      }
      if (this.tokensInFlight <= 0) {
        throw this.dailyBudgetSpent(
          `x-daily-ratelimit-token-remaining is 0 before GET ${endpoint}`,
        );
      }
      await new Promise<void>((resolve) => this.budgetWaiters.push(resolve));
    }
  }

  private releaseBudget(cost: number): void {
    this.tokensInFlight -= cost;
    const waiters = this.budgetWaiters;
    this.budgetWaiters = [];
    for (const wake of waiters) wake();
  }

  /** A host that does not resolve will not resolve on a retry either. */
  private unresolvedHost(endpoint: string): ConnectorError {
    const host = new URL(this.baseUrl).hostname;
    return (
      this.options.unresolvedHost?.(host) ??
      new ConfigError(
        `Cannot resolve ${host} (ENOTFOUND) for GET ${endpoint}: check the host name in the config.`,
        { info: { endpoint: `GET ${endpoint}`, host, code: 'ENOTFOUND' } },
      )
    );
  }

  private dailyBudgetSpent(detail: string): DailyBudgetExhaustedError {
    const resetsAt = nextMidnightUtc();
    this.budgetError = new DailyBudgetExhaustedError(
      `Pipedrive's daily API token budget for this company is spent (${detail}). It resets at midnight Pipedrive server time (around ${resetsAt.toISOString()}); the sync stopped to avoid being blocked and will resume from the saved state.`,
      resetsAt,
    );
    return this.budgetError;
  }

  private observeRateHeaders(response: AxiosResponse): void {
    const remaining = headerNumber(response, 'x-ratelimit-remaining');
    const reset = headerNumber(response, 'x-ratelimit-reset');
    // When our own window is full the limiter already waits exactly until its oldest request
    // leaves; x-ratelimit-reset is rounded up to whole seconds, and pausing for it cost ~15%
    // of the allowed rate. Pause only when Pipedrive counts requests we did not send.
    if (
      remaining !== undefined &&
      remaining <= 0 &&
      response.status !== 429 &&
      this.limiter.inWindow() < this.limiter.currentLimit
    ) {
      this.limiter.pauseFor(Math.max(1, reset ?? 2) * 1000);
    }
    const limit = headerNumber(response, 'x-ratelimit-limit');
    if (limit !== undefined && this.limiter.lowerLimit(limit)) {
      this.options.log?.(
        'INFO',
        `Pipedrive's burst limit for this token is ${limit} requests per 2 seconds (x-ratelimit-limit), below max_requests_per_2_seconds=${this.options.maxRequestsPer2Seconds}: keeping to ${limit}.`,
      );
    }
    const daily = headerNumber(response, 'x-daily-ratelimit-token-remaining');
    if (daily !== undefined) {
      // Answers arrive out of order, and within a day the budget only goes down: keep the
      // lowest value seen, unless it jumped by more than half the daily limit (midnight).
      const total = headerNumber(response, 'x-daily-ratelimit-token-limit') ?? Infinity;
      const current = this.dailyRemaining;
      if (current === undefined || daily < current || daily - current > total / 2) {
        this.dailyRemaining = daily;
      }
    }
  }

  private on429(response: AxiosResponse<string>, endpoint: string, windowBefore: number): never {
    this.stats.responses429++;
    const body = parseJson(response.data) as Envelope | undefined;
    const dailyRemaining = headerNumber(response, 'x-daily-ratelimit-token-remaining');
    const text = `${body?.error ?? ''} ${response.data ?? ''}`.toLowerCase();
    const ourWindowWasClear = windowBefore < this.limiter.currentLimit / 2;
    if (ourWindowWasClear) this.unexplained429s++;
    if (
      dailyRemaining === 0 ||
      text.includes('daily') ||
      this.unexplained429s >= UNEXPLAINED_429_LIMIT
    ) {
      throw this.dailyBudgetSpent(`429 on GET ${endpoint}`);
    }
    const resetSeconds = headerNumber(response, 'x-ratelimit-reset') ?? 2;
    const waitMs = Math.min(60, Math.max(1, resetSeconds)) * 1000;
    this.limiter.pauseFor(waitMs);
    throw new RetryableFailure(
      `Pipedrive's burst rate limit answered 429 for GET ${endpoint}`,
      waitMs,
    );
  }

  /** v1 offset pagination; prefetches the next page while the caller handles this one. */
  async *paginateV1(path: string, query: Query = {}, scope?: string): AsyncGenerator<Page> {
    let start = 0;
    let pending = this.get('v1', path, { ...query, start, limit: PAGE_LIMIT }, scope);
    for (;;) {
      const body = await pending;
      const records = listRecords(body, endpointLabel('v1', path));
      // Most v1 lists nest paging under `pagination`; /deals/{id}/flow puts it at the top.
      const pagination = body.additional_data?.pagination ?? body.additional_data;
      const more = Boolean(pagination?.more_items_in_collection);
      const nextStart = Number(pagination?.next_start ?? start + records.length);
      if (more && !(nextStart > start)) {
        throw new TransientError(
          `Pipedrive's pagination for GET ${endpointLabel('v1', path)} did not advance (start ${start} → ${pagination?.next_start}).`,
        );
      }
      if (more) {
        start = nextStart;
        pending = this.get('v1', path, { ...query, start, limit: PAGE_LIMIT }, scope);
        pending.catch(() => undefined);
      }
      yield { records, hasMore: more, serverTime: body.serverTime };
      if (!more) return;
    }
  }

  /** v2 cursor pagination; prefetches the next page while the caller handles this one. */
  async *paginateV2(path: string, query: Query = {}, scope?: string): AsyncGenerator<Page> {
    let cursor: string | undefined;
    let pending = this.get('v2', path, { ...query, limit: PAGE_LIMIT }, scope);
    for (;;) {
      const body = await pending;
      const records = listRecords(body, endpointLabel('v2', path));
      const next = body.additional_data?.next_cursor;
      const more = typeof next === 'string' && next !== '';
      if (more && next === cursor) {
        throw new TransientError(
          `Pipedrive's pagination for GET ${endpointLabel('v2', path)} returned the same cursor twice.`,
        );
      }
      if (more) {
        cursor = next;
        pending = this.get('v2', path, { ...query, limit: PAGE_LIMIT, cursor }, scope);
        pending.catch(() => undefined);
      }
      yield { records, hasMore: more, serverTime: body.serverTime };
      if (!more) return;
    }
  }
}

/** The HTTP Date header as RFC 3339 (whole seconds), if present and valid. */
function serverTimeOf(response: AxiosResponse): string | undefined {
  const header = response.headers.date;
  if (typeof header !== 'string') return undefined;
  const time = new Date(header);
  return Number.isNaN(time.getTime()) ? undefined : toApiTime(time);
}

function rateLimitsOf(response: AxiosResponse): RateLimitHeaders | undefined {
  const limits: RateLimitHeaders = {
    burstLimit: headerNumber(response, 'x-ratelimit-limit'),
    dailyRemaining: headerNumber(response, 'x-daily-ratelimit-token-remaining'),
    dailyLimit: headerNumber(response, 'x-daily-ratelimit-token-limit'),
  };
  return Object.values(limits).some((value) => value !== undefined) ? limits : undefined;
}

function cleanQuery(query: Query): Record<string, string | number | boolean> {
  const result: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(query)) if (value !== undefined) result[key] = value;
  return result;
}

function parseJson(text: unknown): unknown {
  if (typeof text !== 'string') return text ?? undefined;
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describeApiError(body: unknown, raw: unknown): string {
  if (body && typeof body === 'object' && 'error' in body) {
    const error = (body as Envelope).error;
    if (error) return `: ${String(error).slice(0, 300)}`;
  }
  if (typeof raw === 'string' && raw.trimStart().startsWith('<')) return ' (HTML page)';
  return '';
}

/** Like listData, for lists of records: an item that is not an object is a broken answer. */
export function listRecords(body: Envelope, endpoint: string): Record<string, any>[] {
  const records = listData(body, endpoint);
  const bad = records.findIndex(
    (item) => item === null || typeof item !== 'object' || Array.isArray(item),
  );
  if (bad >= 0) {
    throw new TransientError(
      `Pipedrive's response for GET ${endpoint} has an item that is not an object (item ${bad}: ${String(JSON.stringify(records[bad])).slice(0, 40)}).`,
    );
  }
  return records;
}

/** The records of a list response; `data: null` is Pipedrive's empty list. */
export function listData(body: Envelope, endpoint: string): Record<string, any>[] {
  if (body.data === null || body.data === undefined) return [];
  if (!Array.isArray(body.data)) {
    throw new TransientError(
      `Pipedrive's response for GET ${endpoint} has 'data' of type ${typeof body.data} where a list was expected.`,
    );
  }
  return body.data as Record<string, any>[];
}
