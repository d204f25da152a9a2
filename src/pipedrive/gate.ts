/**
 * How many requests may be in flight at once. The burst limit caps requests per 2 s; to use
 * it over a real network the connector needs about (allowed rate × round-trip time) requests
 * in flight (Little's law), plus headroom for jitter. The gate measures the round-trip time
 * and adapts its target; callers beyond the target wait in FIFO order, so memory stays bounded
 * (each request in flight holds at most one page) and no stream can jump the queue.
 */
export class ConcurrencyGate {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  /** Smoothed round-trip time of answered requests, ms; starts as a guess for the internet. */
  private latencyMs = 300;
  private samples = 0;

  constructor(
    /** Upper bound of the target (max_concurrent_requests). */
    private readonly cap: number,
    /** Requests per second currently allowed (the burst limit / 2 s). */
    private readonly allowedPerSecond: () => number,
  ) {}

  /** Requests that may be in flight now. */
  get target(): number {
    // Before the first answer nothing is known: start small rather than send a burst.
    if (this.samples === 0) return Math.min(this.cap, 4);
    const needed = Math.ceil(this.allowedPerSecond() * (this.latencyMs / 1000) * 1.5) + 2;
    // The cap wins: max_concurrent_requests promises "never more than this", 1 included.
    return Math.min(this.cap, Math.max(2, needed));
  }

  get inFlight(): number {
    return this.active;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Free places: positive when more concurrent work would be served at once. */
  get spare(): number {
    return this.target - this.active - this.waiters.length;
  }

  get roundTripMs(): number {
    return this.latencyMs;
  }

  async acquire(): Promise<void> {
    if (this.active < this.target && this.waiters.length === 0) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    this.active--;
    this.wake();
  }

  /** Records the round-trip time of one answered request. */
  observe(ms: number): void {
    if (!(ms >= 0)) return;
    // A fast start (the first samples count fully), then a slow average that rides out jitter.
    this.samples++;
    const weight = this.samples <= 4 ? 1 / this.samples : 0.1;
    this.latencyMs += (ms - this.latencyMs) * weight;
    this.wake();
  }

  private wake(): void {
    while (this.waiters.length > 0 && this.active < this.target) {
      this.active++;
      this.waiters.shift()!();
    }
  }
}
