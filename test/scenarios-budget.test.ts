import {
  configuredCatalog,
  errorsOf,
  expectValidProtocol,
  recordsOf,
  type RunResult,
  statesOf,
} from './helpers/connector';
import { keysOf, latestRecords, mergeStates } from './helpers/resilience';
import {
  configFor,
  expectNoTokenPrinted,
  fakePool,
  finalState,
  incremental,
  lastStatusOf,
  logsOf,
  run,
} from './helpers/scenarios';

/**
 * Issue 9, item 2, through bin/main against the fake: progress under a budget that allows a few
 * fan-out slices per run, a daily_token_reserve left to the company's other integrations,
 * another client on the token (429s that are not the budget), and the resume order after a
 * budget stop. The fake sends the daily-budget headers and x-token-cost, as Pipedrive does.
 */

const SIZES = {
  users: 4,
  deals: 30,
  archivedDeals: 1,
  deletedDeals: 2,
  flowEventsPerDealMax: 3,
  productsPerDealMax: 1,
  persons: 20,
  organizations: 10,
  products: 5,
  activities: 0,
  notes: 0,
  leads: 0,
  archivedLeads: 0,
};

const fakeWith = fakePool(SIZES);

/** Per stream, the same keys and the same values (emitted_at aside). */
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

const budgetStop = (result: RunResult) =>
  errorsOf(result).filter((error) => /budget|daily_token_reserve/.test(error.message));

describe('a budget that allows a few fan-out slices per run (issue 9, item 2)', () => {
  test('every run moves deals_flow forward; the runs converge to one unbudgeted read', async () => {
    const fake = await fakeWith(41);
    const streams = ['deals', 'deals_flow'];
    const catalog = configuredCatalog(incremental(...streams));
    const truth = await run(['read'], { config: configFor(fake), catalog });
    expect(truth.code).toBe(0);
    const fullCost = fake.dailyTokensSpent;
    // The company's budget is mostly spent by its other integrations every day: what is left
    // is about a quarter of the backfill (every deal's flow costs 40 tokens).
    const budget = 400;
    expect(fullCost).toBeGreaterThan(3 * budget);
    fake.setDailyBudget(10_000);

    const runs: RunResult[] = [];
    let state: any[] | undefined;
    const positions: string[] = [];
    for (let day = 0; day < 8; day++) {
      fake.resetDailyBudget();
      fake.spendDailyTokensByOthers(10_000 - budget);
      const result = await run(['read'], { config: configFor(fake), catalog, state });
      expectValidProtocol(result);
      runs.push(result);
      state = mergeStates(state, result);
      // Never beyond the budget: the connector stops before Pipedrive has to refuse.
      expect(fake.dailyTokensSpent).toBeLessThanOrEqual(budget);
      expect(fake.stats.responses429).toBe(0);
      const position = finalState(result, 'deals_flow');
      positions.push(JSON.stringify([position?.update_time, position?.archived_update_time]));
      if (result.code === 0) break;
      // A budget stop: one clear error, the flow INCOMPLETE and rate limited, flow rows read.
      expect(result.code).toBe(1);
      expect(budgetStop(result)).toHaveLength(1);
      expect(errorsOf(result)).toHaveLength(1);
      const status = lastStatusOf(result, 'deals_flow');
      expect(status.status).toBe('INCOMPLETE');
      expect(status.reasons?.[0]?.type).toBe('RATE_LIMITED');
      expect(recordsOf(result, 'deals_flow').length).toBeGreaterThan(0);
    }
    expect(runs.at(-1)!.code).toBe(0);
    // Several runs were needed, each moved the saved position (no run started over).
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(new Set(positions).size).toBe(positions.length);
    // About one run per budget's worth of work: each run pays its listing calls again.
    const perRunOverhead = 20 + 10 + 20 + 40;
    expect(runs.length).toBeLessThanOrEqual(Math.ceil(fullCost / (budget - perRunOverhead)) + 1);
    expectSameRecords(runs, [truth], streams);
  });
});

