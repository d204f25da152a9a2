import { IdSet } from '../src/streams/deletes';
import { FakePipedrive } from './fake-pipedrive';
import {
  configuredCatalog,
  expectValidProtocol,
  ofType,
  recordsOf,
  runConnector,
  type RunResult,
  statusesOf,
} from './helpers/connector';
import {
  allOutput,
  keyGaps,
  keysOf,
  latestRecords,
  mergeStates,
  mismatchedRecords,
  recordCount,
  seededRandom,
} from './helpers/resilience';

/**
 * A long incremental sync killed with SIGKILL at random points (seeded), each time resumed
 * from the last state it printed per stream, like Airbyte does: nothing may be lost, and
 * the re-reads stay bounded.
 */

const TOKEN = 'kill-resume-secret-token-7f3a9c21';
const INCREMENTAL = [
  'deals',
  'deal_products',
  'deals_flow',
  'persons',
  'persons_emails',
  'organizations',
  'activities',
  'notes',
];
const FULL_REFRESH = ['users', 'stages'];
const ROOTS = ['deals', 'persons', 'organizations', 'activities', 'notes', 'users', 'stages'];
const CHILDREN = ['deal_products', 'deals_flow', 'persons_emails'];

const KILLED_ROUNDS = 6;

/** About how many records a full read of the catalog emits. */
function estimateRecords(fake: FakePipedrive): number {
  let flow = 0;
  for (const deal of fake.iterate('deals')) flow += fake.flowOf(deal.id as number)?.length ?? 0;
  const roots = ['deals', 'persons', 'organizations', 'activities', 'notes'] as const;
  const total = roots.reduce((sum, name) => sum + fake.count(name), 0);
  return total + flow + fake.count('dealProducts') + fake.count('persons');
}

