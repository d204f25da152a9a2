import { type EventLoopUtilization, performance } from 'node:perf_hooks';

import { indexOfLowest } from '../concurrency';
import { NEXT_DUE_MS } from './rate-limiter';

/** How often the gate looks at how busy this process is. */
const CPU_SAMPLE_MS = 250;
/** Above this share of busy event loop the process, not the network, is the bottleneck. */
const BUSY = 0.95;
/** Below this there is CPU to spare for more requests in flight. */
const IDLE = 0.8;
/** Weight of one CPU sample in the smoothed busy share (about half a second's memory). */
const BUSY_WEIGHT = 0.5;
/** The network's own latency is the shortest of this many recent round trips. */
const RECENT_ROUND_TRIPS = 32;
/** Before the first answer: requests for this share of a second of the allowed rate. */
const FIRST_SECONDS = 0.4;
const MIN_TARGET = 2;
/** The most requests in flight before the first answer (when the burst limit allows them). */
const FIRST_TARGET = 24;

/**
 * How many requests may be in flight at once. The burst limit caps requests per 2 s; to use
 * it over a real network the connector needs about (allowed rate × round-trip time) requests
 * in flight (Little's law), plus headroom for jitter. The gate measures the round-trip time
 * and adapts its target; callers beyond the target wait, and memory stays bounded (each
 * request in flight holds at most one page).
 *
 * Who goes first when a place frees: the waiter whose scope (stream) holds the fewest places,
 * the earliest of equals. A list read page after page is a chain (each page asks for the next
 * once it is answered) and a fan-out is a crowd (a page of deals asks for five batches at
 * once); served in arrival order, every page of the chain would queue behind the crowd, and the
 * one-lane stream would finish long after the rest, alone on the wire. Served by load, a chain
 * moves at the pace of the network and the crowd fills the places left.
 *
 * A crowd's requests (scopes marked with `markCrowd`: fan-out children, one call per batch of
 * parents) also leave the chains their places. A chain's request in flight comes back and asks
 * for its next page at once, so a place a chain gives back stays kept for it a moment
 * (NEXT_DUE_MS) instead of going to a waiting batch, and at the rolling-window limiter a
 * batch leaves only when the window keeps room for the next request of every chain under way
 * (see RollingWindowLimiter.acquire). Otherwise batches of deal products, triggered by the
 * deals pages that come back first in a round trip, take the window's places before the other
 * lists' answers are in, and every list moves one round trip later: its chain is the sync's
 * critical path, the crowd is not (the batches of all but the last pages can go in any round
 * trip).
 *
 * When this process itself is the bottleneck (its event loop is busy parsing and writing), a
 * longer round trip only means answers wait for the CPU: more requests in flight would only
 * pile up parsed pages. The gate then lowers its ceiling (multiplicatively) and raises it
 * again slowly once there is CPU to spare.
 */
export class ConcurrencyGate {
  private active = 0;
  private readonly waiters: Array<{ scope: string; resolve: () => void }> = [];
  /** Places held per scope. */
  private readonly held = new Map<string, number>();
  /** Scopes whose requests are a crowd (fan-out batches): they leave chains their places. */
  private readonly crowds = new Set<string>();
  /** Places chains gave back and may take again first, oldest first (see NEXT_DUE_MS). */
  private readonly kept: Array<{ scope: string; until: number }> = [];
  private samples = 0;
  /** The shortest round trip seen since the start. */
  private shortestMs = Infinity;
  /** The last RECENT_ROUND_TRIPS round trips (a ring). */
  private readonly recent: number[] = [];
  private recentNext = 0;
  /**
   * The network's latency: the shortest recent round trip. Not their mean: when this process
   * is busy, answers wait for its event loop and every round trip grows; a target from the mean
   * then grows with the wait, more requests pile up behind the CPU, and the wait grows again.
   * The shortest of a few dozen is an answer that found the loop free (jitter is what the
   * headroom of the target is for).
   */
  private networkMs = 300;
  /** Smoothed share of busy event loop. */
  private busy = 0;
  /** The ceiling the CPU allows (AIMD on event-loop utilisation). */
  private cpuCeiling: number;
  private lastCpuSample = 0;

