/**
 * Client-side limiter for Pipedrive's burst limit: never more than `limit`
 * request starts in any rolling window, across all concurrent callers. The
 * server's own view (x-ratelimit-remaining / x-ratelimit-reset) can pause it.
 */
export class RollingWindowLimiter {
  private readonly starts: number[] = [];
  private readonly waiters: Waiter[] = [];
  /** Chain requests under way, and those answered whose next request is due (see acquire). */
  private readonly chains: ChainTicket[] = [];
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
   *
   * With a `flow`: a chain's request (a list's page: its answer asks for the next page) is
   * remembered until `answered`, and a little after (its next page is due). A crowd's request
   * (a fan-out batch: its answer asks for nothing) starts only when the window keeps a place
   * for the next request of every chain under way, at the moment each is expected back (its
   * start plus the round trip): otherwise the batches triggered by the answers that come back
   * first in a round trip take the window before the other lists' answers are in, and every
   * list moves a round trip later. Lists are the sync's critical path; batches can go in any
   * round trip.
   */
  acquire(rank: () => number = NO_RANK, flow?: Flow): Promise<number> {
    return new Promise((resolve) => {
      this.waiters.push({ rank, flow, resolve });
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

  /** The request of a chain granted at `start` is answered: its next one is due soon. */
  answered(scope: string, start: number): void {
    const ticket = this.chains.find(
      (chain) => chain.scope === scope && chain.start === start && chain.dueUntil === undefined,
    );
    if (ticket) ticket.dueUntil = this.now() + NEXT_DUE_MS;
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
        if (now < this.pausedUntil) {
          await sleep(this.pausedUntil - now);
          continue;
        }
        this.expire(now);
        // The lowest rank of the callers that may start now; else sleep until one may.
        const wait = this.waitBeforeSlot(now);
        let best = -1;
        let bestRank = Infinity;
        let crowdHeld = false;
        if (wait === 0) {
          let roomForCrowd: boolean | undefined;
          for (let index = 0; index < this.waiters.length; index++) {
            const waiter = this.waiters[index];
            if (waiter.flow?.crowd && waiter.flow.yields()) {
              roomForCrowd ??= this.leavesRoomForChains(now, waiter.flow.roundTripMs);
              if (!roomForCrowd) {
                crowdHeld = true;
                continue;
              }
            }
            const rank = waiter.rank();
            if (best < 0 || rank < bestRank) {
              best = index;
              bestRank = rank;
            }
          }
        }
        if (best < 0) {
          // Chains' tickets change without a start or an expiry to wake on: look again soon.
          await sleep(crowdHeld ? CROWD_POLL_MS : wait);
          continue;
        }
        const [granted] = this.waiters.splice(best, 1);
        this.starts.push(now);
        const flow = granted.flow;
        if (flow && !flow.crowd) {
          this.expireChains(now);
          // Its own next request, if it was due, is this one.
          const due = this.chains.findIndex(
            (chain) => chain.scope === flow.scope && chain.dueUntil !== undefined,
          );
          if (due >= 0) this.chains.splice(due, 1);
          this.chains.push({ scope: flow.scope, start: now });
        }
        granted.resolve(now);
      }
    } finally {
      this.pumping = false;
    }
  }

  /**
   * Whether one more start now still leaves each chain under way a place for its next request
   * when it is expected back (in the part of the window and in the whole window, as it will be
   * then: starts older than that have expired by then).
   */
  private leavesRoomForChains(now: number, roundTripMs: number): boolean {
    this.expireChains(now);
    if (this.chains.length === 0) return true;
    const back = this.chains
      .map((chain) =>
        chain.dueUntil !== undefined ? now : Math.max(now, chain.start + roundTripMs),
      )
      .sort((a, b) => a - b);
    const fullMs = this.windowMs + this.marginMs;
    const parts = Math.max(1, this.paceParts);
    const spans: Array<[number, number]> = [[fullMs, this.limit]];
    if (parts > 1) spans.push([fullMs / parts, Math.max(1, Math.ceil(this.limit / parts))]);
    for (let index = 0; index < back.length; index++) {
      const at = back[index];
      for (const [spanMs, allowed] of spans) {
        const from = at - spanMs;
        let before = 0;
        for (let other = index; other >= 0 && back[other] > from; other--) before++;
        if (this.startsAfter(from) + 1 + before > allowed) return false;
      }
    }
    return true;
  }

  /** Starts later than `at`. */
  private startsAfter(at: number): number {
    const { starts } = this;
    let low = 0;
    let high = starts.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (starts[middle] > at) high = middle;
      else low = middle + 1;
    }
    return starts.length - low;
  }

  /** Forgets the due next requests that did not come (the lane ended, or its page waits). */
  private expireChains(now: number): void {
    for (let index = this.chains.length - 1; index >= 0; index--) {
      const until = this.chains[index].dueUntil;
      if (until !== undefined && until <= now) this.chains.splice(index, 1);
    }
  }

  /** Milliseconds until one more start fits the window (0: now). */
  private waitBeforeSlot(now: number): number {
    const { limit, starts } = this;
    if (starts.length >= limit) {
      return starts[starts.length - limit] + this.windowMs + this.marginMs - now + 1;
    }
    const paced = this.pacedUntil(now);
    return paced > now ? paced - now : 0;
  }
}

/** Who is asking (see acquire). */
export interface Flow {
  /** The stream. */
  scope: string;
  /** A fan-out batch (true), or a list's page. */
  crowd: boolean;
  /** For a crowd: whether it leaves chains their places now (not when it is far behind). */
  yields: () => boolean;
  /** The network's round trip now. */
  roundTripMs: number;
}

interface Waiter {
  rank: () => number;
  flow?: Flow;
  resolve: (start: number) => void;
}

interface ChainTicket {
  scope: string;
  start: number;
  /** Answered: its next request is due until then. */
  dueUntil?: number;
}

const NO_RANK = (): number => 0;
/**
 * How long an answered chain's next request is waited for, here and at the gate: its page is
 * parsed first, unless every parse place is taken; a lane that ended asks for nothing, and its
 * place goes to the crowd after this.
 */
export const NEXT_DUE_MS = 250;
/** How often crowd callers held back for chains look again. */
const CROWD_POLL_MS = 20;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
