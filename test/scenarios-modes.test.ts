import type { FakePipedrive } from './fake-pipedrive';
import {
  configuredCatalog,
  lastStates,
  ofType,
  recordsOf,
  type RunResult,
} from './helpers/connector';
import {
  configFor,
  expectClean,
  expectNoTokenPrinted,
  fakePool,
  finalState,
  flowRequestIds,
  full,
  incremental,
  requestCounts,
  rfc,
  run,
  shifted,
  sortedIds,
  TINY,
} from './helpers/scenarios';

/**
 * Issue 9, items 1 and 7, through bin/main against the fake: a parent and its children in
 * different sync modes over two syncs with changes in between (every member gets what its own
 * mode means, incremental members advance, one pass per sync), and two full reads of unchanged
 * data that are identical.
 */

const fakeWith = fakePool(TINY);

/** `parent id|value` of each array entry of the live parents updated at or after `since`. */
function childKeys(
  fake: FakePipedrive,
  entity: 'persons' | 'products',
  array: string,
  field: string,
  since?: string,
): string[] {
  const keys = new Set<string>();
  for (const parent of fake.list(entity)) {
    if (parent.is_deleted === true) continue;
    if (since && rfc(parent.update_time) < since) continue;
    for (const entry of (parent[array] as Array<Record<string, unknown>>) ?? []) {
      const value = entry?.[field];
      if (value) keys.add(`${String(parent.id)}|${String(value)}`);
    }
  }
  return [...keys].sort();
}

/** Deals as /deals (open, won, lost, deleted) and /deals/archived list them, by pass. */
function dealsByPass(fake: FakePipedrive) {
  const deals = fake.list('deals');
  return {
    all: deals,
    active: deals.filter((deal) => deal.is_archived !== true),
    archived: deals.filter((deal) => deal.is_archived === true),
  };
}

const maxTime = (rows: Array<Record<string, unknown>>): string =>
  rows
    .map((row) => rfc(row.update_time))
    .sort()
    .at(-1)!;

/** Lets two minutes pass on the fake's clock (changes land well inside the next listing). */
const later = (fake: FakePipedrive) => fake.clock.advance(120);