// Loopback reads each list one page at a time (lanes split only over round trips of 25 ms or
// more); over a slow network a long list is read in concurrent windows, so a kill lands
// between windows finished out of order: checkpoints must still only claim contiguous work.
// There, two children are full refresh under incremental parents (a mixed family), so every
// run re-reads them whole while their parents resume.
describe.each([
  { network: 'loopback', latency: undefined, listed: 1100, fullRefreshChildren: [] as string[] },
  {
    network: 'a slow network (concurrent windows, mixed sync modes)',
    latency: { baseMs: 30, jitterMs: 30 },
    // 10 pages: a lane splits only when at least two lanes of 4 pages fit.
    listed: 5000,
    fullRefreshChildren: ['deal_products', 'persons_emails'],
  },
])(
  'kill -9 at random points over $network, resume from the last states',
  ({ latency, listed, fullRefreshChildren }) => {
    const incremental = INCREMENTAL.filter((name) => !fullRefreshChildren.includes(name));
    const fullRefresh = [...FULL_REFRESH, ...fullRefreshChildren];
    const catalog = configuredCatalog([
      ...incremental.map((name) => ({ name, syncMode: 'incremental' as const })),
      ...fullRefresh,
    ]);
    const fake = new FakePipedrive({
      seed: 41,
      token: TOKEN,
      latency,
      sizes: {
        deals: 1100,
        archivedDeals: 20,
        deletedDeals: 10,
        productsPerDealMax: 2,
        flowEventsPerDealMax: 2,
        persons: 700,
        organizations: 300,
        activities: listed,
        notes: 700,
        leads: 0,
        archivedLeads: 0,
      },
    });
    let config: Record<string, unknown>;
    const runs: RunResult[] = [];

    beforeAll(async () => {
      await fake.start();
      config = { api_token: TOKEN, api_url: fake.url, max_requests_per_2_seconds: 400 };
    });
    afterAll(() => fake.stop());

    const read = async (state: any[] | undefined, killAt?: (message: any) => boolean) => {
      const result = await runConnector(['read'], {
        config,
        catalog,
        state,
        onMessage: (message, child) => {
          if (killAt && killAt(message)) child.kill('SIGKILL');
        },
      });
      runs.push(result);
      return result;
    };

    test('the union of all runs equals the data, with bounded re-reads', async () => {
      const random = seededRandom(20260601);
      let state: any[] | undefined;
      const resumed: RunResult[] = [];
      let killed = 0;
      const personsRenamed: number[] = [];
      const newPersons: number[] = [];
      const dealsChanged: number[] = [];

      // Roughly how many records a full read emits: kill points are drawn within what is left.
      let remaining = estimateRecords(fake);
      for (let round = 0; round < 10; round++) {
        if (round === 3) {
          // Data changes while the sync is half done: they must all arrive.
          fake.clock.advance(3600);
          for (const id of [3, 150, 420]) {
            fake.update('persons', id, { name: `Renamed person ${id}` });
            personsRenamed.push(id);
          }
          for (let i = 0; i < 3; i++) newPersons.push(fake.insert('persons').id as number);
          for (const id of [5, 222, 1049]) {
            fake.update('deals', id, { value: 12345 + id });
            dealsChanged.push(id);
          }
          fake.update('notes', 7, { content: 'edited note' });
          fake.update('activities', 9, { subject: 'edited activity' });
          fake.update('organizations', 11, { name: 'Renamed org' });
        }
        // Kill right after the k-th STATE (a checkpoint) or the k-th RECORD (mid-page); the
        // last round runs to the end.
        const last = round >= KILLED_ROUNDS;
        let seen = 0;
        const byState = round % 3 === 0;
        const k = byState
          ? 1 + Math.floor(random() * 12)
          : 1 + Math.floor(random() * remaining * 0.9);
        remaining = Math.max(1000, remaining - (byState ? 0 : k) + 500);
        const result = await read(
          state,
          last
            ? undefined
            : (message) => message.type === (byState ? 'STATE' : 'RECORD') && ++seen === k,
        );
        resumed.push(result);
        if (result.signal === 'SIGKILL') {
          killed++;
        } else {
          expect(result.code).toBe(0);
          expectValidProtocol(result);
        }
        state = mergeStates(state, result);
        if (result.code === 0 && last) break;
      }
      const final = resumed[resumed.length - 1];
      expect(final.code).toBe(0);
      expect(killed).toBeGreaterThanOrEqual(3);
      for (const name of [...incremental, ...fullRefresh]) {
        expect(statusesOf(final, name)).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
      }
      // Every state printed is a valid resume point (Airbyte may resume from any of them).
      for (const run of resumed) {
        for (const message of ofType(run, 'STATE')) {
          const stream = message.state.stream;
          if (fullRefresh.includes(stream.stream_descriptor.name)) {
            expect(stream.stream_state).toEqual({});
          }
          for (const [key, value] of Object.entries(stream.stream_state)) {
            // Positions, and the fan-out memory of the deal children (encoded per pass).
            if (key === 'fanned_out')
              expect(Object.keys(value as object).length).toBeGreaterThan(0);
            // Delete detection's ids the destination holds (see src/streams/deletes.ts).
            else if (key === 'known_ids') expect(IdSet.decode(value)).toBeDefined();
            else expect(value).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
          }
        }
      }

      // The truth: one uninterrupted read from scratch after all changes.
      const reference = await read(undefined);
      expect(reference.code).toBe(0);
      const truth = latestRecords([reference]);
      const union = latestRecords(resumed);
      expect(truth.get('deals')!.size).toBe(fake.count('deals'));
      expect(truth.get('notes')!.size).toBeGreaterThan(600);
      expect(keyGaps(union, truth, [...ROOTS, ...CHILDREN])).toEqual({});
      // A full-refresh stream lands by overwrite: the last, complete run alone holds all of it.
      const last = latestRecords([final]);
      for (const name of fullRefresh) {
        expect({ name, keys: keysOf(last, name) }).toEqual({ name, keys: keysOf(truth, name) });
      }
      // Root records: the last version each run emitted is the current one. A note embeds the
      // names of its deal, person and organization, which change without moving the note's
      // update_time (so no incremental read sees them: notes_update_window_days exists for that);
      // those copies are left out of the comparison.
      expect(mismatchedRecords(union, truth, ROOTS)).toEqual({});
      // The changes made mid-way arrived.
      const persons = union.get('persons')!;
      for (const id of personsRenamed)
        expect(persons.get(String(id)).name).toBe(`Renamed person ${id}`);
      for (const id of newPersons) expect(persons.has(String(id))).toBe(true);
      for (const id of dealsChanged) {
        expect(union.get('deals')!.get(String(id)).value).toBe(12345 + id);
        const flow = [...union.get('deals_flow')!.values()].filter(
          (event) => event.deal_id === id && event.field_key === 'value',
        );
        expect(flow.map((event) => event.data.new_value)).toContain(12345 + id);
      }
      // Over a slow network the runs really read activities in concurrent windows: every answer
      // takes at least baseMs, so two of its requests arriving closer than that came from two
      // lanes at once.
      const arrivals = fake.requestLog
        .filter((entry) => entry.path === '/api/v2/activities')
        .map((entry) => entry.t);
      const together = arrivals.filter(
        (t, i) => i > 0 && t - arrivals[i - 1] < (latency?.baseMs ?? 0),
      ).length;
      expect(latency === undefined || together > 0).toBe(true);
      // Re-reads are bounded: a kill costs at most about a page per stream plus the look-back.
      const emitted = resumed.reduce((sum, run) => sum + recordCount(run), 0);
      expect(emitted).toBeLessThanOrEqual(recordCount(reference) * 2.5);
    });

    test('records updated in the same second as the saved cursor are not skipped', async () => {
      const small = new FakePipedrive({
        seed: 43,
        token: TOKEN,
        latency,
        sizes: { deals: 40, persons: 50, activities: 50, notes: 50, leads: 0, archivedLeads: 0 },
      });
      await small.start();
      try {
        // No look-back: the boundary itself is tested, not the deals' safety margin.
        const smallConfig = { ...config, api_url: small.url, deals_lookback_hours: 0 };
        const streams = ['deals', 'persons', 'activities', 'notes'];
        const smallCatalog = configuredCatalog(
          [...streams, 'deal_products', 'deals_flow'].map((name) => ({
            name,
            syncMode: 'incremental' as const,
          })),
        );
        // The first sync lists the newest deals within their own second (Pipedrive's Date
        // header says so): only then can that second still change after the read.
        const newestDeal = small
          .list('deals')
          .filter((deal) => !deal.is_archived)
          .map((deal) => String(deal.update_time))
          .sort()
          .pop()!;
        small.clock.set(new Date(newestDeal));
        const first = await runConnector(['read'], { config: smallConfig, catalog: smallCatalog });
        runs.push(first);
        expect(first.code).toBe(0);
        const states = mergeStates(undefined, first);
        const firstRecords = latestRecords([first]);
        const touched: Record<string, number> = {};
        for (const name of streams) {
          const cursor = states.find((s) => s.stream.stream_descriptor.name === name).stream
            .stream_state.update_time as string;
          // Another record changes within the cursor's very second, after the sync read it.
          small.clock.set(new Date(cursor));
          const earlier = [...firstRecords.get(name)!.values()].find(
            (record) => record.update_time < cursor && !record.is_deleted && !record.is_archived,
          );
          touched[name] = earlier.id;
          if (name !== 'deals') {
            small.update(name as 'persons', earlier.id, {});
            continue;
          }
          // A deal change in that second also brings a flow event and, here, a product line:
          // the fan-out must treat the deal as changed too.
          small.update('deals', earlier.id, { value: 777_001 });
          touched.deal_products = small.addDealProduct(earlier.id).id as number;
        }
        const second = await runConnector(['read'], {
          config: smallConfig,
          catalog: smallCatalog,
          state: states,
        });
        runs.push(second);
        expect(second.code).toBe(0);
        for (const name of streams) {
          const ids = (latestRecords([second]).get(name) ?? new Map()).keys();
          expect({ name, ids: [...ids] }).toEqual({
            name,
            ids: expect.arrayContaining([String(touched[name])]),
          });
        }
        expect(recordsOf(second, 'deal_products').map((row) => row.id)).toContain(
          touched.deal_products,
        );
        const flow = recordsOf(second, 'deals_flow').filter((row) => row.deal_id === touched.deals);
        expect(flow.map((row) => row.data.new_value)).toContain(777_001);
      } finally {
        await small.stop();
      }
    });

    test('no run printed the token', () => {
      expect(runs.length).toBeGreaterThan(3);
      for (const run of runs) expect(allOutput(run)).not.toContain(TOKEN);
    });
  },
);

