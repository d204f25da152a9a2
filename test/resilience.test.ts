import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { FakePipedrive, type FakePipedriveOptions } from './fake-pipedrive';
import {
  configuredCatalog,
  errorsOf,
  expectValidProtocol,
  lastStates,
  ofType,
  recordsOf,
  runConnector,
  type RunOptions,
  type RunResult,
  statesOf,
  statusesOf,
} from './helpers/connector';
import {
  allOutput,
  keysOf,
  latestRecords,
  mergeStates,
  stackLines,
  tempFile,
} from './helpers/resilience';

/**
 * Production resilience through bin/main against the fake Pipedrive over real HTTP: random
 * outages, the burst limit, the daily token budget, per-stream errors, broken shapes and bad
 * input. Every run's stdout and stderr are kept and searched for the token at the end.
 */

const TOKEN = 'resilience-secret-token-4c1d2e3f5a6b';
const runs: RunResult[] = [];

async function run(command: string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await runConnector(command, options);
  runs.push(result);
  return result;
}

async function startFake(options: FakePipedriveOptions): Promise<FakePipedrive> {
  const fake = new FakePipedrive({ token: TOKEN, ...options });
  await fake.start();
  return fake;
}

const configFor = (fake: FakePipedrive, extra: Record<string, unknown> = {}) => ({
  api_token: TOKEN,
  api_url: fake.url,
  max_requests_per_2_seconds: 400,
  ...extra,
});

const incremental = (...names: string[]) =>
  names.map((name) => ({ name, syncMode: 'incremental' as const }));

const SMALL = {
  deals: 60,
  archivedDeals: 5,
  deletedDeals: 5,
  persons: 120,
  organizations: 40,
  activities: 150,
  notes: 120,
  products: 10,
  leads: 0,
  archivedLeads: 0,
  flowEventsPerDealMax: 3,
};

const logsOf = (result: RunResult, level?: string): string[] =>
  ofType(result, 'LOG')
    .filter((m) => !level || m.log.level === level)
    .map((m) => m.log.message);

const lastStatusOf = (result: RunResult, stream: string): any =>
  ofType(result, 'TRACE')
    .filter(
      (m) =>
        m.trace.type === 'STREAM_STATUS' && m.trace.stream_status.stream_descriptor.name === stream,
    )
    .map((m) => m.trace.stream_status)
    .pop();

/** No stack trace anywhere: not in TRACE errors, not in logs, not on stderr. */
function expectNoStackTrace(result: RunResult): void {
  for (const error of errorsOf(result)) expect(error.stack_trace).toBeUndefined();
  for (const log of ofType(result, 'LOG')) expect(log.log.stack_trace).toBeUndefined();
  expect(stackLines(result.stderr)).toEqual([]);
  expect(result.messages.filter((m) => m.__unparsable)).toEqual([]);
}

/** Per stream: the same primary keys and the same values (emitted_at aside). */
function expectSameRecords(actual: RunResult[], expected: RunResult[], streams: string[]): void {
  const got = latestRecords(actual);
  const want = latestRecords(expected);
  for (const name of streams) {
    expect({ name, keys: keysOf(got, name) }).toEqual({ name, keys: keysOf(want, name) });
    const differing = [...(want.get(name) ?? new Map()).entries()]
      .filter(([key, record]) => JSON.stringify(got.get(name)?.get(key)) !== JSON.stringify(record))
      .map(([key]) => key);
    expect({ name, differing }).toEqual({ name, differing: [] });
  }
}

// ---- rate limits: slow by nature (requests are spaced), so they run in the background -------------

interface LimitScenario {
  fake: FakePipedrive;
  result: Promise<RunResult>;
}

let atTheLimit: LimitScenario;
let serverBelowConfig: LimitScenario;
let burst429s: LimitScenario;
let clear429s: LimitScenario;

async function limitScenario(
  serverLimit: number | null,
  configured: number,
  deals: number,
  prepare: (fake: FakePipedrive) => void = () => undefined,
): Promise<LimitScenario> {
  const fake = await startFake({
    seed: 5,
    burstLimit: serverLimit,
    sizes: { ...SMALL, deals, flowEventsPerDealMax: 2 },
  });
  prepare(fake);
  const result = run(['read'], {
    config: configFor(fake, { max_requests_per_2_seconds: configured }),
    catalog: configuredCatalog(['users', 'stages', ...incremental('deals', 'deals_flow')]),
    timeoutMs: 100_000,
  });
  return { fake, result };
}

const limitScenarios = () => [atTheLimit, serverBelowConfig, burst429s, clear429s];

beforeAll(async () => {
  atTheLimit = await limitScenario(20, 20, 130);
  // The fake measures request arrivals in this process: let this one run alone, or other
  // scenarios' work here delays the fake's bookkeeping and bunches arrivals that were apart.
  await atTheLimit.result;
  serverBelowConfig = await limitScenario(10, 20, 45);
  // Two burst 429s in a row (the fake's window headers say when it frees up).
  burst429s = await limitScenario(1000, 400, 20, (fake) =>
    fake.failNext(/^\/api\/v1\/users$/, 429, 2),
  );
  // 429s again and again while the connector sent next to nothing: another client on the token.
  clear429s = await limitScenario(null, 400, 20, (fake) =>
    fake.failNext(/^\/api\/v1\/users$/, 429, 3),
  );
});

afterAll(async () => {
  await Promise.all(limitScenarios().map((scenario) => scenario?.fake.stop()));
});

// ---- 1. random outages ------------------------------------------------------------------------

