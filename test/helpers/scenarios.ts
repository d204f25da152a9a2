import { FakePipedrive, type FakePipedriveOptions, type RequestLogEntry } from '../fake-pipedrive';
import {
  errorsOf,
  expectValidProtocol,
  ofType,
  runConnector,
  type RunOptions,
  type RunResult,
  statesOf,
} from './connector';
import { allOutput } from './resilience';

/**
 * Shared pieces of the issue-9 scenario suites (test/scenarios-*.test.ts): a fake with a token
 * of its own, configs, catalogs, and readers of what a run said and what the fake saw.
 */

export const SCENARIO_TOKEN = 'scenario-secret-token-7f3e9a1c5b2d';

/** Every run of a suite, so that it can check at the end that none printed the token. */
export const scenarioRuns: RunResult[] = [];

export async function run(command: string[], options: RunOptions = {}): Promise<RunResult> {
  // Bounded, so that a connector that loops (the old code did) fails instead of hanging jest.
  const result = await runConnector(command, { timeoutMs: 90_000, ...options });
  scenarioRuns.push(result);
  return result;
}

export function expectNoTokenPrinted(): void {
  expect(scenarioRuns.length).toBeGreaterThan(0);
  for (const result of scenarioRuns) expect(allOutput(result)).not.toContain(SCENARIO_TOKEN);
}

/**
 * A started fake. Its clock is moved two minutes past the generated data, so that every
 * generated version is provably complete when the first sync lists it (the connector remembers
 * a fanned-out version only once Pipedrive's clock is 11 s past it): per-deal call counts then
 * depend on the scenario, not on how close the data is to "now".
 */
export async function startFake(options: FakePipedriveOptions = {}): Promise<FakePipedrive> {
  const fake = new FakePipedrive({ token: SCENARIO_TOKEN, ...options });
  await fake.start();
  fake.clock.advance(120);
  return fake;
}

export const configFor = (fake: FakePipedrive, extra: Record<string, unknown> = {}) => ({
  api_token: SCENARIO_TOKEN,
  api_url: fake.url,
  max_requests_per_2_seconds: 400,
  ...extra,
});

export const incremental = (...names: string[]) =>
  names.map((name) => ({ name, syncMode: 'incremental' as const }));
export const full = (...names: string[]) =>
  names.map((name) => ({ name, syncMode: 'full_refresh' as const }));

/** Small sizes: every list fits one page, so request counts are exact. */
export const TINY = {
  users: 6,
  deals: 40,
  archivedDeals: 3,
  deletedDeals: 3,
  flowEventsPerDealMax: 3,
  productsPerDealMax: 2,
  persons: 60,
  organizations: 20,
  products: 15,
  activities: 0,
  notes: 0,
  leads: 0,
  archivedLeads: 0,
  teams: 4,
};

export const logsOf = (result: RunResult, level?: string): string[] =>
  ofType(result, 'LOG')
    .filter((m) => !level || m.log.level === level)
    .map((m) => m.log.message);

export const lastStatusOf = (result: RunResult, stream: string): any =>
  ofType(result, 'TRACE')
    .filter(
      (m) =>
        m.trace.type === 'STREAM_STATUS' && m.trace.stream_status.stream_descriptor.name === stream,
    )
    .map((m) => m.trace.stream_status)
    .pop();

/** The stream_state of the last STATE of a stream (undefined without one). */
export function finalState(result: RunResult, stream: string): any {
  return statesOf(result, stream).at(-1)?.state.stream.stream_state;
}

/** Requests the fake received whose path matches. */
export const requestsTo = (fake: FakePipedrive, path: RegExp): RequestLogEntry[] =>
  fake.requestLog.filter((entry) => path.test(entry.path));

/** Requests per templated endpoint as the fake counted them (`GET /api/v2/deals` → 1). */
export function requestCounts(fake: FakePipedrive): Record<string, number> {
  return Object.fromEntries(
    Object.entries(fake.stats.byEndpoint).map(([endpoint, stats]) => [endpoint, stats.requests]),
  );
}

/** Deal ids whose flow the fake was asked for, sorted. */
export function flowRequestIds(fake: FakePipedrive): number[] {
  return requestsTo(fake, /^\/(api\/)?v1\/deals\/\d+\/flow$/)
    .map((entry) => Number(/deals\/(\d+)\/flow/.exec(entry.path)![1]))
    .sort((a, b) => a - b);
}

/** Any of Pipedrive's time formats as RFC 3339 UTC whole seconds (the connector's positions). */
export function rfc(time: unknown): string {
  const text = String(time);
  const iso = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(text) ? `${text.replace(' ', 'T')}Z` : text;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`Not a time: ${text}`);
  return new Date(ms).toISOString().slice(0, 19) + 'Z';
}

/** An RFC 3339 time moved by `seconds` (negative: earlier). */
export function shifted(time: string, seconds: number): string {
  return new Date(Date.parse(time) + seconds * 1000).toISOString().slice(0, 19) + 'Z';
}

export const sortedIds = (rows: Array<{ id?: unknown }>): unknown[] =>
  [...new Set(rows.map((row) => row.id))].sort((a, b) =>
    typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : 1,
  );

/** The catalog of a discover run with the given streams in the given modes. */
export function discoveredCatalog(
  discover: RunResult,
  streams: Array<{ name: string; syncMode: 'full_refresh' | 'incremental' }>,
): any {
  const catalog = ofType(discover, 'CATALOG')[0]?.catalog;
  if (!catalog) throw new Error(`discover printed no CATALOG:\n${discover.stdout.slice(0, 2000)}`);
  return {
    streams: streams.map(({ name, syncMode }) => {
      const stream = catalog.streams.find((s: any) => s.name === name);
      if (!stream) throw new Error(`discover has no stream ${name}`);
      return {
        stream,
        sync_mode: syncMode,
        destination_sync_mode: syncMode === 'incremental' ? 'append_dedup' : 'overwrite',
        ...(syncMode === 'incremental' && stream.default_cursor_field
          ? { cursor_field: stream.default_cursor_field }
          : {}),
        ...(stream.source_defined_primary_key
          ? { primary_key: stream.source_defined_primary_key }
          : {}),
      };
    }),
  };
}

/** Starts fakes for one test file (seeded, with these sizes) and stops them after its tests. */
export function fakePool(
  sizes: FakePipedriveOptions['sizes'] = TINY,
): (seed: number, options?: FakePipedriveOptions) => Promise<FakePipedrive> {
  const fakes: FakePipedrive[] = [];
  afterAll(async () => {
    await Promise.all(fakes.map((fake) => fake.stop()));
  });
  return async (seed, options = {}) => {
    const fake = await startFake({ seed, sizes, ...options });
    fakes.push(fake);
    return fake;
  };
}

/** Exit 0, no error, valid protocol, and each of these streams ended COMPLETE. */
export function expectClean(result: RunResult, streams: string[]): void {
  expectValidProtocol(result);
  expect({ code: result.code, errors: errorsOf(result) }).toEqual({ code: 0, errors: [] });
  for (const name of streams) {
    expect({ name, status: lastStatusOf(result, name)?.status }).toEqual({
      name,
      status: 'COMPLETE',
    });
  }
}
