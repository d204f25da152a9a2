import { toEpochSeconds } from './time';

/**
 * The fake's notion of "now". It does not tick by itself: tests move it explicitly, so that
 * update times (and the 30-day window of deleted deals) are deterministic.
 */
export class FakeClock {
  private epochSeconds: number;

  constructor(start: Date) {
    this.epochSeconds = toEpochSeconds(start);
  }

  now(): Date {
    return new Date(this.epochSeconds * 1000);
  }

  nowSeconds(): number {
    return this.epochSeconds;
  }

  advance(seconds: number): Date {
    this.epochSeconds += Math.round(seconds);
    return this.now();
  }

  set(date: Date): void {
    this.epochSeconds = toEpochSeconds(date);
  }
}
