import {
  AccountError,
  CancelledError,
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
import { ConcurrencyGate } from './gate';
import { exchange, type HttpAnswer, NetworkFailure } from './http';
import { Connections, proxyFailure } from './proxy';
import { RollingWindowLimiter, sleep } from './rate-limiter';

export type ApiVersion = 'v1' | 'v2';
export type Query = Record<string, string | number | boolean | undefined>;

/** Where the v1 API lives: `/api/v1` on a company host, `/v1` on api.pipedrive.com. */
export type V1Prefix = '/api/v1' | '/v1';

export interface ClientOptions {
  baseUrl: string;
  v1Prefix?: V1Prefix;
  /** How requests authenticate (src/pipedrive/auth.ts); `apiToken` is the short form. */
  auth?: RequestAuth;
  apiToken?: string;
  /**
   * What to say when the API host does not resolve (ENOTFOUND): no retry helps a wrong
   * company_domain, so the caller names the setting to fix.
   */
  unresolvedHost?: (host: string) => ConnectorError;
  maxRequestsPer2Seconds: number;
  /** When the burst limit was not configured, Pipedrive's x-ratelimit-limit may raise it too. */
  limitIsExplicit?: boolean;
  /** Upper bound of requests in flight (the gate adapts below it). */
  maxConcurrentRequests?: number;
  /** Tokens of the company's daily budget to leave to other integrations. */
  dailyTokenReserve?: number;
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
  /**
   * A lower bound of Pipedrive's clock (epoch ms) when it read the data of this answer: the
   * moment the request left, converted with the most conservative clock offset seen so far.
   */
  listedAfterMs?: number;
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
  serverTime?: string;
  listedAfterMs?: number;
}

export interface EndpointStats {
  requests: number;
  tokens: number;
}

/** Requests Pipedrive answered and the API tokens they cost, per stream (scope) and endpoint. */
export class RequestStats {
  readonly byScope = new Map<string, EndpointStats>();
  readonly byEndpoint = new Map<string, EndpointStats>();
  requests = 0;
  tokens = 0;
  retries = 0;
  responses429 = 0;
  /** Most requests that were in flight at once. */
  maxInFlight = 0;

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

  /** A copy: what the scope has used so far (a later call minus this one is what came between). */
  forScope(scope: string): EndpointStats {
    const { requests = 0, tokens = 0 } = this.byScope.get(scope) ?? {};
    return { requests, tokens };
  }
}

export interface RequestOptions {
  /** A problem with a 200 answer that makes it a broken answer to retry (e.g. no paging block). */
  validate?: (body: Envelope) => string | undefined;
  /** The endpoint belongs to an add-on: its 402 says the add-on is missing, not the account. */
  optional?: boolean;
  /**
   * Parse and check the answer only once this resolves: a prefetched page is held as text
   * until its reader asks for it. A failure found then is retried as usual.
   */
  demand?: Promise<void>;
  /**
   * Awaited once the answer is here (and demanded), before it is parsed, at most once per
   * request: the reader's turn to hold a parsed page (answers wait as text until then).
   */
  beforeParse?: () => Promise<void>;
}

/** An answer as it came back, before anything in it is read. */
interface Answer {
  response: HttpAnswer;
  /** The headers it was sent with (a 401 renews credentials only if they were these). */
  sent: Record<string, string>;
  sentAt: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_ATTEMPTS = 6;
const DEFAULT_RETRY_BASE_MS = 1000;
const MAX_BACKOFF_MS = 60_000;
const MAX_BURST_RETRIES = 10;
export const PAGE_LIMIT = 500;
const BURST_WINDOW_MS = 2000;
/**
 * The limiter counts when requests leave, Pipedrive when they arrive: request n+limit may
 * only start this much later than a full window after request n, to absorb network jitter.
 * When Pipedrive's x-ratelimit-remaining shows it counted more in its window than this sync
 * sent in its own (arrivals bunched up on the way: a busy event loop here, jitter on the
 * network), the margin grows by a step, up to the maximum.
 */
const BURST_WINDOW_MARGIN_MS = 150;
const BURST_MARGIN_STEP_MS = 50;
/**
 * A window's requests leave spread over its two halves (at most half the limit in each), not
 * all at once: with many requests in flight an unspread limiter echoes one burst of the whole
 * limit per window, and bunched arrivals are what Pipedrive's window miscounts first. Measured
 * at 800 ms × 40: bursts of 40 in 0.2 s and 1-3 × 429 per sync before; halves: none, at the
 * same rate (quarters cost a fifth of the rate: fewer lanes split while requests queue).
 */
const BURST_PACE_PARTS = 2;
const BURST_MARGIN_MAX_MS = 300;
export const DEFAULT_MAX_CONCURRENT_REQUESTS = 64;
/**
 * A crowd (fan-out) with more requests under way or waiting than this no longer leaves chains
 * places: its own parent lists only 16 pages ahead of it (at 800 ms x 120, 20 gave 74-83%, 40
 * 79-82%).
 */
const CROWD_BACKLOG = 40;

function envNumber(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) && parsed >= 0 ? parsed : undefined;
}

function nextMidnightUtc(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}

function headerNumber(response: HttpAnswer, name: string): number | undefined {
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
    /** Set for 429s: how long to hold every request before the retry. */
    readonly waitMs?: number,
  ) {
    super(message);
  }
}