  constructor(
    /** Upper bound of the target (max_concurrent_requests). */
    private readonly cap: number,
    /** Requests per second currently allowed (the burst limit / 2 s). */
    private readonly allowedPerSecond: () => number,
    /** The share of time this process's event loop was busy since the last call. */
    private readonly loopBusy: () => number = eventLoopBusy(),
  ) {
    this.cpuCeiling = cap;
  }

  /** Requests that may be in flight now. */
  get target(): number {
    // Before the first answer nothing is known: enough for a sync's first calls (field
    // definitions and the first page of each list) to leave together, which saves a whole
    // round trip on a slow network, and not a burst. (A quarter of the burst limit was tried:
    // on a fast network the burst's own queueing made the first round trips look slow, lanes
    // split, and a full sync took 2-7% more pages.)
    if (this.samples === 0) {
      return Math.min(
        this.cap,
        Math.max(4, Math.min(FIRST_TARGET, Math.ceil(this.allowedPerSecond() * FIRST_SECONDS))),
      );
    }
    const needed = Math.ceil(this.allowedPerSecond() * (this.networkMs / 1000) * 2) + 4;
    // The cap wins: max_concurrent_requests promises "never more than this", 1 included.
    return Math.min(this.cap, Math.max(MIN_TARGET, Math.min(this.cpuCeiling, needed)));
  }

  get inFlight(): number {
    return this.active;
  }

  /** Requests of `scope` are a crowd (fan-out batches): they leave chains their places. */
  markCrowd(scope: string): void {
    this.crowds.add(scope);
  }

  isCrowd(scope: string): boolean {
    return this.crowds.has(scope);
  }

  /** The network's round trip: the shortest of the recent ones (300 ms before any). */
  get roundTripMs(): number {
    return this.networkMs;
  }

  /** The shortest round trip seen so far (Infinity before the first answer). */
  get shortestRoundTripMs(): number {
    return this.shortestMs;
  }

  /** Requests of `scope` holding a place or waiting for one. */
  backlog(scope: string): number {
    let waiting = 0;
    for (const waiter of this.waiters) if (waiter.scope === scope) waiting++;
    return this.load(scope) + waiting;
  }

  /** Places the requests of `scope` hold now (granted and not released). */
  load(scope: string): number {
    return this.held.get(scope) ?? 0;
  }

  async acquire(scope = ''): Promise<void> {
    const first = this.waiters.length === 0 || this.load(scope) === 0 || this.keptFor(scope) >= 0;
    if (first && this.mayTake(scope)) {
      this.take(scope);
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push({ scope, resolve }));
  }

  release(scope = ''): void {
    this.active--;
    const held = (this.held.get(scope) ?? 1) - 1;
    if (held > 0) this.held.set(scope, held);
    else this.held.delete(scope);
    if (!this.crowds.has(scope)) this.keep(scope);
    this.wake();
  }

  private take(scope: string): void {
    this.active++;
    this.held.set(scope, (this.held.get(scope) ?? 0) + 1);
    if (!this.crowds.has(scope)) {
      const kept = this.keptFor(scope);
      if (kept >= 0) this.kept.splice(kept, 1);
    }
  }

  /** Keeps the place a chain gave back for its next page, for a moment. */
  private keep(scope: string): void {
    if (this.crowds.size === 0) return; // nobody to keep it from
    this.kept.push({ scope, until: Date.now() + NEXT_DUE_MS });
    setTimeout(() => this.wake(), NEXT_DUE_MS + 1).unref();
  }

