import { FakeStats, RequestLogEntry } from '../types';
import { BURST_WINDOW_MS } from './limits';

/** Counters and the request log that tests assert on. */

const MAX_LOG_ENTRIES = 250_000;

function emptyStats(): FakeStats {
  return {
    requests: 0,
    byEndpoint: {},
    tokensSpent: 0,
    responses429: 0,
    responses5xx: 0,
    faultsInjected: 0,
    maxRequestsInAnyWindow: 0,
    inFlight: 0,
    maxInFlight: 0,
  };
}

export class StatsRecorder {
  stats: FakeStats = emptyStats();
  log: RequestLogEntry[] = [];
  /** Arrival times of every request in the last window, answered or not. */
  private arrivals: number[] = [];

  arrival(nowMs: number): void {
    this.arrivals.push(nowMs);
    while (this.arrivals[0] <= nowMs - BURST_WINDOW_MS) this.arrivals.shift();
    this.stats.maxRequestsInAnyWindow = Math.max(
      this.stats.maxRequestsInAnyWindow,
      this.arrivals.length,
    );
  }

  /** A request arrived; `ended` must follow once its response is over (sent or aborted). */
  started(): void {
    this.stats.inFlight++;
    this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.stats.inFlight);
  }

  ended(): void {
    this.stats.inFlight--;
  }

  record(entry: RequestLogEntry, endpointKey: string, injectedFault: boolean): void {
    const { stats } = this;
    stats.requests++;
    const endpoint = (stats.byEndpoint[endpointKey] ??= { requests: 0, tokens: 0 });
    endpoint.requests++;
    endpoint.tokens += entry.cost;
    stats.tokensSpent += entry.cost;
    if (entry.status === 429) stats.responses429++;
    if (entry.status >= 500) stats.responses5xx++;
    if (injectedFault) stats.faultsInjected++;
    if (this.log.length < MAX_LOG_ENTRIES) this.log.push(entry);
  }

  reset(): void {
    // Requests still being answered stay counted, or `ended()` would drive the count negative.
    const { inFlight } = this.stats;
    this.stats = { ...emptyStats(), inFlight, maxInFlight: inFlight };
    this.log = [];
    this.arrivals = [];
  }
}