/**
 * The only code that talks HTTP to Pipedrive: auth, base URL, rate limiting, concurrency,
 * retries, pagination, error classification and the daily budget.
 */
export class PipedriveClient {
  readonly stats = new RequestStats();
  readonly gate: ConcurrencyGate;
  private base: string;
  private readonly timeoutMs: number;
  private readonly connections = new Connections({ keepAlive: true, maxSockets: 256 });
  private readonly auth: RequestAuth;
  private readonly limiter: RollingWindowLimiter;
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private v1Prefix: V1Prefix;
  /** 429s in a row that our own request rate does not explain (another client on the token). */
  private unexplained429s = 0;
  private burstMarginLogged = false;
  private budgetError?: DailyBudgetExhaustedError;
  /** A 401/402: nothing else will work either, so every later request fails at once. */
  private accountError?: AccountError;
  /** x-daily-ratelimit-token-remaining of the latest answer (when Pipedrive sends it). */
  private dailyRemaining?: number;
  private dailyLimit?: number;
  /** API tokens of the requests sent and not answered yet. */
  private tokensInFlight = 0;
  private budgetWaiters: Array<() => void> = [];
  /** max(Date header − local arrival time): Pipedrive's clock is at least this far ahead. */
  private clockOffsetLowerMs = -Infinity;
  private serverBurstLimit?: number;
  /** Scopes (streams) that stopped: their requests still waiting are not sent. */
  private readonly cancelledScopes = new Set<string>();
  /** Waiting for the first request of some scopes (the scheduler's start order). */
  private queueWatchers: Array<{ scopes: Set<string>; resolve: () => void }> = [];
  /** Scopes (streams) of add-on features: their 402 says the add-on is missing, not the account. */
  private readonly optionalScopes = new Set<string>();

  constructor(private readonly options: ClientOptions) {
    this.auth = options.auth ?? new ApiTokenAuth(options.apiToken ?? '');
    this.maxAttempts =
      options.maxAttempts ?? envNumber('PIPEDRIVE_MAX_ATTEMPTS') ?? DEFAULT_ATTEMPTS;
    this.retryBaseMs =
      options.retryBaseMs ?? envNumber('PIPEDRIVE_RETRY_BASE_MS') ?? DEFAULT_RETRY_BASE_MS;
    this.v1Prefix = options.v1Prefix ?? '/api/v1';
    this.limiter = new RollingWindowLimiter(
      options.maxRequestsPer2Seconds,
      BURST_WINDOW_MS,
      BURST_WINDOW_MARGIN_MS,
      Date.now,
      BURST_PACE_PARTS,
    );
    this.gate = new ConcurrencyGate(
      options.maxConcurrentRequests ?? DEFAULT_MAX_CONCURRENT_REQUESTS,
      () => this.limiter.currentLimit / (BURST_WINDOW_MS / 1000),
    );
    this.base = options.baseUrl;
    this.timeoutMs = options.timeoutMs ?? envNumber('PIPEDRIVE_TIMEOUT_MS') ?? DEFAULT_TIMEOUT_MS;
  }

  get baseUrl(): string {
    return this.base;
  }

  /** Switches to the account's own host once it is known. */
  rebase(baseUrl: string, v1Prefix: V1Prefix = '/api/v1'): void {
    this.base = baseUrl;
    this.v1Prefix = v1Prefix;
  }

  /** The burst limit in force (configured, or lowered/raised by Pipedrive's x-ratelimit-limit). */
  get burstLimit(): number {
    return this.limiter.currentLimit;
  }

  /** What Pipedrive said of the burst limit (x-ratelimit-limit), once it said it. */
  get reportedBurstLimit(): number | undefined {
    return this.serverBurstLimit;
  }

