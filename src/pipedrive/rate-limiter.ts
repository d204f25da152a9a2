import { indexOfLowest } from '../concurrency';

/**
 * Client-side limiter for Pipedrive's burst limit: never more than `limit`
 * request starts in any rolling window, across all concurrent callers. The
 * server's own view (x-ratelimit-remaining / x-ratelimit-reset) can pause it.
 */
export class RollingWindowLimiter {
  private readonly starts: number[] = [];
  private readonly waiters: Array<{ rank: () => number; resolve: (start: number) => void }> = [];
  private pumping = false;
  private pausedUntil = 0;

  constructor(
    private limit: number,
    private readonly windowMs = 2000,
    // Start times are measured here, arrivals there: keep a small margin.
    private marginMs = 60,
    private readonly now: () => number = Date.now,
    /**
     * Spreads each window's starts over this many parts (at most limit / parts per part of the
     * window) instead of letting a whole window leave at once. The rate over a window is the
     * same; what changes is that requests in flight do not echo one burst per window, which
     * arrives bunched and is what a server's window miscounts first. 1: no spreading.
     */
    private readonly paceParts = 1,
  ) {}

  /**
   * Resolves when one more request may start (with the start time the window counts). Of the
   * callers waiting when a slot frees, the one with the lowest `rank` goes first (ties: the
   * one that asked first); without ranks, callers are served in order.
   */
  acquire(rank: () => number = NO_RANK): Promise<number> {
    return new Promise((resolve) => {
      this.waiters.push({ rank, resolve });
      if (!this.pumping) void this.pump();
    });
  }

  /** Requests allowed per window now. */
  get currentLimit(): number {
    return this.limit;
  }

  /** The server's limit is lower than the configured one: keep to it. Returns whether it changed. */
  lowerLimit(limit: number): boolean {
    if (!(limit >= 1) || limit >= this.limit) return false;
    this.limit = Math.floor(limit);
    return true;
  }

  /** Follows the server's limit either way (when none was configured). Returns whether it changed. */
  setLimit(limit: number): boolean {
    if (!(limit >= 1) || Math.floor(limit) === this.limit) return false;
    this.limit = Math.floor(limit);
    return true;
  }

  /**
   * The request granted at `granted` actually left at `sentAt` (later: a busy event loop, an
   * auth refresh). The window counts the real departure, or a request delayed past its slot
   * would leave together with the next ones and Pipedrive would see more than the limit.
   */
  restamp(granted: number, sentAt: number): void {
    if (!(sentAt > granted)) return;
    let index = this.starts.lastIndexOf(granted);
    if (index < 0) return;
    this.starts[index] = sentAt;
    // Keep the starts in order (expiry reads them from the oldest).
    while (index + 1 < this.starts.length && this.starts[index + 1] < this.starts[index]) {
      [this.starts[index], this.starts[index + 1]] = [this.starts[index + 1], this.starts[index]];
      index++;
    }
  }

  /** Extra spacing beyond the window (ms): how far arrivals may bunch up on the way. */
  get margin(): number {
    return this.marginMs;
  }

  /** Arrivals bunch up more than the margin allows: space the windows further apart. */
  widenMargin(byMs: number, maxMs: number): boolean {
    const next = Math.min(maxMs, this.marginMs + byMs);
    if (next <= this.marginMs) return false;
    this.marginMs = next;
    return true;
  }

  /** The server says the window is spent: hold every request until it frees. */
  pauseFor(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  /** How many starts fall in the current window (for deciding whether a 429 was ours). */
  inWindow(): number {
    this.expire(this.now());
    return this.starts.length;
  }

  private expire(now: number): void {
    const horizon = now - this.windowMs - this.marginMs;
    while (this.starts.length > 0 && this.starts[0] <= horizon) this.starts.shift();
  }

  /** When the latest part of the window (see paceParts) has room for one more start. */
  private pacedUntil(now: number): number {
    if (this.paceParts <= 1) return now;
    const partMs = (this.windowMs + this.marginMs) / this.paceParts;
    const perPart = Math.max(1, Math.ceil(this.limit / this.paceParts));
    const { starts } = this;
    if (starts.length < perPart) return now;
    // The perPart-th latest start: once it is a part's length ago, the part has room.
    const boundary = starts[starts.length - perPart];
    return boundary > now - partMs ? Math.ceil(boundary + partMs) + 1 : now;
  }

  /** Grants the waiting callers one at a time, each as soon as the window has room. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.waiters.length > 0) {
        const now = this.now();
        const wait = this.waitBeforeSlot(now);
        if (wait > 0) {
          await sleep(wait);
          continue;
        }
        this.starts.push(now);
        this.waiters.splice(indexOfLowest(this.waiters, byRank), 1)[0].resolve(now);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Milliseconds until one more start fits the window (0: now). */
  private waitBeforeSlot(now: number): number {
    if (now < this.pausedUntil) return this.pausedUntil - now;
    this.expire(now);
    if (this.starts.length >= this.limit) {
      return this.starts[0] + this.windowMs + this.marginMs - now + 1;
    }
    const paced = this.pacedUntil(now);
    return paced > now ? paced - now : 0;
  }
}

const NO_RANK = (): number => 0;
const byRank = (waiter: { rank: () => number }): number => waiter.rank();

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