  /** Index of a place kept for scope (-1: none); forgets the ones whose moment has passed. */
  private keptFor(scope: string): number {
    this.expireKept();
    return this.kept.findIndex((entry) => entry.scope === scope);
  }

  private keptCount(): number {
    this.expireKept();
    return this.kept.length;
  }

  private expireKept(): void {
    const now = Date.now();
    while (this.kept.length > 0 && this.kept[0].until <= now) this.kept.shift();
  }

  /** Records the round-trip time of one answered request. */
  observe(ms: number, now = Date.now()): void {
    if (!(ms >= 0)) return;
    this.samples++;
    this.shortestMs = Math.min(this.shortestMs, ms);
    if (this.recent.length < RECENT_ROUND_TRIPS) this.recent.push(ms);
    else this.recent[this.recentNext] = ms;
    this.recentNext = (this.recentNext + 1) % RECENT_ROUND_TRIPS;
    this.networkMs = Math.min(...this.recent);
    if (now - this.lastCpuSample >= CPU_SAMPLE_MS) this.sampleCpu(now);
    this.wake();
  }

  private sampleCpu(now: number): void {
    this.lastCpuSample = now;
    // Smoothed over two samples or so: answers come in clusters (the burst limit sends
    // requests in clusters), and one 250 ms of parsing a cluster is no sign of a CPU-bound
    // process; cut on every such sample, the ceiling held 800 ms x 120 at 46 requests in flight
    // while the loop was 75% busy. (A smoothed share once let the target grow on a CPU-bound
    // sync, when the target came from the mean round trip, inflated by the loop's own waits.)
    const busy = (this.busy += (this.loopBusy() - this.busy) * BUSY_WEIGHT);
    if (busy > BUSY) {
      this.cpuCeiling = Math.max(
        MIN_TARGET * 2,
        Math.floor(Math.min(this.cpuCeiling, this.active) * 0.9),
      );
    } else if (busy < IDLE) {
      this.cpuCeiling = Math.min(this.cap, this.cpuCeiling + 2);
    }
  }

  /**
   * Whether scope may have one more place now: under the target, or, for a stream with no
   * request in flight, under max_concurrent_requests. The target follows the round trip and
   * the CPU and can shrink under a crowd of slow requests that holds every place (a fan-out
   * whose batches take seconds); a list asking for its next page would then wait for the
   * crowd's answers, one place each. Before the first answer the target alone holds, so that
   * a sync's first calls are not a burst.
   */
  private mayTake(scope: string): boolean {
    const crowd = this.crowds.has(scope);
    // A crowd leaves the places kept for chains; a chain takes its own kept place back.
    if (this.active < this.target - (crowd ? this.keptCount() : 0)) return true;
    if (!crowd && this.keptFor(scope) >= 0 && this.active < this.cap) return true;
    return this.samples > 0 && this.load(scope) === 0 && this.active < this.cap;
  }

  private wake(): void {
    while (this.waiters.length > 0 && this.active < this.target) {
      const best = indexOfLowest(this.waiters, (waiter) =>
        this.mayTake(waiter.scope) ? this.load(waiter.scope) : Infinity,
      );
      const [waiter] = this.waiters.splice(best, 1);
      if (!this.mayTake(waiter.scope)) {
        this.waiters.splice(best, 0, waiter);
        break;
      }
      this.take(waiter.scope);
      waiter.resolve();
    }
    // Then, past the target, the first waiter of each stream that holds none (see mayTake).
    for (let index = 0; index < this.waiters.length;) {
      const waiter = this.waiters[index];
      if (!this.mayTake(waiter.scope)) {
        index++;
        continue;
      }
      this.waiters.splice(index, 1);
      this.take(waiter.scope);
      waiter.resolve();
    }
  }
}

/** Busy share of the event loop between calls (Node's event-loop utilisation). */
function eventLoopBusy(): () => number {
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const current = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(current, last).utilization;
    last = current;
    return busy;
  };
}