describe('a kill inside a second shared by many deals', () => {
  test('deals past the checkpoint in the cursor second still get their per-deal reads', async () => {
    const fake = new FakePipedrive({
      seed: 43,
      token: TOKEN,
      sizes: { deals: 250, archivedDeals: 0, deletedDeals: 0, persons: 20, organizations: 10 },
    });
    await fake.start();
    try {
      const config = {
        api_token: TOKEN,
        api_url: fake.url,
        max_requests_per_2_seconds: 400,
        deals_lookback_hours: 0,
      };
      const dealCatalog = configuredCatalog(
        ['deals', 'deal_products', 'deals_flow'].map((name) => ({
          name,
          syncMode: 'incremental' as const,
        })),
      );
      const first = await runConnector(['read'], { config, catalog: dealCatalog });
      expect(first.code).toBe(0);
      // Every deal changes in one second, then Pipedrive's clock moves on: the next sync lists
      // them after that second ended, and checkpoints (every 100 deals) fall inside it.
      fake.clock.advance(60);
      const ids = fake.list('deals').map((deal) => deal.id as number);
      for (const id of ids) fake.update('deals', id, { title: `Changed ${id}` });
      fake.clock.advance(10);
      let states = mergeStates(undefined, first);
      fake.resetStats();
      let flowStates = 0;
      const killed = await runConnector(['read'], {
        config,
        catalog: dealCatalog,
        state: states,
        onMessage: (message, child) => {
          const name = message.state?.stream?.stream_descriptor?.name;
          if (message.type === 'STATE' && name === 'deals_flow' && ++flowStates === 1) {
            child.kill('SIGKILL');
          }
        },
      });
      expect(killed.signal).toBe('SIGKILL');
      states = mergeStates(states, killed);
      const resumed = await runConnector(['read'], { config, catalog: dealCatalog, state: states });
      expect(resumed.code).toBe(0);
      const flowCalls = new Set(
        fake.requestLog
          .map((entry) => /\/deals\/(\d+)\/flow$/.exec(entry.path)?.[1])
          .filter((id): id is string => id !== undefined)
          .map(Number),
      );
      const missed = ids.filter((id) => !flowCalls.has(id));
      expect(missed).toEqual([]);
    } finally {
      await fake.stop();
    }
  });
});