describe('random faults on 10% of responses', () => {
  let fake: FakePipedrive;
  const streams = [
    ...incremental(
      'deals',
      'deal_products',
      'deals_flow',
      'persons',
      'persons_emails',
      'organizations',
      'activities',
      'notes',
    ),
    'users',
    'pipelines',
    'stages',
    'activity_types',
    'deal_fields',
  ];
  const names = streams.map((entry) => (typeof entry === 'string' ? entry : entry.name));

  beforeAll(async () => {
    fake = await startFake({ seed: 3, sizes: SMALL });
  });
  afterAll(() => fake.stop());

  test('the read completes and emits exactly what a fault-free read does', async () => {
    const catalog = configuredCatalog(streams);
    const clean = await run(['read'], { config: configFor(fake), catalog });
    expect(clean.code).toBe(0);

    fake.resetStats();
    fake.setRandomFaults({
      rate: 0.1,
      seed: 99,
      kinds: ['500', '502', '503', '504', 'reset', 'truncated', 'html', 'noData'],
    });
    const faulty = await run(['read'], { config: configFor(fake), catalog });
    fake.setRandomFaults(null);

    expect(fake.stats.faultsInjected).toBeGreaterThanOrEqual(5);
    expect(faulty.code).toBe(0);
    expectValidProtocol(faulty);
    expectNoStackTrace(faulty);
    expect(errorsOf(faulty)).toEqual([]);
    for (const name of names) {
      expect({ name, statuses: statusesOf(faulty, name) }).toEqual({
        name,
        statuses: ['STARTED', 'RUNNING', 'COMPLETE'],
      });
      // No page twice, no page missing.
      expect({ name, count: recordsOf(faulty, name).length }).toEqual({
        name,
        count: recordsOf(clean, name).length,
      });
    }
    expectSameRecords([faulty], [clean], names);
    expect(logsOf(faulty, 'WARN').some((m) => /retrying in/.test(m))).toBe(true);
    expect(logsOf(faulty).some((m) => /Sync used \d+ requests and \d+ API tokens/.test(m))).toBe(
      true,
    );
  });

  test('a request that times out is retried', async () => {
    const slow = await startFake({ seed: 3, sizes: SMALL, slowMs: 3000 });
    try {
      slow.failNext(/\/v1\/users$/, 'slow', 2);
      const result = await run(['read'], {
        config: configFor(slow),
        catalog: configuredCatalog(['users']),
        env: { PIPEDRIVE_TIMEOUT_MS: '300' },
      });
      expect(result.code).toBe(0);
      expect(recordsOf(result, 'users').length).toBe(slow.count('users'));
      expect(logsOf(result, 'WARN').filter((m) => /users.*retrying/.test(m))).toHaveLength(2);
      expectNoStackTrace(result);
    } finally {
      await slow.stop();
    }
  });
});

/** The most requests the connector had in flight, as its sync summary says. */
function connectorInFlight(result: RunResult): number {
  const summary = logsOf(result, 'INFO').find((m) => /^Sync used/.test(m)) ?? '';
  const match = /at most (\d+) in flight/.exec(summary);
  if (!match) throw new Error(`No sync summary with requests in flight: ${summary}`);
  return Number(match[1]);
}

// ---- 2. burst limit ---------------------------------------------------------------------------

describe('burst limit', () => {
  test('at the limit (20 per 2 s, configured 20): the fake never sees more than 20 in a window', async () => {
    const { fake } = atTheLimit;
    const result = await atTheLimit.result;
    expect(result.code).toBe(0);
    expectValidProtocol(result);
    expect(fake.stats.requests).toBeGreaterThan(130);
    expect(fake.stats.maxRequestsInAnyWindow).toBeLessThanOrEqual(20);
    expect(fake.stats.responses429).toBeLessThanOrEqual(1);
    expect(recordsOf(result, 'deals').length).toBe(fake.count('deals'));
    expect(statusesOf(result, 'deals_flow')).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
  });

  test('a server limit below the configured one (10 vs 20): the client adapts, no hammering', async () => {
    const { fake } = serverBelowConfig;
    const result = await serverBelowConfig.result;
    expect(result.code).toBe(0);
    expect(errorsOf(result)).toEqual([]);
    expect(recordsOf(result, 'deals').length).toBe(fake.count('deals'));
    expect(statusesOf(result, 'deals_flow')).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
    // A few 429s while learning the real limit, then none.
    expect(fake.stats.responses429).toBeLessThanOrEqual(10);
    expect(fake.stats.maxRequestsInAnyWindow).toBeLessThanOrEqual(20);
    const log = fake.requestLog;
    const first429 = log.findIndex((entry) => entry.status === 429);
    if (first429 >= 0) {
      const later = log.slice(first429).filter((entry) => entry.status === 429);
      expect(later.length).toBeLessThanOrEqual(10);
    }
  });
});

describe('429 handling', () => {
  test('a burst 429 waits x-ratelimit-reset seconds, then retries', async () => {
    const { fake } = burst429s;
    const result = await burst429s.result;
    expect(result.code).toBe(0);
    expect(errorsOf(result)).toEqual([]);
    const users = fake.requestLog.filter((entry) => entry.path === '/api/v1/users');
    expect(users.map((entry) => entry.status)).toEqual([429, 429, 200]);
    // x-ratelimit-reset is relative: "2" means two seconds from the answer, not 1970.
    for (let i = 1; i < users.length; i++) {
      expect(users[i].t - users[i - 1].t).toBeGreaterThanOrEqual(1500);
      expect(users[i].t - users[i - 1].t).toBeLessThan(5000);
    }
    const waits = logsOf(result, 'WARN').filter((m) => /burst rate limit.*retrying in/.test(m));
    expect(waits).toHaveLength(2);
  });

  test('repeated 429s while our window is clear are not the daily budget: back off, say so, retry', async () => {
    const { fake } = clear429s;
    const result = await clear429s.result;
    expect(result.code).toBe(0);
    expectValidProtocol(result);
    expect(errorsOf(result)).toEqual([]);
    const users = fake.requestLog.filter((entry) => entry.path === '/api/v1/users');
    expect(users.map((entry) => entry.status)).toEqual([429, 429, 429, 200]);
    // Each wait is at least the reset (2 s without headers) and grows.
    const gaps = users.slice(1).map((entry, i) => entry.t - users[i].t);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(1500);
    const warnings = logsOf(result, 'WARN').filter((m) => /another client/.test(m));
    expect(warnings).toHaveLength(3);
    expect(statusesOf(result, 'users')).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
  });
});