describe('daily_token_reserve (issue 9, item 2)', () => {
  test('the sync stops before the remaining budget falls below the reserve', async () => {
    const budget = 2000;
    const reserve = 1500;
    const fake = await fakeWith(42, { dailyTokenBudget: budget });
    const catalog = configuredCatalog([
      'users',
      ...incremental('deals', 'deal_products', 'deals_flow'),
    ]);
    const result = await run(['read'], {
      config: configFor(fake, { daily_token_reserve: reserve }),
      catalog,
    });
    expectValidProtocol(result);
    expect(result.code).toBe(1);
    // What Pipedrive says is left never went below the reserve, and nothing was refused.
    expect(budget - fake.dailyTokensSpent).toBeGreaterThanOrEqual(reserve);
    expect(fake.stats.responses429).toBe(0);
    // One clear message: why it stopped and when the budget resets.
    const errors = errorsOf(result);
    expect(errors).toHaveLength(1);
    expect(errors[0].failure_type).toBe('transient_error');
    expect(errors[0].message).toMatch(/daily_token_reserve=1500/);
    expect(errors[0].message).toMatch(/resets at midnight.*\d{4}-\d\d-\d\dT\d\d:\d\d/);
    // Every stream saved a state; the unfinished ones are INCOMPLETE, rate limited.
    expect(lastStatusOf(result, 'users').status).toBe('COMPLETE');
    for (const name of ['deals', 'deal_products', 'deals_flow']) {
      expect({ name, states: statesOf(result, name).length > 0 }).toEqual({ name, states: true });
      const status = lastStatusOf(result, name);
      expect({ name, status: status.status, reason: status.reasons?.[0]?.type }).toEqual({
        name,
        status: 'INCOMPLETE',
        reason: 'RATE_LIMITED',
      });
    }
    expect(recordsOf(result, 'deals_flow').length).toBeGreaterThan(0);
  });
});

describe('another client on the same token (issue 9, item 2)', () => {
  test('429s while our window is quiet: back off, say so, no budget stop', async () => {
    const fake = await fakeWith(43, { burstLimit: 10, dailyTokenBudget: 100_000 });
    // Eight of the ten requests a 2 s window allows are someone else's.
    fake.setOtherClient(4);
    const streams = ['users', 'pipelines', 'stages', 'activity_types', 'currencies', 'deal_fields'];
    const result = await run(['read'], {
      config: configFor(fake),
      catalog: configuredCatalog(streams),
    });
    expectValidProtocol(result);
    expect(fake.stats.responses429).toBeGreaterThan(0);
    expect({ code: result.code, errors: errorsOf(result) }).toEqual({ code: 0, errors: [] });
    for (const name of streams) expect(lastStatusOf(result, name).status).toBe('COMPLETE');
    expect(logsOf(result, 'WARN').filter((m) => /another client/.test(m)).length).toBeGreaterThan(
      0,
    );
    expect(logsOf(result).filter((m) => /budget .*spent|daily API token budget/.test(m))).toEqual(
      [],
    );
  });
});

describe('resume order after a budget stop (issue 9, item 2)', () => {
  // The scheduler starts groups in priority order, each once its first request is queued at
  // the gate (which serves requests in order): the unfinished group asks first.
  test('the next run starts the group that did not finish before the one that did', async () => {
    const fake = await fakeWith(44, { dailyTokenBudget: 300 });
    const catalog = configuredCatalog(incremental('persons', 'deals', 'deals_flow'));
    // One request at a time: the fake's request log is the order in which groups asked.
    const config = configFor(fake, { max_concurrent_requests: 1 });
    const first = await run(['read'], { config, catalog });
    expect(first.code).toBe(1);
    expect(budgetStop(first)).toHaveLength(1);
    expect(lastStatusOf(first, 'persons').status).toBe('COMPLETE');
    expect(lastStatusOf(first, 'deals_flow').status).toBe('INCOMPLETE');
    expect(fake.stats.maxInFlight).toBe(1);
    // The first run has no state: the connector's order, persons first.
    expect(fake.requestLog[0].path).toBe('/api/v1/personFields');

    fake.resetDailyBudget();
    fake.resetStats();
    const second = await run(['read'], { config, catalog, state: mergeStates(undefined, first) });
    expectValidProtocol(second);
    expect(fake.stats.maxInFlight).toBe(1);
    const firstIndex = (path: string) => fake.requestLog.findIndex((entry) => entry.path === path);
    // The unfinished deals group asks first, then persons, which finished last time.
    expect(fake.requestLog[0].path).toBe('/api/v1/dealFields');
    expect(firstIndex('/api/v2/deals')).toBeGreaterThanOrEqual(0);
    expect(firstIndex('/api/v1/personFields')).toBeGreaterThan(firstIndex('/api/v1/dealFields'));
  });
});

test('max_concurrent_requests: 1 keeps one request in flight (the resume order relies on it)', async () => {
  // Latency makes overlapping requests visible to the fake.
  const fake = await fakeWith(45, { latencyMs: 20 });
  const result = await run(['read'], {
    config: configFor(fake, { max_concurrent_requests: 1 }),
    catalog: configuredCatalog(incremental('persons', 'deals', 'deals_flow')),
  });
  expect(result.code).toBe(0);
  expect(fake.stats.requests).toBeGreaterThan(30);
  expect(fake.stats.maxInFlight).toBe(1);
  expect(logsOf(result).find((m) => /^Sync used/.test(m))).toMatch(/at most 1 in flight/);
});

test('no run printed the token', () => {
  expectNoTokenPrinted();
});
