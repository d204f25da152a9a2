/**
 * Delete detection (delete_detection): records deleted in Pipedrive between two syncs come out
 * of the next sync that runs the check as tombstones (the key, is_deleted, _ab_cdc_deleted_at),
 * with their children while Pipedrive still keeps them; nothing else is tombstoned; a check
 * that does not complete tombstones nothing; the state stays small.
 */
import { IdSet } from '../src/streams/deletes';
import { FakePipedrive } from './fake-pipedrive';
import {
  configuredCatalog,
  errorsOf,
  expectValidProtocol,
  lastStates,
  ofType,
  recordsOf,
  runConnector,
  type RunResult,
  statesOf,
} from './helpers/connector';
import { mergeStates } from './helpers/resilience';

const TOKEN = 'deletes-test-token-9c2d41';
const STREAMS = [
  'deals',
  'deal_products',
  'persons',
  'persons_emails',
  'organizations',
  'activities',
  'products',
  'products_prices',
  'notes',
  'leads',
  'files',
];
const catalog = configuredCatalog(STREAMS.map((name) => ({ name, syncMode: 'incremental' })));

const tombstonesOf = (result: RunResult, stream: string): any[] =>
  recordsOf(result, stream).filter((row) => row._ab_cdc_deleted_at !== null);

const lastState = (result: RunResult, stream: string): Record<string, unknown> =>
  statesOf(result, stream).at(-1)!.state.stream.stream_state;