  /** The daily budget as Pipedrive last reported it (x-daily-ratelimit-token-*). */
  get dailyBudget(): { remaining: number; limit?: number } | undefined {
    return this.dailyRemaining === undefined
      ? undefined
      : { remaining: this.dailyRemaining, limit: this.dailyLimit };
  }

  /**
   * Tokens this sync may still spend before the reserve, minus those in flight; undefined when
   * Pipedrive does not report its budget. Streams use it to checkpoint more often when little
   * is left, so that a starved sync still moves its state forward.
   */
  get spendableTokens(): number | undefined {
    if (this.dailyRemaining === undefined) return undefined;
    return this.dailyRemaining - this.tokensInFlight - (this.options.dailyTokenReserve ?? 0);
  }

  /** Whether the sync has stopped for the daily budget (or the reserve). */
  get budgetStop(): DailyBudgetExhaustedError | undefined {
    return this.budgetError;
  }

  /**
   * A lower bound of Pipedrive's clock at a local moment (epoch ms), or undefined before
   * Pipedrive answered with a Date header.
   */
  serverTimeLowerBound(localMs: number): number | undefined {
    return Number.isFinite(this.clockOffsetLowerMs) ? localMs + this.clockOffsetLowerMs : undefined;
  }

  /**
   * A stream stopped (it failed): its requests still waiting for the gate or the limiter are
   * dropped, so only the calls already in flight follow the failure.
   */
  cancelScope(scope: string): void {
    this.cancelledScopes.add(scope);
  }

  /**
   * Resolves when a request of one of `scopes` joins the queue for the gate: requests are
   * served in the order they join it, so awaiting this before starting the next stream group
   * gives the groups' requests that order.
   */
  queued(scopes: Iterable<string>): Promise<void> {
    return new Promise((resolve) => this.queueWatchers.push({ scopes: new Set(scopes), resolve }));
  }

  /** Requests of this scope are an add-on's: a 402 stops that stream only (see attempt). */
  markOptionalScope(scope: string): void {
    this.optionalScopes.add(scope);
  }

  private checkCancelled(scope: string): void {
    if (this.cancelledScopes.has(scope)) {
      throw new CancelledError(`Requests of ${scope} were cancelled: the stream stopped.`);
    }
  }