// ---- 3. daily budget --------------------------------------------------------------------------

describe('daily token budget', () => {
  const streams = [
    'users',
    'stages',
    ...incremental('persons', 'deals', 'deal_products', 'deals_flow', 'activities', 'notes'),
  ];
  const names = streams.map((entry) => (typeof entry === 'string' ? entry : entry.name));
  const catalog = configuredCatalog(streams);

  async function budgetScenario(options: FakePipedriveOptions) {
    // Enough deals that their flow calls (40 tokens each) take several checkpoints.
    const fake = await startFake({ seed: 13, sizes: { ...SMALL, deals: 260 }, ...options });
    const clean = await run(['read'], { config: configFor(fake), catalog });
    expect(clean.code).toBe(0);
    const fullCost = fake.dailyTokensSpent;
    fake.setDailyBudget(Math.floor(fullCost / 2));
    fake.resetDailyBudget();
    fake.resetStats();
    const stopped = await run(['read'], { config: configFor(fake), catalog });
    return { fake, clean, stopped, fullCost };
  }

  test('runs out mid-sync: a clean stop, then a resume loses nothing', async () => {
    const { fake, clean, stopped, fullCost } = await budgetScenario({});
    try {
      expect(stopped.code).not.toBe(0);
      expectValidProtocol(stopped);
      expectNoStackTrace(stopped);
      const errors = errorsOf(stopped);
      expect(errors).toHaveLength(1);
      expect(errors[0].failure_type).toBe('transient_error');
      expect(errors[0].message).toMatch(/daily API token budget/);
      expect(errors[0].message).toMatch(/resets? at .*\d{4}-\d\d-\d\dT\d\d:\d\d/);
      // Never hammer: at most a request or two once the budget is gone.
      const log = fake.requestLog;
      const first429 = log.findIndex((entry) => entry.status === 429);
      const afterFirst = first429 < 0 ? 0 : log.length - first429 - 1;
      expect(afterFirst).toBeLessThanOrEqual(2);
      expect(fake.stats.responses429).toBeLessThanOrEqual(2);
      expect(fake.dailyTokensSpent).toBeLessThan(fullCost);
      // Every stream has a state; the unfinished ones are INCOMPLETE, rate limited.
      let incomplete = 0;
      for (const name of names) {
        expect({ name, states: statesOf(stopped, name).length > 0 }).toEqual({
          name,
          states: true,
        });
        const status = lastStatusOf(stopped, name);
        if (status.status === 'INCOMPLETE') {
          incomplete++;
          expect(status.reasons?.[0]?.type).toBe('RATE_LIMITED');
          expect(typeof status.reasons[0].rate_limited.quota_reset).toBe('number');
        } else {
          expect({ name, status: status.status }).toEqual({ name, status: 'COMPLETE' });
        }
      }
      expect(incomplete).toBeGreaterThan(0);
      expect(lastStatusOf(stopped, 'users').status).toBe('COMPLETE');
      // Requests and tokens are logged per stream and for the sync.
      expect(logsOf(stopped).some((m) => /^Finished .*\d+ requests, \d+ API tokens/.test(m))).toBe(
        true,
      );
      expect(
        logsOf(stopped).some((m) => /^Sync used \d+ requests and \d+ API tokens/.test(m)),
      ).toBe(true);

      // Midnight: a fresh budget (the same size). Resuming from the last states day after day
      // finishes the job.
      const days = [stopped];
      let state = lastStates(stopped);
      for (let day = 0; day < 5 && days[days.length - 1].code !== 0; day++) {
        fake.resetDailyBudget();
        const resumed = await run(['read'], { config: configFor(fake), catalog, state });
        expectValidProtocol(resumed);
        for (const error of errorsOf(resumed)) expect(error.message).toMatch(/daily API token/);
        state = mergeStates(state, resumed);
        days.push(resumed);
      }
      expect(days[days.length - 1].code).toBe(0);
      expect(days.length).toBeGreaterThanOrEqual(2);
      const union = latestRecords(days);
      const truth = latestRecords([clean]);
      for (const name of names) {
        expect({ name, keys: keysOf(union, name) }).toEqual({ name, keys: keysOf(truth, name) });
      }
    } finally {
      await fake.stop();
    }
  });

  test('without the daily-budget headers, the 429 body is enough; no Cloudflare block', async () => {
    const { fake, stopped } = await budgetScenario({
      sendDailyBudgetHeaders: false,
      blockAfterBudget429s: 12,
    });
    try {
      expect(stopped.code).not.toBe(0);
      const errors = errorsOf(stopped);
      expect(errors).toHaveLength(1);
      expect(errors[0].failure_type).toBe('transient_error');
      expect(errors[0].message).toMatch(/daily API token budget/);
      // Only the requests already in flight when the first 429 came back.
      expect(fake.stats.responses429).toBeLessThanOrEqual(connectorInFlight(stopped) + 1);
      expect(fake.requestLog.some((entry) => entry.status === 403)).toBe(false);
    } finally {
      await fake.stop();
    }
  });
});

// ---- 5. errors --------------------------------------------------------------------------------

