/**
 * Pipedrive's two rate limits: a burst limit per token over a rolling 2 s window, and a daily
 * token budget per company. Both are reported in response headers.
 */

export const BURST_WINDOW_MS = 2000;

export interface BurstDecision {
  allowed: boolean;
  headers: Record<string, string>;
}

export class BurstLimiter {
  /** Per token: arrival times (ms) of the admitted requests still inside the window. */
  private readonly windows = new Map<string, number[]>();
  /** Another client on the same token (an integration, a script), as steady requests per second. */
  private otherClientRate = 0;
  /** When that client's next request lands; null until the first request after a change. */
  private otherClientNext: number | null = null;

  constructor(private limit: number | null) {}

  /** The other client shares the window, so 429s come while this client's own rate is low. */
  setOtherClientRate(requestsPerSecond: number): void {
    this.otherClientRate = Math.max(0, requestsPerSecond);
    this.otherClientNext = null;
  }

  setLimit(limit: number | null): void {
    this.limit = limit && limit > 0 ? limit : null;
  }

  get enabled(): boolean {
    return this.limit !== null && this.limit > 0;
  }

  /** Admits (and counts) the request if the token has room in the current window. */
  admit(token: string, nowMs: number): BurstDecision {
    if (!this.enabled || this.limit === null) return { allowed: true, headers: {} };
    const window = this.windows.get(token) ?? [];
    this.addOtherClientRequests(window, nowMs);
    while (window.length > 0 && window[0] <= nowMs - BURST_WINDOW_MS) window.shift();
    const allowed = window.length < this.limit;
    if (allowed) window.push(nowMs);
    this.windows.set(token, window);
    // Seconds until the oldest request leaves the window: relative, never an epoch.
    const resetSeconds =
      window.length > 0 ? Math.max(1, Math.ceil((window[0] + BURST_WINDOW_MS - nowMs) / 1000)) : 1;
    return {
      allowed,
      headers: {
        'x-ratelimit-limit': String(this.limit),
        'x-ratelimit-remaining': String(Math.max(0, this.limit - window.length)),
        'x-ratelimit-reset': String(resetSeconds),
      },
    };
  }

  reset(): void {
    this.windows.clear();
  }

  /** The other client's requests up to now, admitted (and counted) only where there was room. */
  private addOtherClientRequests(window: number[], nowMs: number): void {
    if (this.otherClientRate <= 0 || this.limit === null) return;
    const interval = 1000 / this.otherClientRate;
    const windowStart = nowMs - BURST_WINDOW_MS;
    // It has been running for a while already: the window starts out holding its share.
    let next = this.otherClientNext ?? windowStart + interval;
    if (next <= windowStart) next += (Math.floor((windowStart - next) / interval) + 1) * interval;
    for (; next <= nowMs; next += interval) {
      while (window.length > 0 && window[0] <= next - BURST_WINDOW_MS) window.shift();
      if (window.length < this.limit) window.push(next);
    }
    this.otherClientNext = next;
  }
}

export type BudgetState = 'available' | 'exhausted' | 'blocked';

export class DailyBudget {
  private spent = 0;
  /** The budget is the company's: other integrations spend from it too. */
  private spentByOthers = 0;
  private rejections = 0;

  constructor(
    private limit: number | null,
    private readonly sendHeaders: boolean,
    /** After this many 429s on an exhausted budget, answer Cloudflare's 403 page instead. */
    private readonly blockAfterRejections: number | null,
  ) {}

  setLimit(limit: number | null): void {
    this.limit = limit;
  }

  /** Midnight: a fresh budget for every integration, and Cloudflare forgives. */
  reset(): void {
    this.spent = 0;
    this.spentByOthers = 0;
    this.rejections = 0;
  }

  spendByOthers(tokens: number): void {
    this.spentByOthers += Math.max(0, tokens);
  }

  get tokensSpentByOthers(): number {
    return this.spentByOthers;
  }

  get tokensSpent(): number {
    return this.spent;
  }

  /** Decides whether a request may proceed; counts the rejections that lead to a block. */
  admit(): BudgetState {
    if (this.limit === null || this.spent + this.spentByOthers < this.limit) return 'available';
    if (this.blockAfterRejections !== null && this.rejections >= this.blockAfterRejections) {
      return 'blocked';
    }
    this.rejections++;
    return 'exhausted';
  }

  charge(cost: number): void {
    this.spent += cost;
  }

  headers(): Record<string, string> {
    if (this.limit === null || !this.sendHeaders) return {};
    return {
      'x-daily-ratelimit-token-limit': String(this.limit),
      'x-daily-ratelimit-token-remaining': String(
        Math.max(0, this.limit - this.spent - this.spentByOthers),
      ),
    };
  }
}