describe('SIGTERM (Airbyte cancelling a sync) during a concurrent read over a slow network', () => {
  test('the output ends on whole lines, the last ones STATEs; resuming loses nothing', async () => {
    const fake = new FakePipedrive({
      seed: 47,
      token: TOKEN,
      // Every answer takes 40–80 ms: several streams and windows are in flight at once.
      latency: { baseMs: 40, jitterMs: 40 },
      sizes: {
        deals: 900,
        archivedDeals: 10,
        deletedDeals: 5,
        persons: 1200,
        organizations: 300,
        activities: 1500,
        notes: 600,
        productsPerDealMax: 2,
        flowEventsPerDealMax: 2,
        leads: 0,
        archivedLeads: 0,
      },
    });
    await fake.start();
    try {
      const config = { api_token: TOKEN, api_url: fake.url, max_requests_per_2_seconds: 200 };
      const streams = [
        'deals',
        'deal_products',
        'persons',
        'persons_emails',
        'activities',
        'notes',
      ];
      const incrementalCatalog = configuredCatalog(
        streams.map((name) => ({ name, syncMode: 'incremental' as const })),
      );
      const random = seededRandom(143);
      let state: any[] | undefined;
      const runs: RunResult[] = [];
      for (let round = 0; round < 3; round++) {
        let records = 0;
        const stopAt = 300 + Math.floor(random() * 1500);
        const result = await runConnector(['read'], {
          config,
          catalog: incrementalCatalog,
          state,
          onMessage: (message, child) => {
            if (message.type === 'RECORD' && ++records === stopAt) child.kill('SIGTERM');
          },
        });
        runs.push(result);
        // Stopped mid-read, cleanly: every line whole, the last lines the running streams'
        // checkpoints (complete STATE messages), and only finished work claimed by them.
        expect(result.code ?? result.signal).toBe(143);
        expect(result.messages.filter((m) => m.__unparsable !== undefined)).toEqual([]);
        expect(result.stdout.endsWith('\n')).toBe(true);
        expectValidProtocol(result);
        expect(result.messages.at(-1).type).toBe('STATE');
        state = mergeStates(state, result);
      }
      const last = await runConnector(['read'], { config, catalog: incrementalCatalog, state });
      expect(last.code).toBe(0);
      runs.push(last);
      const reference = await runConnector(['read'], { config, catalog: incrementalCatalog });
      const truth = latestRecords([reference]);
      const union = latestRecords(runs);
      for (const name of streams) {
        expect({ name, keys: keysOf(union, name) }).toEqual({ name, keys: keysOf(truth, name) });
      }
    } finally {
      await fake.stop();
    }
  });
});