  /** One request with gate, limiter, retries and classification; returns the parsed envelope. */
  async get(
    version: ApiVersion,
    path: string,
    query: Query = {},
    scope = 'connector',
    options: RequestOptions = {},
  ): Promise<Envelope> {
    if (this.budgetError) throw this.budgetError;
    if (this.accountError) throw this.accountError;
    this.checkCancelled(scope);
    if (this.queueWatchers.length > 0) {
      this.queueWatchers = this.queueWatchers.filter((watcher) => {
        if (!watcher.scopes.has(scope)) return true;
        watcher.resolve();
        return false;
      });
    }
    const endpoint = endpointLabel(version, path);
    const url = version === 'v1' ? `${this.v1Prefix}${path}` : `/api/v2${path}`;
    const cost = tokenCost(version, path);
    let burstRetries = 0;
    let failures = 0;
    let renewed = false;
    let turnTaken = false;
    for (let attempt = 1; ; attempt++) {
      let error: RetryableFailure;
      try {
        const answer = await this.send(url, endpoint, query, scope, cost);
        // A prefetched page waits as text until its reader wants it: parsed objects would be
        // held (and traced by the GC) all that time, for every lane at once.
        if (options.demand) await options.demand;
        if (options.beforeParse && !turnTaken) {
          await options.beforeParse();
          turnTaken = true;
        }
        return await this.interpret(answer, url, endpoint, scope, options, renewed);
      } catch (failure) {
        if (failure instanceof CredentialsRenewed) {
          // Fresh credentials after a 401: sent once more (through the gate and limiter again).
          renewed = true;
          continue;
        }
        if (!(failure instanceof RetryableFailure)) throw failure;
        error = failure;
      }
      const isBurst = error.waitMs !== undefined;
      if (isBurst) burstRetries++;
      else failures++;
      const exhausted = isBurst ? burstRetries > MAX_BURST_RETRIES : failures >= this.maxAttempts;
      if (exhausted) {
        throw new TransientError(
          `${error.message}; gave up after ${attempt} attempts. ${
            isBurst
              ? 'Another client may be using up the burst limit of this token'
              : 'Pipedrive may be having an outage'
          }: the next sync resumes from the saved state.`,
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

  /**
   * One request through the gate, the daily budget and the limiter; returns the answer as text
   * (429s already handled: they throw). What the answer says is `interpret`'s job.
   */
  private async send(
    url: string,
    endpoint: string,
    query: Query,
    scope: string,
    staticCost: number,
  ): Promise<Answer> {
    await this.gate.acquire(scope);
    let reserved = false;
    let granted: number | undefined;
    try {
      await this.reserveBudget(staticCost, endpoint);
      reserved = true;
      this.checkCancelled(scope);
      // Like the gate: the request of the stream with the fewest under way leaves first, and a
      // crowd's (fan-out batches) leaves the window's places to the chains under way.
      granted = await this.limiter.acquire(() => this.gate.load(scope), {
        scope,
        crowd: this.gate.isCrowd(scope),
        yields: () => this.gate.backlog(scope) < CROWD_BACKLOG,
        roundTripMs: this.gate.roundTripMs,
      });
      if (this.budgetError) throw this.budgetError;
      if (this.accountError) throw this.accountError;
      this.checkCancelled(scope);
      this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.gate.inFlight);
      return await this.exchange(url, endpoint, query, scope, staticCost, granted);
    } finally {
      if (granted !== undefined) this.limiter.answered(scope, granted);
      if (reserved) this.releaseBudget(staticCost);
      this.gate.release(scope);
    }
  }

  private async exchange(
    url: string,
    endpoint: string,
    query: Query,
    scope: string,
    staticCost: number,
    granted: number,
  ): Promise<Answer> {
    const windowBefore = this.limiter.inWindow();
    const sent = await this.auth.headers();
    const sentAt = Date.now();
    this.limiter.restamp(granted, sentAt);
    let leftAt = sentAt;
    let response: HttpAnswer;
    const target = urlOf(this.base, url, query);
    try {
      response = await exchange({
        method: 'GET',
        url: target,
        headers: { accept: 'application/json', ...sent },
        timeoutMs: this.timeoutMs,
        connections: this.connections,
        // Its bytes reach the socket a while after sentAt when the event loop is busy (a new
        // connection waits for its connect callback behind page work; measured at 800 ms x 40
        // with 34 in flight: up to 136 ms, close to the burst margin): the window counts that.
        onLeft: (at) => {
          leftAt = at;
          this.limiter.restamp(sentAt, at);
        },
      });
    } catch (error) {
      // Network-level failures: nothing was answered, so nothing is counted.
      if (error instanceof ConfigError) throw error; // a proxy variable that names no proxy
      const proxied = proxyFailure(error, target.host);
      if (proxied instanceof ConfigError) throw proxied;
      const code = proxied ?? (error instanceof NetworkFailure ? error.code : 'network error');
      if (code === 'ENOTFOUND') throw this.unresolvedHost(endpoint);
      throw new RetryableFailure(`GET ${endpoint} failed: ${code}`);
    }
    const receivedAt = Date.now();
    const status = response.status;
    // The round trip from when the bytes left: time this process took to send them is not
    // the network's (a burst of first requests on a fast network would look like a slow one).
    this.gate.observe(receivedAt - leftAt);
    this.observeClock(response, receivedAt);
    this.observeRateHeaders(response, windowBefore);
    if (status !== 401) this.stats.add(scope, endpoint, this.costOf(response, staticCost));
    if (status === 429) return this.on429(response, endpoint, windowBefore);
    this.unexplained429s = 0;
    return { response, sent, sentAt };
  }

  /** What an answer says: the envelope of a good one, or the failure to throw or retry. */
  private async interpret(
    { response, sent, sentAt }: Answer,
    url: string,
    endpoint: string,
    scope: string,
    options: RequestOptions,
    renewed: boolean,
  ): Promise<Envelope> {
    const status = response.status;
    const body = parseJson(response.data);
    const apiMessage = describeApiError(body, response.data);
    if (status >= 500 || status === 408) {
      throw new RetryableFailure(`Pipedrive answered ${status} for GET ${endpoint}${apiMessage}`);
    }
    if (status === 401) {
      if (!renewed && (await this.auth.renewAfter401(sent))) throw new CredentialsRenewed();
      this.accountError = new AccountError(this.auth.rejectedMessage(`GET ${endpoint}`), {
        info: { endpoint: `GET ${endpoint}`, status },
      });
      throw this.accountError;
    }
    if (status === 402) {
      // A feature the account lacks (an add-on) answers 402 for its own endpoints only.
      if (options.optional || this.optionalScopes.has(scope)) {
        throw new ConfigError(
          `Pipedrive answered 402 for GET ${endpoint}${apiMessage}: the company's plan or add-ons do not include it`,
          { info: { endpoint: `GET ${endpoint}`, status } },
        );
      }
      this.accountError = new AccountError(
        `Pipedrive answered 402 for GET ${endpoint}${apiMessage}: the company account is not open (trial ended or payment missing). Reopen the account in Pipedrive's billing settings.`,
        { info: { endpoint: `GET ${endpoint}`, status } },
      );
      throw this.accountError;
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
        { info: { endpoint: `GET ${endpoint}`, status } },
      );
    }
    if (status === 404 || status === 410) {
      throw new ResourceGoneError(
        `Pipedrive answered ${status} for GET ${endpoint}${apiMessage}`,
        status,
        { info: { endpoint: `GET ${endpoint}` } },
      );
    }
    if (status >= 300) {
      throw new ConnectorError(
        `Pipedrive answered ${status} for GET ${endpoint}${apiMessage}`,
        status >= 400 && status < 500 ? 'system_error' : 'transient_error',
        { info: { endpoint: `GET ${endpoint}`, status } },
      );
    }
    if (body === undefined || typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new RetryableFailure(
        `Pipedrive sent a response for GET ${endpoint} that is not a JSON object (truncated or HTML body)`,
      );
    }
    const envelope = body as Envelope;
    if (envelope.success === false) {
      throw new RetryableFailure(
        `Pipedrive answered 200 with success: false for GET ${endpoint}${apiMessage}`,
      );
    }
    if (!('data' in envelope)) {
      throw new RetryableFailure(`Pipedrive's response for GET ${endpoint} has no 'data' field`);
    }
    if (envelope.data === null && !envelope.additional_data && url.startsWith('/api/v2/')) {
      // v2 lists answer [] with a next_cursor when empty: this is a broken answer.
      throw new RetryableFailure(
        `Pipedrive's response for GET ${endpoint} has 'data: null' and no paging information`,
      );
    }
    const problem = options.validate?.(envelope);
    if (problem) throw new RetryableFailure(`Pipedrive's response for GET ${endpoint} ${problem}`);
    envelope.serverTime = serverTimeOf(response);
    envelope.listedAfterMs = this.serverTimeLowerBound(sentAt);
    envelope.rateLimits = rateLimitsOf(response);
    return envelope;
  }

  /** Pipedrive's own x-token-cost when it sends one, else the documented cost. */
  private costOf(response: HttpAnswer, staticCost: number): number {
    const header = headerNumber(response, 'x-token-cost');
    if (header !== undefined && header >= 0) return header;
    // Without the header: refused (429) and failed (5xx) calls are not charged.
    return response.status === 429 || response.status >= 500 ? 0 : staticCost;
  }

  private observeClock(response: HttpAnswer, receivedAt: number): void {
    const header = response.headers.date;
    if (typeof header !== 'string') return;
    const serverMs = Date.parse(header);
    if (Number.isNaN(serverMs)) return;
    // The Date header is cut to the second and was written before the answer arrived, so
    // Pipedrive's clock was at least `serverMs` at some moment before `receivedAt`.
    this.clockOffsetLowerMs = Math.max(this.clockOffsetLowerMs, serverMs - receivedAt);
  }

  /**
   * Waits until the daily budget, as the latest answer reported it, covers this request besides
   * those in flight and the reserve; when nothing is in flight and it does not, the sync stops
   * before Pipedrive has to refuse anything.
   */
  private async reserveBudget(cost: number, endpoint: string): Promise<void> {
    for (;;) {
      if (this.budgetError) throw this.budgetError;
      const spendable = this.spendableTokens;
      if (spendable === undefined || spendable >= cost) {
        this.tokensInFlight += cost;
        return;
      }
      if (this.tokensInFlight <= 0) {
        const reserve = this.options.dailyTokenReserve ?? 0;
        throw reserve > 0 && (this.dailyRemaining ?? 0) > 0
          ? this.reserveReached(endpoint, cost)
          : this.dailyBudgetSpent(
              `x-daily-ratelimit-token-remaining is ${this.dailyRemaining} before GET ${endpoint}, which costs ${cost}`,
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
    this.budgetError ??= new DailyBudgetExhaustedError(
      `Pipedrive's daily API token budget for this company is spent (${detail}). It resets at midnight Pipedrive server time (around ${resetsAt.toISOString()}); the sync stopped to avoid being blocked and will resume from the saved state.`,
      resetsAt,
    );
    return this.budgetError;
  }

  private reserveReached(endpoint: string, cost: number): DailyBudgetExhaustedError {
    const resetsAt = nextMidnightUtc();
    const reserve = this.options.dailyTokenReserve ?? 0;
    this.budgetError ??= new DailyBudgetExhaustedError(
      `The sync stopped to keep daily_token_reserve=${reserve} API tokens for the company's other integrations: Pipedrive reports ${this.dailyRemaining} tokens left today and GET ${endpoint} costs ${cost}. The budget resets at midnight Pipedrive server time (around ${resetsAt.toISOString()}); the next sync resumes from the saved state.`,
      resetsAt,
    );
    return this.budgetError;
  }

  private observeRateHeaders(response: HttpAnswer, windowBefore: number): void {
    const remaining = headerNumber(response, 'x-ratelimit-remaining');
    const reset = headerNumber(response, 'x-ratelimit-reset');
    const serverLimit = headerNumber(response, 'x-ratelimit-limit');
    if (remaining !== undefined && serverLimit !== undefined && response.status !== 429) {
      // windowBefore counts this request and every other one sent in the last 2 s + margin:
      // Pipedrive, counting arrivals in 2 s, should never see more. One more is jitter at the
      // edge of the window; two more is bunching the margin does not cover.
      const counted = serverLimit - remaining;
      if (counted > windowBefore + 2) this.widenBurstMargin(counted, windowBefore);
    }
    // When our own window is full the limiter already waits exactly until its oldest request
    // leaves; x-ratelimit-reset is rounded up to whole seconds, and pausing for it cost ~15%
    // of the allowed rate. Pause only when Pipedrive counts requests we did not send: more
    // than our window held when this request left (Pipedrive counted on its arrival; by the
    // time the answer is back, a round trip later, our window has moved on and looks emptier).
    if (
      remaining !== undefined &&
      remaining <= 0 &&
      response.status !== 429 &&
      windowBefore < this.limiter.currentLimit
    ) {
      this.limiter.pauseFor(Math.max(1, reset ?? 2) * 1000);
    }
    const limit = headerNumber(response, 'x-ratelimit-limit');
    if (limit !== undefined && limit >= 1 && limit !== this.serverBurstLimit) {
      this.serverBurstLimit = limit;
      this.adoptServerLimit(limit);
    }
    const daily = headerNumber(response, 'x-daily-ratelimit-token-remaining');
    if (daily !== undefined) {
      // Answers arrive out of order, and within a day the budget only goes down: keep the
      // lowest value seen, unless it jumped by more than half the daily limit (midnight).
      const total = headerNumber(response, 'x-daily-ratelimit-token-limit');
      if (total !== undefined) this.dailyLimit = total;
      const current = this.dailyRemaining;
      if (current === undefined || daily < current || daily - current > (total ?? Infinity) / 2) {
        this.dailyRemaining = daily;
      }
    }
  }

  /** Keeps to a lower server limit always; follows a higher one only when none was configured. */
  private adoptServerLimit(limit: number): void {
    const configured = this.options.maxRequestsPer2Seconds;
    const current = this.limiter.currentLimit;
    const target = this.options.limitIsExplicit ? Math.min(limit, configured) : limit;
    if (target === current || !this.limiter.setLimit(target)) return;
    this.options.log?.(
      'INFO',
      target < configured
        ? `Pipedrive's burst limit for this token is ${limit} requests per 2 seconds (x-ratelimit-limit), below max_requests_per_2_seconds=${configured}: keeping to ${target}.`
        : `Pipedrive's burst limit for this token is ${limit} requests per 2 seconds (x-ratelimit-limit): using it (max_requests_per_2_seconds is not set).`,
    );
  }

  private widenBurstMargin(counted: number, sent: number): void {
    if (!this.limiter.widenMargin(BURST_MARGIN_STEP_MS, BURST_MARGIN_MAX_MS)) return;
    if (this.burstMarginLogged) return;
    this.burstMarginLogged = true;
    this.options.log?.(
      'INFO',
      `Pipedrive counted ${counted} requests in its 2 s window where this sync had sent ${sent}: requests bunch up on the way (or another client uses the token). Spacing the burst windows further apart (margin now ${this.limiter.margin} ms, at most ${BURST_MARGIN_MAX_MS}).`,
    );
  }

  private on429(response: HttpAnswer, endpoint: string, windowBefore: number): never {
    this.stats.responses429++;
    const body = parseJson(response.data) as Envelope | undefined;
    const dailyRemaining = headerNumber(response, 'x-daily-ratelimit-token-remaining');
    const text = `${body?.error ?? ''} ${(body as any)?.error_info ?? ''}`.toLowerCase();
    // Only evidence of the daily budget ends the sync; any other 429 is a burst to wait out.
    if (dailyRemaining === 0 || /daily|budget/.test(text)) {
      throw this.dailyBudgetSpent(`429 on GET ${endpoint}`);
    }
    const resetSeconds = headerNumber(response, 'x-ratelimit-reset') ?? 2;
    let waitMs = Math.min(60, Math.max(1, resetSeconds)) * 1000;
    if (windowBefore < this.limiter.currentLimit / 2) {
      // Our own window was quiet: someone else spends this token's burst limit. Back off more
      // each time (1, 3, 7, 15 … s beyond the reset), so that both clients get through instead
      // of refusing each other.
      this.unexplained429s++;
      const extra = this.retryBaseMs * (2 ** Math.min(6, this.unexplained429s - 1) - 1);
      waitMs = Math.min(MAX_BACKOFF_MS, waitMs + extra);
      this.options.log?.(
        'WARN',
        `Pipedrive answered 429 for GET ${endpoint} although this sync sent only ${windowBefore} of ${this.limiter.currentLimit} requests in the last 2 s: another client is probably using the same token. Backing off ${(waitMs / 1000).toFixed(0)} s.`,
      );
    }
    this.limiter.pauseFor(waitMs);
    throw new RetryableFailure(
      `Pipedrive's burst rate limit answered 429 for GET ${endpoint}`,
      waitMs,
    );
  }

  /**
   * v1 offset pagination. With `prefetch` (default) the next page is requested while the caller
   * handles this one; without, only when the caller asks for it (the flow reader stops early).
   * Endpoints whose lists are paged must answer with a paging block: one without it is a broken
   * answer, retried, never taken for the last page. `paged: 'optional'` is for lists the OpenAPI
   * files give `start`/`limit` but no paging block (mail threads, note fields): they are paged
   * while a block says there is more, and an answer without one is the last page.
   */
  async *paginateV1(
    path: string,
    query: Query = {},
    scope?: string,
    options: { prefetch?: boolean; paged?: boolean | 'optional'; limit?: number } = {},
  ): AsyncGenerator<Page> {
    const endpoint = endpointLabel('v1', path);
    const required = (options.paged ?? true) === true;
    const paged = options.paged !== false;
    const prefetch = options.prefetch ?? true;
    const limit = options.limit ?? PAGE_LIMIT;
    const validate = required
      ? (body: Envelope) => (v1Pagination(body) ? undefined : 'has no paging block')
      : undefined;
    const request = (start: number, demand?: Promise<void>): Promise<Envelope> =>
      this.get('v1', path, paged ? { ...query, start, limit } : query, scope, {
        validate,
        demand,
      });
    const starts = new Set<number>([0]);
    const asked = new Demand();
    let start = 0;
    let pending: Promise<Envelope> | undefined = request(start);
    while (pending) {
      asked.now();
      const body = await pending;
      pending = undefined;
      const records = listRecords(body, endpoint);
      const pagination = v1Pagination(body);
      const more = paged && Boolean(pagination?.more_items_in_collection);
      let next = start;
      if (more) {
        next = Number(pagination?.next_start);
        // Honest paging moves past every row of this page; anything else re-reads or loops.
        if (!Number.isInteger(next) || next < start + records.length || starts.has(next)) {
          throw new TransientError(
            `Pipedrive's pagination for GET ${endpoint} is not advancing (start ${start}, ${records.length} rows, next_start ${String(pagination?.next_start)}): the stream stops instead of reading the same rows again.`,
          );
        }
        starts.add(next);
        if (prefetch) {
          pending = request(next, asked.later());
          pending.catch(() => undefined);
        }
      }
      yield {
        records,
        hasMore: more,
        serverTime: body.serverTime,
        listedAfterMs: body.listedAfterMs,
      };
      if (!more) return;
      start = next;
      if (!pending) pending = request(start);
    }
  }

  /** v2 cursor pagination; prefetches the next page while the caller handles this one. */
  paginateV2(
    path: string,
    query: Query = {},
    scope?: string,
    options: CursorOptions = {},
  ): AsyncGenerator<Page> {
    return this.paginateCursor('v2', path, query, scope, options);
  }

  /**
   * Cursor pagination (`cursor` / `additional_data.next_cursor`): every v2 list, and the few v1
   * lists that page this way (projects, tasks). Prefetches the next page while the caller
   * handles this one, unless `options.prefetch` says this page likely ends the caller's read
   * (then the next page is asked for only if the caller asks for it); a cursor seen before in
   * the pass ends it with an error.
   */
  async *paginateCursor(
    version: ApiVersion,
    path: string,
    query: Query = {},
    scope?: string,
    options: CursorOptions = {},
  ): AsyncGenerator<Page> {
    const endpoint = endpointLabel(version, path);
    const validate = (body: Envelope): string | undefined =>
      body.additional_data && typeof body.additional_data === 'object'
        ? undefined
        : "has no 'additional_data' (paging block)";
    const cursors = new Set<string>();
    const asked = new Demand();
    const { beforeParse } = options;
    let pending = this.get(version, path, { ...query, limit: PAGE_LIMIT }, scope, {
      validate,
      beforeParse,
    });
    for (;;) {
      asked.now();
      // A suspended generator keeps its locals: the answer and the page's rows are let go
      // (below, and once the reader is done with the page) before the next page is awaited,
      // or each of up to 64 lanes would hold its last page the whole round trip.
      let body: Envelope | undefined = await pending;
      const page: Page = {
        records: listRecords(body, endpoint),
        hasMore: false,
        serverTime: body.serverTime,
        listedAfterMs: body.listedAfterMs,
      };
      const next = body.additional_data?.next_cursor;
      body = undefined;
      const more = typeof next === 'string' && next !== '';
      if (more) {
        if (cursors.has(next)) {
          throw new TransientError(
            `Pipedrive's pagination for GET ${endpoint} returned a cursor it had already returned in this pass: the stream stops instead of reading the same pages again.`,
          );
        }
        cursors.add(next);
      }
      page.hasMore = more;
      const nextQuery = more ? { ...query, limit: PAGE_LIMIT, cursor: next } : undefined;
      const ahead = nextQuery !== undefined && (options.prefetch?.(page.records) ?? true);
      if (ahead) {
        pending = this.get(version, path, nextQuery, scope, {
          validate,
          demand: asked.later(),
          beforeParse,
        });
        pending.catch(() => undefined);
      }
      yield page;
      page.records = [];
      if (!nextQuery) return;
      if (!ahead) pending = this.get(version, path, nextQuery, scope, { validate, beforeParse });
    }
  }
}

export interface CursorOptions {
  /**
   * Whether to ask for the next page while the caller handles this one (default: yes). A
   * reader whose window ends inside this page says no: it will not want the next one.
   */
  prefetch?: (records: Record<string, any>[]) => boolean;
  /** See RequestOptions.beforeParse: awaited before each page is parsed. */
  beforeParse?: () => Promise<void>;
}

/**
 * When a paginator's reader asks for its next page: the prefetched request's answer waits for
 * it as text (see RequestOptions.demand).
 */
class Demand {
  private resolve?: () => void;

  /** A promise that resolves at the next `now()`. */
  later(): Promise<void> {
    return new Promise<void>((resolve) => (this.resolve = resolve));
  }

  /** The reader wants the next page now. */
  now(): void {
    this.resolve?.();
    this.resolve = undefined;
  }
}

/** Most v1 lists nest paging under `pagination`; some put it at the top of additional_data. */
export function v1Pagination(body: Envelope): Record<string, any> | undefined {
  const additional = body.additional_data;
  if (!additional || typeof additional !== 'object') return undefined;
  if (additional.pagination && typeof additional.pagination === 'object') {
    return additional.pagination;
  }
  return 'more_items_in_collection' in additional ? additional : undefined;
}

/** The HTTP Date header as RFC 3339 (whole seconds), if present and valid. */
function serverTimeOf(response: HttpAnswer): string | undefined {
  const header = response.headers.date;
  if (typeof header !== 'string') return undefined;
  const time = new Date(header);
  return Number.isNaN(time.getTime()) ? undefined : toApiTime(time);
}

function rateLimitsOf(response: HttpAnswer): RateLimitHeaders | undefined {
  const limits: RateLimitHeaders = {
    burstLimit: headerNumber(response, 'x-ratelimit-limit'),
    dailyRemaining: headerNumber(response, 'x-daily-ratelimit-token-remaining'),
    dailyLimit: headerNumber(response, 'x-daily-ratelimit-token-limit'),
  };
  return Object.values(limits).some((value) => value !== undefined) ? limits : undefined;
}

/** `path` (with the v1/v2 prefix) under the base URL (which may carry a path of its own), with the query's set fields. */
function urlOf(base: string, path: string, query: Query): URL {
  const url = new URL(`${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`);
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) url.searchParams.append(key, String(value));
  }
  return url;
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

/** Pipedrive's own reason for a failure: `error`, plus `error_info` when it says more. */
export function describeApiError(body: unknown, raw: unknown): string {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const { error, error_info: info } = body as { error?: unknown; error_info?: unknown };
    const parts = [error, info]
      .filter((part) => typeof part === 'string' && part.trim() !== '')
      .map((part) => String(part).trim().slice(0, 300));
    if (parts.length === 2 && parts[0] === parts[1]) parts.pop();
    if (parts.length > 0) return `: ${parts.join(' — ')}`;
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