describe('errors on one stream or the account', () => {
  let fake: FakePipedrive;
  const catalog = configuredCatalog([
    'users',
    'stages',
    ...incremental('organizations', 'persons', 'deals', 'deals_flow', 'notes'),
  ]);
  const names = ['users', 'stages', 'organizations', 'persons', 'deals', 'deals_flow', 'notes'];
  const read = (state?: unknown) => run(['read'], { config: configFor(fake), catalog, state });

  beforeAll(async () => {
    fake = await startFake({ seed: 17, sizes: { ...SMALL, persons: 600 } });
  });
  afterEach(() => fake.clearFaults());
  afterAll(() => fake.stop());

  const expectOthersComplete = (result: RunResult, failed: string): void => {
    for (const name of names.filter((n) => n !== failed)) {
      expect({ name, statuses: statusesOf(result, name) }).toEqual({
        name,
        statuses: ['STARTED', 'RUNNING', 'COMPLETE'],
      });
    }
  };

  test('a 500 storm on one endpoint fails that stream only, naming endpoint and status', async () => {
    fake.resetStats();
    fake.failNext(/^\/api\/v2\/persons$/, 500, 1000);
    const result = await read();
    expect(result.code).toBe(1);
    expectValidProtocol(result);
    expectNoStackTrace(result);
    const errors = errorsOf(result);
    expect(errors).toHaveLength(1);
    expect(errors[0].failure_type).toBe('transient_error');
    expect(errors[0].stream_descriptor).toEqual({ name: 'persons' });
    expect(errors[0].message).toMatch(/\/v2\/persons/);
    expect(errors[0].message).toMatch(/500/);
    expect(statusesOf(result, 'persons')).toEqual(['STARTED', 'RUNNING', 'INCOMPLETE']);
    expect(statesOf(result, 'persons').length).toBeGreaterThan(0);
    expectOthersComplete(result, 'persons');
    // Bounded retries: no more than the attempt limit (plus a prefetch).
    expect(fake.stats.byEndpoint['GET /api/v2/persons'].requests).toBeLessThanOrEqual(8);
  });

  test('403 on one endpoint: that stream fails with a config_error naming the permission', async () => {
    fake.denyPermission('/api/v1/notes');
    try {
      const result = await read();
      expect(result.code).toBe(1);
      expectNoStackTrace(result);
      const errors = errorsOf(result);
      expect(errors).toHaveLength(1);
      expect(errors[0].failure_type).toBe('config_error');
      expect(errors[0].stream_descriptor).toEqual({ name: 'notes' });
      expect(errors[0].message).toMatch(/permission/i);
      expect(errors[0].message).toMatch(/\/v1\/notes/);
      expect(statusesOf(result, 'notes')).toEqual(['STARTED', 'RUNNING', 'INCOMPLETE']);
      expectOthersComplete(result, 'notes');
    } finally {
      fake.allowPermission('/api/v1/notes');
    }
  });

  /** Live deals (neither deleted nor archived) that have flow events. */
  const dealsWithFlow = (): number[] =>
    fake
      .list('deals')
      .filter((deal) => deal.status !== 'deleted' && deal.is_archived !== true)
      .map((deal) => deal.id as number)
      .filter((id) => (fake.flowOf(id)?.length ?? 0) > 0);

  test('404/410 on a deal flow (deal deleted meanwhile): skipped with a warning', async () => {
    const [gone404, gone410, other] = dealsWithFlow();
    fake.failNext(new RegExp(`^/api/v1/deals/${gone404}/flow$`), 404, 1);
    fake.failNext(new RegExp(`^/api/v1/deals/${gone410}/flow$`), 410, 1);
    const result = await read();
    expect(result.code).toBe(0);
    expect(errorsOf(result)).toEqual([]);
    const warnings = logsOf(result, 'WARN');
    expect(warnings.some((m) => m.includes(`Deal ${gone404} is gone (404)`))).toBe(true);
    expect(warnings.some((m) => m.includes(`Deal ${gone410} is gone (410)`))).toBe(true);
    expect(statusesOf(result, 'deals_flow')).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
    const flowDeals = new Set(recordsOf(result, 'deals_flow').map((row) => row.deal_id));
    expect(flowDeals.has(gone404)).toBe(false);
    expect(flowDeals.has(other)).toBe(true);
  });

  test('403 on the flow endpoint fails deals_flow only; deals read on; few requests after', async () => {
    fake.resetStats();
    fake.failNext(/^\/api\/v1\/deals\/\d+\/flow$/, 403, 10_000);
    const result = await read();
    expect(result.code).toBe(1);
    expectValidProtocol(result);
    expectNoStackTrace(result);
    const errors = errorsOf(result);
    expect(errors).toHaveLength(1);
    expect(errors[0].failure_type).toBe('config_error');
    expect(errors[0].stream_descriptor).toEqual({ name: 'deals_flow' });
    expect(errors[0].message).toMatch(/permission.*\/v1\/deals\/\{id\}\/flow/i);
    expect(statusesOf(result, 'deals_flow')).toEqual(['STARTED', 'RUNNING', 'INCOMPLETE']);
    expectOthersComplete(result, 'deals_flow');
    expect(recordsOf(result, 'deals').length).toBe(fake.count('deals'));
    // The fan-out stops at the first refusal: only the calls already in flight follow it.
    const flowCalls = fake.stats.byEndpoint['GET /api/v1/deals/{id}/flow'].requests;
    expect(flowCalls).toBeLessThanOrEqual(connectorInFlight(result) + 1);
    expect(flowCalls).toBeLessThan(100);
  });

  test('a 500 storm on one deal flow: deals_flow INCOMPLETE, resumable; deals COMPLETE', async () => {
    const [broken] = dealsWithFlow();
    fake.failNext(new RegExp(`^/api/v1/deals/${broken}/flow$`), 500, 1000);
    const result = await read();
    expect(result.code).toBe(1);
    const errors = errorsOf(result);
    expect(errors).toHaveLength(1);
    expect(errors[0].failure_type).toBe('transient_error');
    expect(errors[0].stream_descriptor).toEqual({ name: 'deals_flow' });
    expect(errors[0].message).toMatch(/500 for GET \/v1\/deals\/\{id\}\/flow/);
    expect(statusesOf(result, 'deals_flow')).toEqual(['STARTED', 'RUNNING', 'INCOMPLETE']);
    expectOthersComplete(result, 'deals_flow');
    fake.clearFaults();
    const resumed = await read(lastStates(result));
    expect(resumed.code).toBe(0);
    const events = (r: RunResult) => recordsOf(r, 'deals_flow').filter((e) => e.deal_id === broken);
    expect(events(result)).toHaveLength(0);
    expect(events(resumed)).toHaveLength(fake.flowOf(broken)!.length);
  });

  test.each([
    [402, /account is not open/, 'persons'],
    [401, /API token is invalid or revoked/, 'organizations'],
  ])('%i mid-sync stops the sync with a config_error', async (status, message, endpoint) => {
    fake.resetStats();
    fake.failNext(new RegExp(`^/api/v2/${endpoint}$`), status, 1);
    const result = await read();
    expect(result.code).toBe(1);
    expectValidProtocol(result);
    expectNoStackTrace(result);
    const errors = errorsOf(result);
    expect(errors).toHaveLength(1);
    expect(errors[0].failure_type).toBe('config_error');
    expect(errors[0].message).toMatch(message);
    expect(statusesOf(result, endpoint)).toEqual(['STARTED', 'RUNNING', 'INCOMPLETE']);
    // Streams run concurrently: each ends COMPLETE (done before the refusal) or INCOMPLETE.
    for (const name of names) {
      expect(statesOf(result, name).length).toBeGreaterThan(0);
      expect(['COMPLETE', 'INCOMPLETE']).toContain(statusesOf(result, name).at(-1));
    }
    // Nothing is asked of Pipedrive after the account said no, but what was already in flight,
    // and what replaced answers that came while the refusal was on its way to the connector (at
    // most one per slot). Without the stop, the rest of the sync would follow: far more.
    const log = fake.requestLog;
    const refused = log.findIndex((entry) => entry.status === status);
    expect(log.length - refused - 1).toBeLessThanOrEqual(2 * connectorInFlight(result));
  });

  test.each(['dataNull', 'noData', 'html', 'truncated'] as const)(
    'a broken page (%s) after the first: clear error, no stack trace, state so far kept',
    async (kind) => {
      fake.failNext(/^\/api\/v2\/persons\?.*cursor=/, kind, 50);
      const result = await read();
      expect(result.code).toBe(1);
      expectValidProtocol(result);
      expectNoStackTrace(result);
      const errors = errorsOf(result);
      expect(errors).toHaveLength(1);
      expect(errors[0].failure_type).toBe('transient_error');
      expect(errors[0].stream_descriptor).toEqual({ name: 'persons' });
      expect(errors[0].message).toMatch(/\/v2\/persons/);
      expect(statusesOf(result, 'persons')).toEqual(['STARTED', 'RUNNING', 'INCOMPLETE']);
      expectOthersComplete(result, 'persons');
      // The first page's position is kept; resuming from it reads the rest.
      const states = statesOf(result, 'persons');
      const kept = states[states.length - 1].state.stream.stream_state;
      expect(kept.update_time).toMatch(/^\d{4}-/);
      expect(recordsOf(result, 'persons')).toHaveLength(500);
      fake.clearFaults();
      const resumed = await read(lastStates(result));
      expect(resumed.code).toBe(0);
      const ids = new Set(
        [...recordsOf(result, 'persons'), ...recordsOf(resumed, 'persons')].map((p) => p.id),
      );
      expect(ids.size).toBe(600);
    },
  );

  test('odd shapes from a proxy (wrong types, non-object items, unknown fields): no crash', async () => {
    const proxy = await shapeProxy(fake.url, (path, body) => {
      if (path.startsWith('/api/v2/organizations')) {
        // Items that are not objects.
        return { ...body, data: [null, 5, 'x'] };
      }
      if (path.startsWith('/api/v2/persons')) {
        // A list where an object is expected.
        return { ...body, data: { id: 1 } };
      }
      if (path.startsWith('/api/v1/notes') && Array.isArray(body.data)) {
        // Wrong field types and unknown fields.
        return {
          ...body,
          data: body.data.map((note: any, i: number) =>
            i === 0
              ? {
                  ...note,
                  update_time: 12345,
                  user_id: 'abc',
                  active_flag: 'maybe',
                  extra: { a: 1 },
                }
              : note,
          ),
        };
      }
      return body;
    });
    try {
      const result = await run(['read'], {
        config: { ...configFor(fake), api_url: proxy.url },
        catalog,
      });
      expect(result.code).toBe(1);
      expectValidProtocol(result);
      expectNoStackTrace(result);
      const errors = errorsOf(result);
      const byStream = Object.fromEntries(errors.map((e) => [e.stream_descriptor?.name, e]));
      expect(Object.keys(byStream).sort()).toEqual(['organizations', 'persons']);
      for (const error of errors) expect(error.failure_type).toBe('transient_error');
      expect(byStream.organizations.message).toMatch(/\/v2\/organizations/);
      expect(byStream.persons.message).toMatch(/\/v2\/persons.*list/);
      expect(statusesOf(result, 'notes')).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
      expect(recordsOf(result, 'notes').length).toBeGreaterThan(0);
    } finally {
      await proxy.stop();
    }
  });
});

