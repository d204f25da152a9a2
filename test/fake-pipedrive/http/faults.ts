import { Rng } from '../random';
import { FaultKind, RandomFaultOptions, TargetedFault } from '../types';

/**
 * Chooses the failure (if any) of a request: targeted faults from `failNext` first, in the
 * order they were queued, then random ones drawn with a seeded RNG. Faults only replace the
 * response; the data is never touched, so a retry gets the right answer.
 */

export const DEFAULT_RANDOM_FAULT_KINDS: FaultKind[] = [
  '500',
  '502',
  '503',
  '504',
  'reset',
  'truncated',
  'dataNull',
  'noData',
  'html',
];

interface TargetedRule {
  pattern: RegExp;
  fault: TargetedFault;
  remaining: number;
}

export class FaultInjector {
  private readonly rules: TargetedRule[] = [];
  private random: { rate: number; kinds: FaultKind[]; rng: Rng } | null = null;

  constructor(options: RandomFaultOptions | null | undefined, dataSeed: number) {
    this.setRandom(options, dataSeed);
  }

  setRandom(options: RandomFaultOptions | null | undefined, dataSeed: number): void {
    this.random =
      options && options.rate > 0
        ? {
            rate: options.rate,
            kinds: options.kinds?.length ? options.kinds : DEFAULT_RANDOM_FAULT_KINDS,
            rng: Rng.for('faults', options.seed ?? dataSeed),
          }
        : null;
  }

  failNext(pattern: RegExp, fault: TargetedFault, times: number): void {
    this.rules.push({ pattern, fault, remaining: times });
  }

  clear(): void {
    this.rules.length = 0;
  }

  /**
   * The fault for this request, consuming one use of a targeted rule. A rule whose fault cannot
   * change this request (`applies` says no: a cursor cycle on a pass's first page) stays queued.
   */
  next(
    pathname: string,
    pathWithQuery: string,
    applies: (fault: TargetedFault) => boolean = () => true,
  ): TargetedFault | null {
    for (let index = 0; index < this.rules.length; index++) {
      const rule = this.rules[index];
      rule.pattern.lastIndex = 0;
      const matches = rule.pattern.test(pathname) || rule.pattern.test(pathWithQuery);
      if (!matches || !applies(rule.fault)) continue;
      rule.remaining--;
      if (rule.remaining <= 0) this.rules.splice(index, 1);
      return rule.fault;
    }
    if (this.random && this.random.rng.next() < this.random.rate) {
      const kind = this.random.rng.pick(this.random.kinds);
      return applies(kind) ? kind : null;
    }
    return null;
  }
}
