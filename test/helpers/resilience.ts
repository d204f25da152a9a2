import fs from 'node:fs';
import path from 'node:path';

import { ofType, type RunResult } from './connector';
import { temporaryDirectory } from './temp';

/** Primary keys of the streams whose key is not `id`. */
const PRIMARY_KEYS: Record<string, string[]> = {
  persons_emails: ['id', 'email_value'],
  persons_phones: ['id', 'phone_value'],
  products_prices: ['id', 'currency'],
  teams_users: ['team_id', 'user_id'],
};

export function primaryKeyOf(stream: string, data: Record<string, unknown>): string {
  return (PRIMARY_KEYS[stream] ?? ['id']).map((key) => JSON.stringify(data[key])).join('|');
}

/** Per stream, per primary key: the last version of each record seen across `runs`. */
export function latestRecords(runs: RunResult[]): Map<string, Map<string, any>> {
  const result = new Map<string, Map<string, any>>();
  for (const run of runs) {
    for (const message of ofType(run, 'RECORD')) {
      const { stream, data } = message.record;
      let records = result.get(stream);
      if (!records) result.set(stream, (records = new Map()));
      records.set(primaryKeyOf(stream, data), data);
    }
  }
  return result;
}

export function keysOf(records: Map<string, Map<string, any>>, stream: string): string[] {
  return [...(records.get(stream)?.keys() ?? [])].sort();
}

export function recordCount(run: RunResult): number {
  return ofType(run, 'RECORD').length;
}

/** Everything a run printed, for secret checks. */
export function allOutput(run: { stdout: string; stderr: string }): string {
  return `${run.stdout}\n${run.stderr}`;
}

/** Writes raw text to a temporary file (for malformed JSON inputs). */
export function tempFile(name: string, text: string): string {
  const dir = temporaryDirectory('pd-resilience-');
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** Merges the last states of a run into the states Airbyte would keep (per stream, last wins). */
export function mergeStates(previous: any[] | undefined, run: RunResult): any[] {
  const byName = new Map<string, any>();
  for (const state of previous ?? []) byName.set(state.stream.stream_descriptor.name, state);
  for (const message of ofType(run, 'STATE')) {
    byName.set(message.state.stream.stream_descriptor.name, message.state);
  }
  return [...byName.values()];
}

/** Mulberry32: a small seeded RNG for reproducible kill points. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lines on stderr that look like an uncaught exception or a stack trace. */
export function stackLines(text: string): string[] {
  return text
    .split('\n')
    .filter((line) =>
      /^\s+at\s|Unhandled|UnhandledPromiseRejection|TypeError|ReferenceError/.test(line),
    );
}

/** Per stream, the keys one side has and the other lacks (streams without gaps left out). */
export function keyGaps(
  got: Map<string, Map<string, any>>,
  want: Map<string, Map<string, any>>,
  streams: string[],
): Record<string, { missing: string[]; extra: string[] }> {
  const gaps: Record<string, { missing: string[]; extra: string[] }> = {};
  for (const name of streams) {
    const have = new Set(keysOf(got, name));
    const need = new Set(keysOf(want, name));
    const missing = [...need].filter((key) => !have.has(key));
    const extra = [...have].filter((key) => !need.has(key));
    if (missing.length > 0 || extra.length > 0) gaps[name] = { missing, extra };
  }
  return gaps;
}

/**
 * Per stream, the keys whose newest version in `got` differs from `want`. A note embeds the
 * names of its deal, person and organization, which change without moving the note's
 * update_time (so no incremental read sees them: notes_update_window_days exists for that);
 * those copies are left out of the comparison.
 */
export function mismatchedRecords(
  got: Map<string, Map<string, any>>,
  want: Map<string, Map<string, any>>,
  streams: string[],
): Record<string, string[]> {
  const own = (name: string, record: any): string =>
    JSON.stringify(
      name === 'notes'
        ? Object.fromEntries(
            Object.entries(record ?? {}).filter(
              ([column]) =>
                !['deal', 'person', 'organization'].some((nested) => column.startsWith(nested)),
            ),
          )
        : record,
    );
  const out: Record<string, string[]> = {};
  for (const name of streams) {
    const mismatched = [...(want.get(name) ?? new Map()).entries()]
      .filter(([key, record]) => own(name, got.get(name)?.get(key)) !== own(name, record))
      .map(([key]) => key);
    if (mismatched.length > 0) out[name] = mismatched;
  }
  return out;
}