describe('mixed sync modes inside a parent/child group (issue 9, item 1)', () => {
  test('deals incremental + deal_products full refresh: deals advance, all lines every time', async () => {
    const fake = await fakeWith(31);
    const catalog = configuredCatalog([...incremental('deals'), ...full('deal_products')]);
    const first = await run(['read'], { config: configFor(fake), catalog });
    expectClean(first, ['deals', 'deal_products']);
    const before = dealsByPass(fake);
    expect(recordsOf(first, 'deals')).toHaveLength(before.all.length);
    expect(recordsOf(first, 'deal_products')).toHaveLength(fake.count('dealProducts'));
    const firstState = finalState(first, 'deals');
    expect(firstState.update_time).toBe(maxTime(before.active));
    expect(firstState.archived_update_time).toBe(maxTime(before.archived));

    later(fake);
    fake.update('deals', 3, { title: 'Renegotiated' });
    fake.update('deals', 9, { value: 12345 });
    fake.addDealProduct(14, { quantity: 4 });
    const removed = fake.dealProductsOf(20)[0];
    if (removed) fake.removeDealProduct(removed.id as number);
    later(fake);
    fake.resetStats();
    const second = await run(['read'], {
      config: configFor(fake),
      catalog,
      state: lastStates(first),
    });
    expectClean(second, ['deals', 'deal_products']);

    // deals: what changed since its own position (minus the 24 h look-back), nothing older.
    // Each pass has its own position.
    const lookback = -24 * 3600;
    const now = dealsByPass(fake);
    const expected = [
      ...now.active.filter(
        (deal) => rfc(deal.update_time) >= shifted(firstState.update_time, lookback),
      ),
      ...now.archived.filter(
        (deal) => rfc(deal.update_time) >= shifted(firstState.archived_update_time, lookback),
      ),
    ];
    expect(sortedIds(recordsOf(second, 'deals'))).toEqual(sortedIds(expected));
    expect(sortedIds(recordsOf(second, 'deals'))).toEqual(expect.arrayContaining([3, 9, 14, 20]));
    const secondState = finalState(second, 'deals');
    expect(secondState.update_time > firstState.update_time).toBe(true);
    expect(secondState.update_time).toBe(maxTime(dealsByPass(fake).active));
    // deal_products: every current line (a full refresh overwrites; the removed line is gone).
    expect(sortedIds(recordsOf(second, 'deal_products'))).toEqual(
      sortedIds(fake.list('dealProducts')),
    );
    if (removed) {
      expect(recordsOf(second, 'deal_products').map((row) => row.id)).not.toContain(removed.id);
    }
    // One pass over each deals list feeds both; products 100 deals a call.
    const passes = dealsByPass(fake);
    expect(requestCounts(fake)).toEqual({
      'GET /api/v1/dealFields': 1,
      'GET /api/v2/deals': 1,
      'GET /api/v2/deals/archived': 1,
      'GET /api/v2/deals/products':
        Math.ceil(passes.active.length / 100) + Math.ceil(passes.archived.length / 100),
    });
  });

  test('deals full refresh + deals_flow incremental: the second sync reads the flow of changed deals only', async () => {
    const fake = await fakeWith(32);
    const catalog = configuredCatalog([...full('deals'), ...incremental('deals_flow')]);
    const first = await run(['read'], { config: configFor(fake), catalog });
    expectClean(first, ['deals', 'deals_flow']);
    const deals = dealsByPass(fake).all;
    expect(recordsOf(first, 'deals')).toHaveLength(deals.length);
    expect(flowRequestIds(fake)).toEqual(sortedIds(deals));
    const firstState = finalState(first, 'deals_flow');
    expect(typeof firstState.update_time).toBe('string');

    later(fake);
    const changed = [4, 11, 27];
    for (const id of changed) fake.update('deals', id, { title: `Changed ${id}` });
    later(fake);
    fake.resetStats();
    const second = await run(['read'], {
      config: configFor(fake),
      catalog,
      state: lastStates(first),
    });
    expectClean(second, ['deals', 'deals_flow']);
    // deals: all of them again (full refresh)…
    expect(sortedIds(recordsOf(second, 'deals'))).toEqual(sortedIds(deals));
    // …deals_flow: one call per changed deal, not 40 tokens for every deal again.
    expect(flowRequestIds(fake)).toEqual(changed);
    expect(requestCounts(fake)).toEqual({
      'GET /api/v1/dealFields': 1,
      'GET /api/v2/deals': 1,
      'GET /api/v2/deals/archived': 1,
      'GET /api/v1/deals/{id}/flow': changed.length,
    });
    // The change events arrive, and the position advances.
    const events = recordsOf(second, 'deals_flow');
    for (const id of changed) {
      const newest = fake.flowOf(id)![0];
      expect(events.map((event) => event.id)).toContain(`${newest.object}:${newest.data.id}`);
    }
    const secondState = finalState(second, 'deals_flow');
    expect(secondState.update_time > firstState.update_time).toBe(true);
  });

  /** Person ids and the distinct email addresses of persons updated at or after `since`. */
  const emailKeys = (fake: FakePipedrive, since?: string): string[] =>
    childKeys(fake, 'persons', 'emails', 'value', since);
  const emittedEmailKeys = (result: RunResult): string[] =>
    [...new Set(recordsOf(result, 'persons_emails').map((r) => `${r.id}|${r.email_value}`))].sort();
  const livePersons = (fake: FakePipedrive) =>
    fake.list('persons').filter((person) => person.is_deleted !== true);

  function changePersons(fake: FakePipedrive): void {
    later(fake);
    fake.update('persons', 5, {
      emails: [{ value: 'new.address@example.com', label: 'work', primary: true }],
    });
    fake.update('persons', 17, { name: 'Renamed Person' });
    later(fake);
    fake.resetStats();
  }

  test('persons full refresh + persons_emails incremental: emails of changed persons only, emails advance', async () => {
    const fake = await fakeWith(33);
    const catalog = configuredCatalog([...full('persons'), ...incremental('persons_emails')]);
    const first = await run(['read'], { config: configFor(fake), catalog });
    expectClean(first, ['persons', 'persons_emails']);
    expect(emittedEmailKeys(first)).toEqual(emailKeys(fake));
    const firstState = finalState(first, 'persons_emails');
    expect(firstState.update_time).toBe(maxTime(livePersons(fake)));

    changePersons(fake);
    const second = await run(['read'], {
      config: configFor(fake),
      catalog,
      state: lastStates(first),
    });
    expectClean(second, ['persons', 'persons_emails']);
    expect(sortedIds(recordsOf(second, 'persons'))).toEqual(sortedIds(livePersons(fake)));
    // Emails of persons updated since the position (its boundary second included), no others.
    expect(emittedEmailKeys(second)).toEqual(emailKeys(fake, firstState.update_time));
    expect(emittedEmailKeys(second)).toContain('5|new.address@example.com');
    expect(finalState(second, 'persons_emails').update_time).toBe(maxTime(livePersons(fake)));
    expect(finalState(second, 'persons_emails').update_time > firstState.update_time).toBe(true);
    expect(requestCounts(fake)).toEqual({
      'GET /api/v1/personFields': 1,
      'GET /api/v2/persons': 1,
    });
  });

  test('persons incremental + persons_emails full refresh: changed persons, every email', async () => {
    const fake = await fakeWith(34);
    const catalog = configuredCatalog([...incremental('persons'), ...full('persons_emails')]);
    const first = await run(['read'], { config: configFor(fake), catalog });
    expectClean(first, ['persons', 'persons_emails']);
    const firstState = finalState(first, 'persons');
    expect(firstState.update_time).toBe(maxTime(livePersons(fake)));

    changePersons(fake);
    const second = await run(['read'], {
      config: configFor(fake),
      catalog,
      state: lastStates(first),
    });
    expectClean(second, ['persons', 'persons_emails']);
    const since = firstState.update_time;
    expect(sortedIds(recordsOf(second, 'persons'))).toEqual(
      sortedIds(livePersons(fake).filter((person) => rfc(person.update_time) >= since)),
    );
    expect(sortedIds(recordsOf(second, 'persons'))).toEqual(expect.arrayContaining([5, 17]));
    expect(emittedEmailKeys(second)).toEqual(emailKeys(fake));
    expect(finalState(second, 'persons').update_time).toBe(maxTime(livePersons(fake)));
    expect(finalState(second, 'persons').update_time > since).toBe(true);
    expect(requestCounts(fake)).toEqual({
      'GET /api/v1/personFields': 1,
      'GET /api/v2/persons': 1,
    });
  });

  /** (product id, currency) of every price of products updated at or after `since`. */
  const priceKeys = (fake: FakePipedrive, since?: string): string[] =>
    childKeys(fake, 'products', 'prices', 'currency', since);
  const emittedPriceKeys = (result: RunResult): string[] =>
    [...new Set(recordsOf(result, 'products_prices').map((r) => `${r.id}|${r.currency}`))].sort();
  const liveProducts = (fake: FakePipedrive) =>
    fake.list('products').filter((product) => product.is_deleted !== true);

  test.each([
    ['products incremental + products_prices full refresh', 'products', 'products_prices'],
    ['products full refresh + products_prices incremental', 'products_prices', 'products'],
  ])('%s: each member gets its own mode, one pass', async (_name, incrementalName, fullName) => {
    const fake = await fakeWith(incrementalName === 'products' ? 35 : 36);
    const catalog = configuredCatalog([...incremental(incrementalName), ...full(fullName)]);
    const first = await run(['read'], { config: configFor(fake), catalog });
    expectClean(first, ['products', 'products_prices']);
    expect(emittedPriceKeys(first)).toEqual(priceKeys(fake));
    const since = finalState(first, incrementalName).update_time;
    expect(since).toBe(maxTime(liveProducts(fake)));

    later(fake);
    fake.setProductPrices(2, [
      { currency: 'USD', price: 99 },
      { currency: 'GBP', price: 80 },
    ]);
    fake.update('products', 7, { name: 'Renamed product' });
    later(fake);
    fake.resetStats();
    const second = await run(['read'], {
      config: configFor(fake),
      catalog,
      state: lastStates(first),
    });
    expectClean(second, ['products', 'products_prices']);
    const changedProducts = liveProducts(fake).filter(
      (product) => rfc(product.update_time) >= since,
    );
    if (incrementalName === 'products') {
      expect(sortedIds(recordsOf(second, 'products'))).toEqual(sortedIds(changedProducts));
      expect(emittedPriceKeys(second)).toEqual(priceKeys(fake));
    } else {
      expect(sortedIds(recordsOf(second, 'products'))).toEqual(sortedIds(liveProducts(fake)));
      expect(emittedPriceKeys(second)).toEqual(priceKeys(fake, since));
      expect(emittedPriceKeys(second)).toEqual(expect.arrayContaining(['2|GBP', '2|USD']));
    }
    expect(sortedIds(changedProducts)).toEqual(expect.arrayContaining([2, 7]));
    const advanced = finalState(second, incrementalName).update_time;
    expect(advanced).toBe(maxTime(liveProducts(fake)));
    expect(advanced > since).toBe(true);
    expect(requestCounts(fake)).toEqual({
      'GET /api/v1/productFields': 1,
      'GET /api/v2/products': 1,
    });
  });

  /** (team, user) pairs of every team, the deleted one included. */
  const memberKeys = (fake: FakePipedrive): string[] =>
    fake
      .list('teams')
      .flatMap((team) => ((team.users as number[]) ?? []).map((user) => `${team.id}|${user}`))
      .sort();

  test('teams_users alone (teams not selected): all members from the team list, one call', async () => {
    const fake = await fakeWith(37);
    const catalog = configuredCatalog(['teams_users']);
    const first = await run(['read'], { config: configFor(fake), catalog });
    expectClean(first, ['teams_users']);
    expect(recordsOf(first, 'teams')).toEqual([]);
    const emitted = (result: RunResult) =>
      recordsOf(result, 'teams_users')
        .map((row) => `${row.team_id}|${row.user_id}`)
        .sort();
    expect(emitted(first)).toEqual(memberKeys(fake));
    expect(requestCounts(fake)).toEqual({ 'GET /api/v1/legacyTeams': 1 });

    fake.update('teams', 2, { users: [1, 2, 3, 4, 5, 6] });
    fake.resetStats();
    const second = await run(['read'], { config: configFor(fake), catalog });
    expectClean(second, ['teams_users']);
    expect(emitted(second)).toEqual(memberKeys(fake));
    expect(emitted(second)).toEqual(expect.arrayContaining(['2|6']));
    expect(requestCounts(fake)).toEqual({ 'GET /api/v1/legacyTeams': 1 });
  });

  test('deal_fields_options alone: every option of every enum/set field, a new field’s too', async () => {
    const fake = await fakeWith(38);
    const catalog = configuredCatalog(['deal_fields_options']);
    const optionKeys = (): string[] =>
      fake
        .fields()
        .deal.flatMap((field) =>
          Array.isArray(field.options) ? field.options.map((o) => `${field.id}|${o.id}`) : [],
        )
        .sort();
    const emitted = (result: RunResult) =>
      recordsOf(result, 'deal_fields_options')
        .map((row) => `${row.field_id}|${row.options__id}`)
        .sort();
    const first = await run(['read'], { config: configFor(fake), catalog });
    expectClean(first, ['deal_fields_options']);
    expect(recordsOf(first, 'deal_fields')).toEqual([]);
    expect(emitted(first).length).toBeGreaterThan(0);
    expect(emitted(first)).toEqual(optionKeys());
    expect(requestCounts(fake)).toEqual({ 'GET /api/v1/dealFields': 1 });

    const added = fake.addCustomField('deal', {
      name: 'Priority',
      type: 'enum',
      options: ['High', 'Low'],
    });
    fake.resetStats();
    const second = await run(['read'], { config: configFor(fake), catalog });
    expectClean(second, ['deal_fields_options']);
    expect(emitted(second)).toEqual(optionKeys());
    expect(emitted(second).filter((key) => key.startsWith(`${added.id}|`))).toHaveLength(2);
    expect(requestCounts(fake)).toEqual({ 'GET /api/v1/dealFields': 1 });
  });
});