/** A proxy in front of the fake that rewrites JSON bodies of successful answers. */
async function shapeProxy(
  target: string,
  rewrite: (path: string, body: any) => any,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = http.createServer((request, response) => {
    const upstream = http.request(
      `${target}${request.url}`,
      { method: request.method, headers: request.headers },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk) => chunks.push(chunk));
        answer.on('end', () => {
          let text = Buffer.concat(chunks).toString('utf8');
          if (answer.statusCode === 200) {
            try {
              text = JSON.stringify(rewrite(request.url ?? '', JSON.parse(text)));
            } catch {
              // Not JSON: pass it on.
            }
          }
          const headers = { ...answer.headers };
          delete headers['content-length'];
          response.writeHead(answer.statusCode ?? 502, headers);
          response.end(text);
        });
      },
    );
    upstream.on('error', () => response.destroy());
    upstream.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---- 6. bad input -----------------------------------------------------------------------------

/** Runs `work` over `items`, `limit` at a time (bin/main start-up is CPU-bound). */
async function inParallel<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]);
      }
    }),
  );
  return results;
}

describe('bad input end to end', () => {
  let fake: FakePipedrive;
  let good: Record<string, unknown>;

  beforeAll(async () => {
    fake = await startFake({ seed: 19, sizes: SMALL });
    good = configFor(fake);
  });
  afterAll(() => fake.stop());

  const BAD_CONFIGS: Array<[string, () => unknown, RegExp]> = [
    ['missing token', () => ({ api_url: fake.url }), /'api_token' is missing/],
    ['empty token', () => ({ ...good, api_token: '' }), /'api_token' is empty/],
    ['blank token', () => ({ ...good, api_token: '   ' }), /'api_token' is empty/],
    [
      'token with a space',
      () => ({ ...good, api_token: `${TOKEN} x` }),
      /'api_token' contains white space/,
    ],
    ['token not a string', () => ({ ...good, api_token: 12345 }), /'api_token' must be a string/],
    [
      'limit as a string',
      () => ({ ...good, max_requests_per_2_seconds: '20' }),
      /'max_requests_per_2_seconds' must be a whole number/,
    ],
    [
      'limit zero',
      () => ({ ...good, max_requests_per_2_seconds: 0 }),
      /'max_requests_per_2_seconds' must be between 1 and 480/,
    ],
    [
      'negative look-back',
      () => ({ ...good, deals_lookback_hours: -1 }),
      /'deals_lookback_hours' must be between/,
    ],
    [
      'unknown custom_field_names',
      () => ({ ...good, custom_field_names: 'label' }),
      /'custom_field_names' must be "name" or "key"/,
    ],
    [
      'malformed start_date',
      () => ({ ...good, start_date: '01/02/2024' }),
      /'start_date' must be an RFC 3339 date-time/,
    ],
    [
      'impossible start_date',
      () => ({ ...good, start_date: '2024-02-30T00:00:00Z' }),
      /'start_date' must be an RFC 3339/,
    ],
    [
      'future start_date',
      () => ({ ...good, start_date: '2999-01-01T00:00:00Z' }),
      /'start_date' .* is in the future/,
    ],
    [
      'api_url not a URL',
      () => ({ ...good, api_url: 'acme pipedrive' }),
      /'api_url' is not a valid URL/,
    ],
    [
      'api_url not http(s)',
      () => ({ ...good, api_url: 'ftp://acme.pipedrive.com' }),
      /'api_url' must use https/,
    ],
    [
      'api_url plain http to a remote host',
      () => ({ ...good, api_url: 'http://acme.pipedrive.com' }),
      /'api_url' uses plain http/,
    ],
    [
      'company_domain on another host',
      () => ({ ...good, api_url: undefined, company_domain: 'acme.example.com' }),
      /'company_domain' must be your Pipedrive subdomain/,
    ],
    ['config not an object', () => [good], /config must be a JSON object/],
  ];

  test('check: every bad config is a FAILED connection status naming the field (exit 0)', async () => {
    const results = await inParallel(BAD_CONFIGS, 4, ([, config]) =>
      run(['check'], { config: config() }),
    );
    const problems: string[] = [];
    results.forEach((result, i) => {
      const [name, , message] = BAD_CONFIGS[i];
      const statuses = ofType(result, 'CONNECTION_STATUS');
      const text = statuses[0]?.connectionStatus?.message ?? '';
      if (
        result.code !== 0 ||
        statuses.length !== 1 ||
        statuses[0].connectionStatus.status !== 'FAILED' ||
        !message.test(text) ||
        stackLines(result.stderr).length > 0
      ) {
        problems.push(`${name}: exit ${result.code}, ${JSON.stringify(statuses)} ${result.stderr}`);
      }
    });
    expect(problems).toEqual([]);
    expect(fake.stats.requests).toBe(0);
  });

  test('read: a bad config is a config_error TRACE and a non-zero exit', async () => {
    // A sample: check above covers every case with the same validation.
    const sample = BAD_CONFIGS.filter((_, i) => i % 3 === 0);
    const results = await inParallel(sample, 4, ([, config]) =>
      run(['read'], { config: config(), catalog: configuredCatalog(['users']) }),
    );
    const problems: string[] = [];
    results.forEach((result, i) => {
      const [name, , message] = sample[i];
      const errors = errorsOf(result);
      if (
        result.code === 0 ||
        errors.length !== 1 ||
        errors[0].failure_type !== 'config_error' ||
        !message.test(errors[0].message) ||
        errors[0].stack_trace !== undefined ||
        ofType(result, 'RECORD').length > 0
      ) {
        problems.push(`${name}: exit ${result.code}, ${JSON.stringify(errors)}`);
      }
    });
    expect(problems).toEqual([]);
  });

  test('config, catalog and state files that are missing or not JSON', async () => {
    const broken = tempFile('broken.json', '{"streams": [');
    const missing = '/nonexistent/pd-input.json';
    const configFile = tempFile('config.json', JSON.stringify(good));
    const catalogFile = tempFile('catalog.json', JSON.stringify(configuredCatalog(['users'])));
    const cases: Array<[string, string[], RegExp]> = [
      [
        'check, config not JSON',
        ['check', '--config', broken],
        /--config file .* is not valid JSON/,
      ],
      [
        'check, config missing',
        ['check', '--config', missing],
        /Cannot read the --config file .*no such file/,
      ],
      [
        'read, catalog not JSON',
        ['read', '--config', configFile, '--catalog', broken],
        /--catalog file .* is not valid JSON/,
      ],
      [
        'read, catalog missing',
        ['read', '--config', configFile, '--catalog', missing],
        /Cannot read the --catalog file .*no such file/,
      ],
      ['read, no --catalog', ['read', '--config', configFile], /Missing --catalog/],
      [
        'read, state missing',
        ['read', '--config', configFile, '--catalog', catalogFile, '--state', missing],
        /Cannot read the --state file .*no such file/,
      ],
      ['unknown command', ['sync', '--config', configFile], /Unknown command 'sync'/],
      ['unknown flag', ['read', '--konfig', configFile], /Unknown option '--konfig'/],
    ];
    const results = await inParallel(cases, 4, ([, args]) => run(args));
    cases.forEach(([name, args, message], i) => {
      const result = results[i];
      const text =
        args[0] === 'check'
          ? ofType(result, 'CONNECTION_STATUS')[0]?.connectionStatus?.message
          : errorsOf(result)[0]?.message;
      expect({ name, text }).toEqual({ name, text: expect.stringMatching(message) });
      if (args[0] === 'check') {
        expect({ name, code: result.code }).toEqual({ name, code: 0 });
      } else {
        expect({ name, code: result.code }).toEqual({ name, code: 1 });
        expect(errorsOf(result)[0].failure_type).toBe('config_error');
      }
      expect(stackLines(result.stderr)).toEqual([]);
    });
  });

  test('bad catalogs: a config_error naming the problem, nothing read', async () => {
    const entry = (name: string, sync_mode: string) => ({
      stream: { name, json_schema: {}, supported_sync_modes: ['full_refresh'] },
      sync_mode,
      destination_sync_mode: 'overwrite',
    });
    const cases: Array<[string, unknown, RegExp]> = [
      [
        'unknown stream',
        configuredCatalog(['users', 'no_such_stream']),
        /does not have: "no_such_stream"/,
      ],
      [
        'incremental on a full-refresh stream',
        { streams: [entry('users', 'incremental')] },
        /"users" only supports full_refresh/,
      ],
      [
        'unknown sync mode',
        { streams: [entry('users', 'sometimes')] },
        /"users" has sync_mode "sometimes"/,
      ],
      [
        'stream listed twice',
        { streams: [entry('users', 'full_refresh'), entry('users', 'full_refresh')] },
        /lists stream "users" twice/,
      ],
      ['no streams list', { streams: 'users' }, /"streams" list/],
      ['entry without a name', { streams: [{ sync_mode: 'full_refresh' }] }, /needs stream.name/],
    ];
    fake.resetStats();
    const results = await inParallel(cases, 4, ([, catalog]) =>
      run(['read'], { config: good, catalog }),
    );
    cases.forEach(([name, , message], i) => {
      const result = results[i];
      const errors = errorsOf(result);
      expect({ name, code: result.code, count: errors.length }).toEqual({
        name,
        code: 1,
        count: 1,
      });
      expect({ name, type: errors[0].failure_type }).toEqual({ name, type: 'config_error' });
      expect({ name, message: errors[0].message }).toEqual({
        name,
        message: expect.stringMatching(message),
      });
      expect(ofType(result, 'RECORD')).toHaveLength(0);
    });
    expect(fake.stats.requests).toBe(0);
  });

  test('bad states: a warning, and the stream reads from start_date; readable forms are migrated', async () => {
    const startDate = '2025-01-01T00:00:00Z';
    const config = { ...good, start_date: startDate };
    const catalog = configuredCatalog([...incremental('deals', 'notes', 'persons'), 'users']);
    const stateOf = (name: string, streamState: unknown) => ({
      type: 'STREAM',
      stream: { stream_descriptor: { name }, stream_state: streamState },
    });
    const saved = '2026-01-01T00:00:00Z';
    // [case, state, logged, streams that start at start_date, streams that resume from `saved`]
    const cases: Array<[string, unknown, RegExp, string[], string[]]> = [
      [
        'cursor not a date',
        [
          stateOf('deals', { update_time: 'yesterday' }),
          stateOf('notes', { update_time: 12345 }),
          stateOf('persons', { update_time: '2025-13-45T99:00:00Z' }),
        ],
        /not a date-time/,
        ['deals', 'notes', 'persons'],
        [],
      ],
      [
        'a LEGACY state holding the per-stream map: migrated',
        { type: 'LEGACY', data: { notes: { update_time: saved } } },
        /LEGACY/,
        ['deals', 'persons'],
        ['notes'],
      ],
      [
        "Pipedrive's own time format and an offset: normalised",
        [
          stateOf('notes', { update_time: '2026-01-01 00:00:00' }),
          stateOf('persons', { update_time: '2026-01-01T02:00:00.500+02:00' }),
        ],
        /read as 2026-01-01T00:00:00Z/,
        ['deals'],
        ['notes', 'persons'],
      ],
      [
        'a state of an older connector version (unknown keys)',
        [stateOf('deals', { updated_at: '2026-01-01T00:00:00Z' })],
        /State of stream "deals" has no known position/,
        ['deals'],
        [],
      ],
      [
        'streams not in the catalog',
        [stateOf('leads', { update_time: '2026-01-01T00:00:00Z' })],
        /"leads"/,
        ['deals'],
        [],
      ],
    ];
    // One fake per case: its request log shows where each stream started.
    const fakes = await Promise.all(cases.map(() => startFake({ seed: 19, sizes: SMALL })));
    const firstSince = (fake: FakePipedrive, stream: string): unknown => {
      const path = stream === 'notes' ? '/api/v1/notes' : `/api/v2/${stream}`;
      return fake.requestLog.find((entry) => entry.path === path)?.query.updated_since;
    };
    try {
      const results = await inParallel(cases, 3, async ([, state]) => {
        const index = cases.findIndex((c) => c[1] === state);
        return run(['read'], { config: { ...config, api_url: fakes[index].url }, catalog, state });
      });
      cases.forEach(([name, , message, fromStart, resumed], i) => {
        const result = results[i];
        expect({ name, code: result.code, errors: errorsOf(result) }).toEqual({
          name,
          code: 0,
          errors: [],
        });
        expect({ name, logged: logsOf(result).some((m) => message.test(m)) }).toEqual({
          name,
          logged: true,
        });
        expectNoStackTrace(result);
        for (const stream of fromStart) {
          expect({ name, stream, since: firstSince(fakes[i], stream) }).toEqual({
            name,
            stream,
            since: startDate,
          });
        }
        for (const stream of resumed) {
          // deals look back 24 h; notes and persons start at their position.
          expect({ name, stream, since: firstSince(fakes[i], stream) }).toEqual({
            name,
            stream,
            since: saved,
          });
        }
      });
    } finally {
      await Promise.all(fakes.map((f) => f.stop()));
    }
  });

  test('a state it cannot use at all is a config_error and nothing is read', async () => {
    const fake = await startFake({ seed: 19, sizes: SMALL });
    try {
      const config = { ...good, api_url: fake.url };
      const catalog = configuredCatalog(incremental('deals', 'notes'));
      const files: Array<[string, string, RegExp]> = [
        [
          'not JSON',
          '[{"type": "STREAM", ',
          /--state file .* is not valid JSON.*Expected what Airbyte passes/,
        ],
        ['entries that are not objects', '[42, "x"]', /state entry is not a JSON object/],
        ['LEGACY without a map', '{"type": "LEGACY", "data": "H4sIAAAA"}', /LEGACY data/],
      ];
      for (const [name, text, message] of files) {
        fake.resetStats();
        const result = await run([
          'read',
          '--config',
          tempFile('config.json', JSON.stringify(config)),
          '--catalog',
          tempFile('catalog.json', JSON.stringify(catalog)),
          '--state',
          tempFile('state.json', text),
        ]);
        expect({ name, code: result.code }).toEqual({ name, code: 1 });
        expectNoStackTrace(result);
        const errors = errorsOf(result);
        expect({ name, errors: errors.length, type: errors[0]?.failure_type }).toEqual({
          name,
          errors: 1,
          type: 'config_error',
        });
        expect(errors[0].message).toMatch(message);
        expect(ofType(result, 'RECORD')).toHaveLength(0);
        expect(fake.stats.requests).toBe(0);
      }
    } finally {
      await fake.stop();
    }
  });

  test("the previous run's messages file as --state: its last STATE per stream", async () => {
    const fake = await startFake({ seed: 19, sizes: SMALL });
    try {
      const config = { ...good, api_url: fake.url };
      const catalog = configuredCatalog(incremental('notes', 'persons'));
      const first = await run(['read'], { config, catalog });
      expect(first.code).toBe(0);
      fake.resetStats();
      const second = await run([
        'read',
        '--config',
        tempFile('config.json', JSON.stringify(config)),
        '--catalog',
        tempFile('catalog.json', JSON.stringify(catalog)),
        '--state',
        tempFile('messages.jsonl', first.stdout),
      ]);
      expect(second.code).toBe(0);
      expect(logsOf(second, 'INFO').some((m) => /messages file/.test(m))).toBe(true);
      // Only the boundary second of each stream comes again.
      expect(recordsOf(second, 'persons').length).toBeLessThan(5);
      expect(recordsOf(second, 'notes').length).toBeLessThan(5);
    } finally {
      await fake.stop();
    }
  });

  test('an unreachable api_url: FAILED after bounded retries, without the token', async () => {
    const result = await run(['check'], {
      config: { ...good, api_url: 'http://127.0.0.1:9' },
      env: { PIPEDRIVE_MAX_ATTEMPTS: '2' },
    });
    expect(result.code).toBe(0);
    const [status] = ofType(result, 'CONNECTION_STATUS');
    expect(status.connectionStatus.status).toBe('FAILED');
    expect(status.connectionStatus.message).toMatch(/\/v1\/users\/me failed: ECONNREFUSED/);
  });
});

// ---- 7. secrets -------------------------------------------------------------------------------

describe('secrets', () => {
  test('no run printed the token, on stdout or stderr', async () => {
    await Promise.all(limitScenarios().map((scenario) => scenario.result));
    expect(runs.length).toBeGreaterThan(40);
    const leaks = runs.filter((result) => allOutput(result).includes(TOKEN));
    expect(leaks.map((result) => allOutput(result).slice(0, 500))).toEqual([]);
  });

  test('the token only ever travels in the x-api-token header', () => {
    for (const { fake } of limitScenarios()) {
      for (const entry of fake.requestLog) {
        expect(entry.headers['x-api-token']).toBe(TOKEN);
        expect(JSON.stringify(entry.query)).not.toContain(TOKEN);
        expect(entry.path).not.toContain(TOKEN);
      }
    }
  });
});
