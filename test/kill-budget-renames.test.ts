import { FakePipedrive } from './fake-pipedrive';
import type { FieldDefinition } from './fake-pipedrive/types';
import {
  errorsOf,
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
import { discoveredCatalog } from './helpers/scenarios';

/**
 * The kill-and-resume guarantee under the conditions of a real account, all at once: a slow
 * network (lists read in concurrent windows), a daily token budget mostly spent by the
 * company's other integrations (each day's sync stops on the budget, with many requests in
 * flight), custom fields renamed after discover and again mid-way, data changing, and syncs
 * killed with SIGKILL at random points. Day after day the syncs must converge to what one
 * unbudgeted read returns, never spend past the budget, and keep the discovered columns.
 */

const TOKEN = 'kill-budget-secret-token-5c8e2b17';
const KEY = 'x-pipedrive-field-key';
const INCREMENTAL = ['deals', 'deal_products', 'persons', 'activities', 'notes'];
const FULL_REFRESH = ['users', 'stages', 'persons_emails'];
const ROOTS = ['deals', 'persons', 'activities', 'notes', 'users', 'stages'];
const STREAMS = [...INCREMENTAL, ...FULL_REFRESH];
/** Days on which the sync is killed, and how far into its records. */
const KILLED_DAYS = [1, 3];
const MAX_DAYS = 14;
const TOTAL_BUDGET = 1_000_000;

const isCustom = (field: FieldDefinition): boolean => /^[0-9a-f]{40}$/.test(field.key);

/**
 * What a destination commits of a run: a stream's records up to its last STATE. Records a
 * killed sync printed after its last checkpoint are sent again by the resumed one (the state
 * does not claim them) — unless the record was deleted meanwhile: then no later sync lists it,
 * and its id never reached a state's known_ids, so a destination that kept such records
 * uncommitted would keep a record no tombstone can name.
 */
function committed(run: RunResult): RunResult {
  const lastState = new Map<string, number>();
  run.messages.forEach((message, index) => {
    if (message.type === 'STATE') lastState.set(message.state.stream.stream_descriptor.name, index);
  });
  const messages = run.messages.filter(
    (message, index) =>
      message.type !== 'RECORD' || index < (lastState.get(message.record.stream) ?? -1),
  );
  return { ...run, messages };
}

describe('kill -9 and budget stops over a slow network, custom fields renamed after discover', () => {
  const fake = new FakePipedrive({
    seed: 53,
    token: TOKEN,
    latency: { baseMs: 30, jitterMs: 30 },
    dailyTokenBudget: TOTAL_BUDGET,
    sizes: {
      deals: 700,
      archivedDeals: 10,
      deletedDeals: 5,
      productsPerDealMax: 2,
      persons: 800,
      organizations: 50,
      // 12 pages: the list splits into concurrent windows.
      activities: 6000,
      notes: 600,
      leads: 0,
      archivedLeads: 0,
    },
  });
  let config: Record<string, unknown>;
  let catalog: any;
  const runs: RunResult[] = [];

  beforeAll(async () => {
    await fake.start();
    config = { api_token: TOKEN, api_url: fake.url, max_requests_per_2_seconds: 400 };
    const discover = await runConnector(['discover'], { config });
    runs.push(discover);
    expect(discover.code).toBe(0);
    catalog = discoveredCatalog(discover, [
      ...INCREMENTAL.map((name) => ({ name, syncMode: 'incremental' as const })),
      ...FULL_REFRESH.map((name) => ({ name, syncMode: 'full_refresh' as const })),
    ]);
  });
  afterAll(() => fake.stop());

  const read = (state: any[] | undefined, killAt?: (message: any) => boolean) =>
    runConnector(['read'], {
      config,
      catalog,
      state,
      onMessage: (message, child) => {
        if (killAt?.(message)) child.kill('SIGKILL');
      },
    }).then((result) => {
      runs.push(result);
      return result;
    });

  /** Catalog column of each custom field key, per stream. */
  const columnsByKey = (stream: string): Map<string, string> => {
    const entry = catalog.streams.find((s: any) => s.stream.name === stream);
    const columns = new Map<string, string>();
    for (const [column, schema] of Object.entries<any>(entry.stream.json_schema.properties)) {
      if (typeof schema[KEY] === 'string' && !schema['x-pipedrive-field-part'])
        columns.set(schema[KEY], column);
    }
    return columns;
  };

  test('day after day the syncs converge to one unbudgeted read, never past the budget', async () => {
    // What one whole sync costs, and what a sync with nothing new costs (field definitions,
    // first pages, the full-refresh streams): each day leaves the connector that overhead and
    // about a third of the work.
    const probe = await read(undefined);
    expect(probe.code).toBe(0);
    const fullCost = fake.dailyTokensSpent;
    fake.resetDailyBudget();
    const idle = await read(mergeStates(undefined, probe));
    expect(idle.code).toBe(0);
    const overhead = fake.dailyTokensSpent;
    expect(fullCost).toBeGreaterThan(2 * overhead);
    const perDay = overhead + Math.ceil((fullCost - overhead) / 3);

    // Renamed between discover and read: the columns must stay the discovered ones.
    const fields = fake.fields();
    const dealField = fields.deal.find(isCustom)!;
    const personField = fields.person.find(isCustom)!;
    const dealColumn = columnsByKey('deals').get(dealField.key)!;
    const personColumn = columnsByKey('persons').get(personField.key)!;
    expect([dealColumn, personColumn].every(Boolean)).toBe(true);
    fake.renameCustomField('deal', dealField.key, 'Renamed After Discover');
    fake.renameCustomField('person', personField.key, 'Person Field Renamed');
    fake.resetStats();

    const random = seededRandom(20261206);
    const days: RunResult[] = [];
    const dayStats: Array<{
      budget: number;
      spent: number;
      responses429: number;
      outcome: string;
    }> = [];
    let state: any[] | undefined;
    const changed = { persons: [] as number[], deals: [] as number[], newPersons: [] as number[] };
    // Deleted mid-way. Activities' first sync takes several days, so their first delete check
    // is due once it is done (the other streams' first syncs fit one day: weekly from then).
    const deleted = { activities: [21, 2222, 4000] };
    for (let day = 0; day < MAX_DAYS; day++) {
      fake.resetDailyBudget();
      fake.spendDailyTokensByOthers(TOTAL_BUDGET - perDay);
      if (day === 2) {
        // Mid-way: more renames, and data changes the syncs must all deliver.
        fake.clock.advance(3600);
        fake.renameCustomField('deal', dealField.key, 'Renamed Twice');
        for (const id of [4, 333, 790]) {
          fake.update('persons', id, { name: `Renamed person ${id}` });
          changed.persons.push(id);
        }
        changed.newPersons.push(fake.insert('persons').id as number);
        for (const id of [6, 401]) {
          fake.update('deals', id, { value: 54_321 + id });
          changed.deals.push(id);
        }
        fake.update('activities', 12, { subject: 'edited activity' });
        for (const [name, ids] of Object.entries(deleted))
          for (const id of ids) fake.remove(name as 'persons', id);
      }
      let seen = 0;
      const killAfter = KILLED_DAYS.includes(day)
        ? 1 + Math.floor(random() * recordCount(probe) * 0.2)
        : undefined;
      const before = fake.stats.responses429;
      const result = await read(
        state,
        killAfter === undefined
          ? undefined
          : (message) => message.type === 'RECORD' && ++seen === killAfter,
      );
      days.push(result);
      state = mergeStates(state, result);
      const outcome =
        result.signal === 'SIGKILL' ? 'killed' : result.code === 0 ? 'complete' : 'budget';
      dayStats.push({
        budget: perDay,
        spent: fake.dailyTokensSpent,
        responses429: fake.stats.responses429 - before,
        outcome,
      });
      if (outcome === 'complete') break;
      if (outcome === 'budget') {
        // One clear, transient error that says it was the budget; the protocol stays valid.
        expectValidProtocol(result);
        expect(result.code).toBe(1);
        const errors = errorsOf(result);
        expect(errors).toHaveLength(1);
        expect(errors[0].failure_type).toBe('transient_error');
        expect(errors[0].message).toMatch(/budget/);
      }
    }
    expect(dayStats.at(-1)!.outcome).toBe('complete');
    // Once the data is read, what a day leaves after the syncs' own overhead is less than the
    // id-only listing of 6,000 activities (120 tokens): the delete check is postponed with a
    // warning and the day's sync completes, instead of failing on the budget half-way through
    // a check that would start over the next day.
    const postponed = (run: RunResult) =>
      ofType(run, 'LOG').filter((m) => /Delete check postponed/.test(m.log.message));
    expect(postponed(days.at(-1)!).map((message) => message.log.message)).toContainEqual(
      expect.stringMatching(/ids of activities takes about 120 API tokens/),
    );
    // A day with more budget left runs it, and the deletes arrive as tombstones.
    fake.resetDailyBudget();
    fake.spendDailyTokensByOthers(TOTAL_BUDGET - perDay - 150);
    const before429 = fake.stats.responses429;
    const roomy = await read(state);
    days.push(roomy);
    dayStats.push({
      budget: perDay + 150,
      spent: fake.dailyTokensSpent,
      responses429: fake.stats.responses429 - before429,
      outcome: 'roomy',
    });
    expect(roomy.code).toBe(0);
    expect(postponed(roomy)).toEqual([]);
    // Only what a destination holds gets a tombstone: a record deleted before any sync read it
    // was never emitted.
    const held = latestRecords(days.slice(0, -1).map(committed));
    const expected = Object.fromEntries(
      Object.entries(deleted).map(([name, ids]) => [
        name,
        ids.filter((id) => held.get(name)!.has(String(id))),
      ]),
    );
    expect(Object.values(expected).flat().length).toBeGreaterThan(0);
    for (const [name, ids] of Object.entries(expected)) {
      const tombstoned = recordsOf(roomy, name)
        .filter((row) => row._ab_cdc_deleted_at !== null)
        .map((row) => row.id);
      expect({ name, tombstoned }).toEqual({ name, tombstoned: ids });
    }
    const final = days.at(-1)!;
    expect(dayStats.map((d) => d.outcome)).toContain('budget');
    expect(dayStats.filter((d) => d.outcome === 'killed')).toHaveLength(KILLED_DAYS.length);
    expect(final.code).toBe(0);
    expectValidProtocol(final);
    for (const name of STREAMS) {
      expect({ name, statuses: statusesOf(final, name) }).toEqual({
        name,
        statuses: ['STARTED', 'RUNNING', 'COMPLETE'],
      });
    }
    // With many requests in flight the budget still holds: no day spent past what was left,
    // and Pipedrive never had to refuse a request.
    for (const { budget, spent, responses429 } of dayStats) {
      expect({ spent: spent <= budget, responses429 }).toEqual({ spent: true, responses429: 0 });
    }
    // About a day per third of the work, plus the killed days and each day's own overhead
    // (field definitions, first pages, the full-refresh streams read again).
    expect(days.length).toBeLessThanOrEqual(3 + KILLED_DAYS.length + 4);

    // The truth: one unbudgeted read of the same catalog after every change.
    fake.setDailyBudget(null);
    const reference = await read(undefined);
    expect(reference.code).toBe(0);
    const truth = latestRecords([reference]);
    const union = latestRecords(days.map(committed));
    // What the destination holds: the tombstoned records are deleted there.
    for (const [name, ids] of Object.entries(expected)) {
      for (const id of ids) {
        expect(union.get(name)!.get(String(id))?._ab_cdc_deleted_at).toEqual(expect.any(String));
        union.get(name)!.delete(String(id));
      }
    }
    expect(keyGaps(union, truth, STREAMS)).toEqual({});
    // Full refresh lands by overwrite: the last, complete day alone holds all of it.
    const last = latestRecords([final]);
    for (const name of FULL_REFRESH) {
      expect({ name, keys: keysOf(last, name) }).toEqual({ name, keys: keysOf(truth, name) });
    }
    // Every root record's newest version is the current one, custom-field columns included
    // (a note's embedded deal and person names change without moving the note: left out).
    expect(mismatchedRecords(union, truth, ROOTS)).toEqual({});
    // The renamed fields kept their discovered columns, with their values; no record of any
    // day carries a column the catalog does not declare.
    for (const [name, column] of [
      ['deals', dealColumn],
      ['persons', personColumn],
    ]) {
      const values = [...union.get(name)!.values()].filter((record) => record[column] != null);
      expect({ name, column, withValues: values.length > 0 }).toEqual({
        name,
        column,
        withValues: true,
      });
    }
    for (const name of STREAMS) {
      const declared = new Set(
        Object.keys(
          catalog.streams.find((s: any) => s.stream.name === name).stream.json_schema.properties,
        ),
      );
      const undeclared = new Set<string>();
      for (const run of days)
        for (const record of recordsOf(run, name))
          for (const column of Object.keys(record))
            if (!declared.has(column)) undeclared.add(column);
      expect({ name, undeclared: [...undeclared] }).toEqual({ name, undeclared: [] });
    }
    // The changes made mid-way arrived.
    const persons = union.get('persons')!;
    for (const id of changed.persons)
      expect(persons.get(String(id)).name).toBe(`Renamed person ${id}`);
    for (const id of changed.newPersons) expect(persons.has(String(id))).toBe(true);
    for (const id of changed.deals)
      expect(union.get('deals')!.get(String(id)).value).toBe(54_321 + id);
    // The lists really were read in concurrent windows (two activity requests arriving closer
    // than the fake's smallest latency came from two lanes at once).
    const arrivals = fake.requestLog
      .filter((entry) => entry.path === '/api/v2/activities')
      .map((entry) => entry.t);
    expect(arrivals.filter((t, i) => i > 0 && t - arrivals[i - 1] < 30).length).toBeGreaterThan(0);
    // Every state any day printed is a resume point: STATE lines of full-refresh streams say
    // nothing, the others only positions and the ids of delete detection.
    for (const run of days) {
      for (const message of ofType(run, 'STATE')) {
        const { stream_descriptor: descriptor, stream_state: saved } = message.state.stream;
        if (FULL_REFRESH.includes(descriptor.name)) expect(saved).toEqual({});
      }
    }
  }, 240_000);

  test('no output of any run printed the token', () => {
    expect(runs.length).toBeGreaterThan(4);
    for (const run of runs) expect(allOutput(run)).not.toContain(TOKEN);
  });
});