describe('two full-refresh reads of unchanged data (issue 9, item 7)', () => {
  test('are identical except emitted_at, a deleted team included', async () => {
    const fake = await fakeWith(39);
    expect(fake.list('teams').some((team) => team.deleted_flag === 1)).toBe(true);
    const streams = [
      'deal_fields',
      'deal_fields_options',
      'users',
      'pipelines',
      'stages',
      'currencies',
      'teams',
      'teams_users',
      'organizations',
      'persons',
      'persons_emails',
      'products',
      'products_prices',
      'deals',
      'deal_products',
      'deals_flow',
    ];
    const catalog = configuredCatalog(streams);
    const first = await run(['read'], { config: configFor(fake), catalog });
    expectClean(first, streams);
    // The connector's clock moves on (a value taken from it would differ); Pipedrive's does not.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const second = await run(['read'], { config: configFor(fake), catalog });
    expectClean(second, streams);
    const data = (result: RunResult) =>
      ofType(result, 'RECORD').map((m) => JSON.stringify([m.record.stream, m.record.data]));
    const deletedTeams = recordsOf(first, 'teams').filter((team) => team.is_deleted === true);
    expect(deletedTeams).toHaveLength(1);
    expect(deletedTeams[0]._ab_cdc_deleted_at).not.toBeNull();
    expect(data(second).sort()).toEqual(data(first).sort());
  });
});

test('no run printed the token', () => {
  expectNoTokenPrinted();
});