describe('tombstones for records deleted between syncs', () => {
  const fake = new FakePipedrive({
    seed: 71,
    token: TOKEN,
    sizes: {
      deals: 120,
      archivedDeals: 4,
      deletedDeals: 0,
      persons: 150,
      organizations: 60,
      activities: 120,
      products: 30,
      notes: 80,
      leads: 20,
      archivedLeads: 2,
    },
  });
  let config: Record<string, unknown>;
  let first: RunResult;
  let second: RunResult;
  const gone: Record<string, Array<number | string>> = {};

  beforeAll(async () => {
    await fake.start();
    config = {
      api_token: TOKEN,
      api_url: fake.url,
      max_requests_per_2_seconds: 400,
      delete_detection: 'every_sync',
    };
    first = await runConnector(['read'], { config, catalog });
    expect(first.code).toBe(0);

    fake.clock.advance(3600);
    const pick = (
      name: 'persons' | 'organizations' | 'activities' | 'products' | 'notes' | 'files',
    ) =>
      fake
        .list(name)
        .filter((row) => row.is_deleted !== true && row.active_flag !== false)
        .map((row) => row.id as number)
        .filter((_, index) => index % 37 === 5)
        .slice(0, 3);
    for (const name of [
      'persons',
      'organizations',
      'activities',
      'products',
      'notes',
      'files',
    ] as const) {
      gone[name] = pick(name);
      for (const id of gone[name]) fake.remove(name, id);
    }
    gone.leads = fake
      .list('leads')
      .slice(2, 4)
      .map((lead) => lead.id as string);
    for (const id of gone.leads) fake.remove('leads', id);
    // A deal deleted long ago: past Pipedrive's 30 days of status=deleted, but still readable.
    gone.deals = [fake.list('deals').find((deal) => !deal.is_archived)!.id as number];
    fake.remove('deals', gone.deals[0]);
    fake.clock.advance(31 * 86_400);

    fake.resetStats();
    second = await runConnector(['read'], { config, catalog, state: lastStates(first) });
  });
  afterAll(() => fake.stop());

  test('the check runs and succeeds', () => {
    expect(second.code).toBe(0);
    expectValidProtocol(second);
    expect(errorsOf(second)).toEqual([]);
  });

  test('every deleted record of every entity comes as a tombstone, and nothing else', () => {
    for (const name of [
      'persons',
      'organizations',
      'activities',
      'products',
      'notes',
      'leads',
      'deals',
    ]) {
      const ids = tombstonesOf(second, name).map((row) => row.id);
      expect({ name, ids: [...ids].sort() }).toEqual({ name, ids: [...gone[name]].sort() });
      for (const row of tombstonesOf(second, name)) {
        expect(row.is_deleted).toBe(true);
        expect(row._ab_cdc_deleted_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        // The tombstone's cursor is at least its deletion time, so Append + Dedup keeps it.
        expect(row.update_time >= row._ab_cdc_deleted_at).toBe(true);
      }
    }
  });

  test('children of a deleted record Pipedrive still keeps are tombstones too', () => {
    const personIds = new Set(gone.persons);
    const emails = tombstonesOf(second, 'persons_emails');
    const expected = fake
      .list('persons')
      .filter((person) => personIds.has(person.id as number))
      .flatMap((person) => ((person.emails as any[]) ?? []).filter((e) => e.value))
      .map((email) => email.value)
      .sort();
    expect(emails.map((row) => row.email_value).sort()).toEqual(expected);
    const lines = tombstonesOf(second, 'deal_products')
      .map((row) => row.id)
      .sort();
    expect(lines).toEqual(
      fake
        .dealProductsOf(gone.deals[0] as number)
        .map((line) => line.id)
        .sort(),
    );
    const prices = tombstonesOf(second, 'products_prices');
    expect(new Set(prices.map((row) => row.id))).toEqual(new Set(gone.products));
  });

  test('the check costs one id-only pass per endpoint and one call per deleted parent', () => {
    // Incremental reads plus the id pass: two list calls per endpoint (one page each here).
    for (const endpoint of [
      'GET /api/v2/persons',
      'GET /api/v2/organizations',
      'GET /api/v1/notes',
    ]) {
      expect({ endpoint, calls: fake.stats.byEndpoint[endpoint].requests }).toEqual({
        endpoint,
        calls: 2,
      });
    }
    // Children are read from the deleted record itself (1 token each), for streams with children.
    expect(fake.stats.byEndpoint['GET /api/v2/persons/{id}'].requests).toBe(gone.persons.length);
    expect(fake.stats.byEndpoint['GET /api/v2/organizations/{id}']).toBeUndefined();
  });

  test('the state keeps the ids the destination holds, and when it last checked', () => {
    const state = lastState(second, 'persons');
    const known = IdSet.decode(state.known_ids)!;
    for (const id of gone.persons) expect(known.has(id)).toBe(false);
    expect(known.size).toBe(fake.count('persons') - gone.persons.length);
    expect(typeof state.deletes_checked_at).toBe('string');
  });

  test("with delete_detection weekly, the next day's sync does not check again", async () => {
    fake.resetStats();
    fake.clock.advance(86_400);
    const third = await runConnector(['read'], {
      config: { ...config, delete_detection: 'weekly' },
      catalog,
      state: mergeStates(lastStates(first), second),
    });
    expect(third.code).toBe(0);
    expect(fake.stats.byEndpoint['GET /api/v2/persons'].requests).toBe(1);
    expect(STREAMS.flatMap((name) => tombstonesOf(third, name))).toEqual([]);
  });
});

describe('a check that does not complete', () => {
  /** A persons-only sync whose second run has a check due, after deleting three persons. */
  async function dueCheck(latency?: { baseMs: number; jitterMs: number }) {
    const fake = new FakePipedrive({
      seed: 72,
      token: TOKEN,
      latency,
      sizes: { persons: 1600, organizations: 10, deals: 5, activities: 5, notes: 5, leads: 0 },
    });
    await fake.start();
    const config = {
      api_token: TOKEN,
      api_url: fake.url,
      max_requests_per_2_seconds: 400,
      delete_detection: 'every_sync',
    };
    const personsOnly = configuredCatalog([{ name: 'persons', syncMode: 'incremental' }]);
    const first = await runConnector(['read'], { config, catalog: personsOnly });
    expect(first.code).toBe(0);
    fake.clock.advance(3600);
    const deleted = [10, 700, 1500];
    for (const id of deleted) fake.remove('persons', id);
    /** The next sync completes the check: the three deleted persons get tombstones. */
    const expectCompletedAfter = async (stopped: RunResult) => {
      expect(tombstonesOf(stopped, 'persons')).toEqual([]);
      const kept = lastState(stopped, 'persons');
      expect(kept.deletes_checked_at).toBe(lastState(first, 'persons').deletes_checked_at);
      for (const id of deleted) expect(IdSet.decode(kept.known_ids)!.has(id)).toBe(true);
      fake.setDailyBudget(null);
      fake.resetDailyBudget();
      const resumed = await runConnector(['read'], {
        config,
        catalog: personsOnly,
        state: mergeStates(lastStates(first), stopped),
      });
      expect(resumed.code).toBe(0);
      // What the check cost, as its log line says: four pages of 500 ids.
      expect(ofType(resumed, 'LOG').map((message) => message.log.message)).toContainEqual(
        expect.stringMatching(
          /Delete check: 1597 ids listed, 3 no longer there .*; 4 requests, 40 API tokens/,
        ),
      );
      expect(
        tombstonesOf(resumed, 'persons')
          .map((row) => row.id)
          .sort((a, b) => a - b),
      ).toEqual(deleted);
    };
    return { fake, config, personsOnly, first, expectCompletedAfter };
  }

  test('stopped by the daily budget, it tombstones nothing; the next sync completes it', async () => {
    // Each answer takes 40-60 ms: the check's four pages outlast the moment another
    // integration of the company spends what was left of the day's budget.
    const { fake, config, personsOnly, first, expectCompletedAfter } = await dueCheck({
      baseMs: 40,
      jitterMs: 20,
    });
    try {
      const budget = fake.dailyTokensSpent + 1000;
      fake.setDailyBudget(budget);
      // When the check's first page arrives, another integration of the company spends what
      // was left of the day's budget but 15 tokens.
      let spent = false;
      const watch = setInterval(() => {
        const checking = fake.requestLog.some(
          (entry) => entry.path === '/api/v2/persons' && entry.query.sort_by === 'id',
        );
        if (!checking || spent) return;
        spent = true;
        fake.spendDailyTokensByOthers(budget - fake.dailyTokensSpent - 15);
      }, 2);
      const stopped = await runConnector(['read'], {
        config,
        catalog: personsOnly,
        state: lastStates(first),
      }).finally(() => clearInterval(watch));
      expect(spent).toBe(true);
      expect(stopped.code).toBe(1);
      expect(errorsOf(stopped).map((error) => error.message)).toEqual([
        expect.stringMatching(/daily API token budget/),
      ]);
      await expectCompletedAfter(stopped);
    } finally {
      await fake.stop();
    }
  });

  test("a check today's budget cannot pay for is postponed: the sync completes and says why", async () => {
    const { fake, config, personsOnly, first, expectCompletedAfter } = await dueCheck();
    try {
      // Enough for the field definitions, the incremental page and two of the check's four pages.
      fake.setDailyBudget(fake.dailyTokensSpent + 20 + 10 + 20);
      const listed = () => fake.stats.byEndpoint['GET /api/v2/persons']?.requests ?? 0;
      const before = listed();
      const postponed = await runConnector(['read'], {
        config,
        catalog: personsOnly,
        state: lastStates(first),
      });
      expectValidProtocol(postponed);
      expect({ code: postponed.code, errors: errorsOf(postponed) }).toEqual({
        code: 0,
        errors: [],
      });
      // Not a page of it was read: half a check would be paid again in full by the next sync.
      // (One call: the incremental page.)
      expect(listed() - before).toBe(1);
      const warnings = ofType(postponed, 'LOG')
        .map((message) => message.log)
        .filter((log) => /Delete check postponed/.test(log.message));
      expect(warnings).toHaveLength(1);
      expect(warnings[0].level).toBe('WARN');
      expect(warnings[0].message).toMatch(
        /listing the 1600 ids of persons takes about 40 API tokens, and 20 are left/,
      );
      await expectCompletedAfter(postponed);
    } finally {
      await fake.stop();
    }
  });

  test('a state of an earlier version (no known ids) gets its baseline, no tombstones', async () => {
    const fake = new FakePipedrive({ seed: 73, token: TOKEN, sizes: { persons: 40 } });
    await fake.start();
    try {
      const config = {
        api_token: TOKEN,
        api_url: fake.url,
        max_requests_per_2_seconds: 400,
        delete_detection: 'every_sync',
      };
      const personsOnly = configuredCatalog([{ name: 'persons', syncMode: 'incremental' }]);
      fake.remove('persons', 3);
      const upgraded = await runConnector(['read'], {
        config,
        catalog: personsOnly,
        state: [
          {
            type: 'STREAM',
            stream: {
              stream_descriptor: { name: 'persons' },
              stream_state: { update_time: '2026-01-01T00:00:00Z' },
            },
          },
        ],
      });
      expect(upgraded.code).toBe(0);
      expect(tombstonesOf(upgraded, 'persons')).toEqual([]);
      const infos = upgraded.messages.filter((m) => m.type === 'LOG').map((m) => m.log.message);
      expect(infos.some((m: string) => /baseline/.test(m))).toBe(true);
      expect(IdSet.decode(lastState(upgraded, 'persons').known_ids)!.size).toBe(
        fake.count('persons') - 1,
      );
    } finally {
      await fake.stop();
    }
  });
});

describe('the state of a large account', () => {
  test('100,000 organizations with scattered deletes: known ids well under 1 MB', async () => {
    const fake = new FakePipedrive({
      seed: 74,
      token: TOKEN,
      sizes: { organizations: 100_000, persons: 0, deals: 0, activities: 0, notes: 0, leads: 0 },
    });
    await fake.start();
    try {
      // 5% deleted at random before the first sync: the ids the connector sees have gaps.
      let seed = 7;
      for (let id = 1; id <= 100_000; id++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        if (seed % 20 === 0) fake.remove('organizations', id);
      }
      const result = await runConnector(['read'], {
        config: { api_token: TOKEN, api_url: fake.url, max_requests_per_2_seconds: 480 },
        catalog: configuredCatalog([{ name: 'organizations', syncMode: 'incremental' }]),
        timeoutMs: 240_000,
      });
      expect(result.code).toBe(0);
      const encoded = lastState(result, 'organizations').known_ids as string;
      expect(IdSet.decode(encoded)!.size).toBe(recordsOf(result, 'organizations').length);
      expect(encoded.length).toBeLessThan(60_000);
    } finally {
      await fake.stop();
    }
  }, 300_000);
});
