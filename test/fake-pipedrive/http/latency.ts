import { Rng } from '../random';
import { LatencyModel } from '../types';

/**
 * Time until the client has the whole answer: a fixed part (round trip, Pipedrive's own work),
 * seeded jitter, and a part that grows with the body, because a 500-record page with custom
 * fields takes real time to build and to transfer while a five-row list does not.
 */
export class Latency {
  private model: Required<Omit<LatencyModel, 'seed'>> = { baseMs: 0, jitterMs: 0, perKbMs: 0 };
  private rng: Rng;

  constructor(
    model: LatencyModel | number | undefined,
    private readonly dataSeed: number,
  ) {
    this.rng = Rng.for('latency', dataSeed);
    this.set(model ?? 0);
  }

  /** A number is the old fixed `latencyMs`: the whole model becomes that one delay. */
  set(model: LatencyModel | number): void {
    const full = typeof model === 'number' ? { baseMs: model } : model;
    this.model = {
      baseMs: Math.max(0, full.baseMs ?? 0),
      jitterMs: Math.max(0, full.jitterMs ?? 0),
      perKbMs: Math.max(0, full.perKbMs ?? 0),
    };
    this.rng = Rng.for('latency', full.seed ?? this.dataSeed);
  }

  get current(): Required<Omit<LatencyModel, 'seed'>> {
    return { ...this.model };
  }

  /** Milliseconds for an answer of `bytes` bytes; draws from the jitter RNG only when needed. */
  delayFor(bytes: number): number {
    const { baseMs, jitterMs, perKbMs } = this.model;
    const jitter = jitterMs > 0 ? this.rng.next() * jitterMs : 0;
    return baseMs + jitter + (perKbMs * bytes) / 1024;
  }
}
