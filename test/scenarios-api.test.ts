import type { FakePipedrive } from './fake-pipedrive';
import {
  configuredCatalog,
  errorsOf,
  lastStates,
  recordsOf,
  type RunResult,
} from './helpers/connector';
import {
  configFor,
  expectClean,
  expectNoTokenPrinted,
  fakePool,
  finalState,
  incremental,
  logsOf,
  requestsTo,
  rfc,
  run,
  SCENARIO_TOKEN,
  sortedIds,
  TINY,
} from './helpers/scenarios';

/**
 * Issue 9, item 6 (first half), through bin/main against the fake: facts of Pipedrive's API the
 * connector must live with — two hosts with different v1 bases, servers without updated_since
 * on some lists, broken 200 answers, a 403 on field definitions. The rest of item 6 is in
 * scenarios-flow-costs.test.ts.
 */

const fakeWith = fakePool(TINY);

const later = (fake: FakePipedrive) => fake.clock.advance(120);

// ---- hosts ------------------------------------------------------------------------------------

describe('the v1 base of each host (issue 9, item 6)', () => {
  const streams = ['users', 'lead_labels', 'leads', 'deals', 'notes'];
  const sizes = { ...TINY, leads: 10, notes: 20 };

  test('a company host ({company}.pipedrive.com) answers every call the connector makes', async () => {
    const fake = await fakeWith(71, { hostMode: 'company', sizes });
    const result = await run(['read'], {
      config: configFor(fake),
      catalog: configuredCatalog(streams),
    });
    expectClean(result, streams);
    expect(fake.requestLog.filter((entry) => entry.status === 404)).toEqual([]);
    expect(fake.requestLog.every((entry) => /^\/api\/v[12]\//.test(entry.path))).toBe(true);
    expect(requestsTo(fake, /^\/api\/v1\/leads$/)).toHaveLength(1);
  });

  /** The connector as it runs without api_url nor company_domain: on the global host. */
  const globalRun = (fake: FakePipedrive, catalog: unknown) =>
    run(['read'], {
      config: { api_token: SCENARIO_TOKEN, max_requests_per_2_seconds: 400 },
      catalog,
      env: { PIPEDRIVE_GLOBAL_API_URL: fake.url, PIPEDRIVE_BASE_DOMAIN: 'pipedrive.invalid' },
    });

  test('on api.pipedrive.com (no company domain known) the v1 calls use /v1', async () => {
    // The token user's answer names no usable company domain: the connector stays on the
    // global host, where /api/v1/leads, /leadLabels … answer 404.
    const fake = await fakeWith(72, { hostMode: 'global', companyDomain: '', sizes });
    const result = await globalRun(fake, configuredCatalog(streams));
    expectClean(result, streams);
    expect(fake.requestLog[0].path).toBe('/v1/users/me');
    expect(fake.requestLog.filter((entry) => entry.status === 404)).toEqual([]);
    expect(fake.requestLog.every((entry) => /^\/(v1|api\/v2)\//.test(entry.path))).toBe(true);
    expect(requestsTo(fake, /^\/v1\/leadLabels$/)).toHaveLength(1);
    expect(recordsOf(result, 'leads')).toHaveLength(fake.count('leads'));
  });

  test('on api.pipedrive.com, /v1/users/me is asked on /v1 before moving to the company host', async () => {
    const fake = await fakeWith(73, { hostMode: 'global', sizes });
    const result = await globalRun(fake, configuredCatalog(['users']));
    // The company host (acme.pipedrive.invalid) cannot be reached from a test: what matters is
    // that the global host was asked on its own v1 base, once, and answered.
    expect(fake.requestLog.map((entry) => [entry.path, entry.status])).toEqual([
      ['/v1/users/me', 200],
    ]);
    expect(logsOf(result, 'INFO').some((m) => m.includes('https://acme.pipedrive.invalid'))).toBe(
      true,
    );
    expect(
      errorsOf(result)
        .map((error) => error.message)
        .join('\n'),
    ).toMatch(/acme\.pipedrive\.invalid/);
  });
});

// ---- lists that page by updated_since ------------------------------------------------------

describe('servers that do not filter by updated_since (issue 9, item 6)', () => {
  test('notes and leads when v1 ignores updated_since: exactly the truth, one warning, no quadratic re-reads', async () => {
    const fake = await fakeWith(74, {
      v1IgnoresUpdatedSince: true,
      sizes: { ...TINY, notes: 700, leads: 40, archivedLeads: 5 },
    });
    const notesSorted = fake
      .list('notes')
      .map((note) => rfc(note.update_time))
      .sort();
    // A start_date in the middle: the first page already carries notes older than asked for.
    const startDate = notesSorted[Math.floor(notesSorted.length / 2)];
    const config = configFor(fake, { start_date: startDate });
    const catalog = configuredCatalog(incremental('notes', 'leads'));
    const liveNotes = () => fake.list('notes').filter((note) => note.active_flag !== false);
    const truthSince = (since: string) => ({
      notes: sortedIds(liveNotes().filter((note) => rfc(note.update_time) >= since)),
      leads: sortedIds(fake.list('leads').filter((lead) => rfc(lead.update_time) >= since)),
    });
    const emitted = (result: RunResult) => ({
      notes: sortedIds(recordsOf(result, 'notes')),
      leads: sortedIds(recordsOf(result, 'leads')),
    });
    const expectOneWarningEach = (result: RunResult, names: string[]) => {
      for (const name of names) {
        const warnings = logsOf(result, 'WARN').filter(
          (m) => m.startsWith(`[${name}]`) && /ignored updated_since/.test(m),
        );
        expect({ name, warnings: warnings.length }).toEqual({ name, warnings: 1 });
      }
    };
    // The whole list in id order once, plus the page that showed the filter is ignored.
    const maxListCalls = (rows: number) => 1 + Math.max(1, Math.ceil(rows / 500));

    const first = await run(['read'], { config, catalog });
    expectClean(first, ['notes', 'leads']);
    expect(emitted(first)).toEqual(truthSince(startDate));
    expect(recordsOf(first, 'notes')).toHaveLength(truthSince(startDate).notes.length);
    // Every lead is newer than start_date: only notes show that the filter is ignored.
    expect(truthSince(startDate).leads).toEqual(sortedIds(fake.list('leads')));
    expectOneWarningEach(first, ['notes']);
    expect(requestsTo(fake, /^\/api\/v1\/notes$/).length).toBeLessThanOrEqual(maxListCalls(700));
    expect(finalState(first, 'notes').update_time).toBe(
      rfc(
        liveNotes()
          .map((n) => rfc(n.update_time))
          .sort()
          .at(-1),
      ),
    );

    later(fake);
    fake.update('notes', 3, { content: 'Edited long after' });
    const lead = fake.list('leads')[0];
    fake.update('leads', lead.id as string, { title: 'Edited lead' });
    later(fake);
    fake.resetStats();
    const second = await run(['read'], { config, catalog, state: lastStates(first) });
    expectClean(second, ['notes', 'leads']);
    const since = finalState(first, 'notes').update_time;
    expect(emitted(second).notes).toEqual(truthSince(since).notes);
    expect(emitted(second).notes).toContain(3);
    expect(emitted(second).leads).toContain(lead.id);
    expectOneWarningEach(second, ['notes', 'leads']);
    expect(requestsTo(fake, /^\/api\/v1\/notes$/).length).toBeLessThanOrEqual(maxListCalls(700));
    expect(requestsTo(fake, /^\/api\/v1\/leads$/).length).toBeLessThanOrEqual(maxListCalls(40));
    expect(finalState(second, 'notes').update_time > since).toBe(true);
  });

  test('products when v2 refuses updated_since: still incremental and correct, one warning', async () => {
    const fake = await fakeWith(75, { productsRejectUpdatedSince: true });
    const catalog = configuredCatalog(incremental('products', 'products_prices'));
    const first = await run(['read'], { config: configFor(fake), catalog });
    expectClean(first, ['products', 'products_prices']);
    const since = finalState(first, 'products').update_time;

    later(fake);
    fake.update('products', 4, { name: 'Renamed product' });
    fake.setProductPrices(9, [{ currency: 'CHF', price: 5 }]);
    later(fake);
    fake.resetStats();
    const second = await run(['read'], {
      config: configFor(fake),
      catalog,
      state: lastStates(first),
    });
    expectClean(second, ['products', 'products_prices']);
    const live = fake.list('products').filter((product) => product.is_deleted !== true);
    expect(sortedIds(recordsOf(second, 'products'))).toEqual(
      sortedIds(live.filter((product) => rfc(product.update_time) >= since)),
    );
    expect(sortedIds(recordsOf(second, 'products'))).toEqual(expect.arrayContaining([4, 9]));
    expect(
      recordsOf(second, 'products_prices').map((row) => `${row.id}|${row.currency}`),
    ).toContain('9|CHF');
    const warnings = logsOf(second, 'WARN').filter((m) => /refused updated_since/.test(m));
    expect(warnings).toHaveLength(1);
    // The refused call and one sorted pass.
    expect(requestsTo(fake, /^\/api\/v2\/products$/).map((entry) => entry.status)).toEqual([
      400, 200,
    ]);
    const advanced = finalState(second, 'products').update_time;
    expect(advanced > since).toBe(true);
    expect(finalState(second, 'products_prices').update_time).toBe(advanced);
  });
});

// ---- broken answers and permissions -------------------------------------------------------------

describe('answers that are not what they seem (issue 9, item 6)', () => {
  test('success: false and a list without its paging block are retried, never taken for the last page', async () => {
    const fake = await fakeWith(76, { sizes: { ...TINY, persons: 700, notes: 700 } });
    // A deal whose flow has two pages.
    const old = Date.parse('2024-01-01T00:00:00Z');
    for (let i = 0; i < 600; i++) {
      const at = new Date(old + i * 60_000).toISOString();
      fake.addFlowEvent(5, { timestamp: `${at.slice(0, 10)} ${at.slice(11, 19)}` });
    }
    // Each on a first page, with more to come: taken for the last page, it loses the rest.
    fake.failNext(/^\/api\/v2\/persons/, 'successFalse', 1);
    fake.failNext(/^\/api\/v1\/notes/, 'noPagination', 1);
    fake.failNext(/^\/api\/v1\/deals\/5\/flow/, 'noPagination', 1);
    fake.failNext(/^\/api\/v2\/deals\/products/, 'successFalse', 1);
    const streams = ['persons', 'notes', 'deals', 'deals_flow', 'deal_products'];
    const result = await run(['read'], {
      config: configFor(fake),
      catalog: configuredCatalog(streams),
    });
    expectClean(result, streams);
    expect(fake.stats.faultsInjected).toBe(4);
    const livePersons = fake.list('persons').filter((person) => person.is_deleted !== true);
    expect(sortedIds(recordsOf(result, 'persons'))).toEqual(sortedIds(livePersons));
    const liveNotes = fake.list('notes').filter((note) => note.active_flag !== false);
    expect(sortedIds(recordsOf(result, 'notes'))).toEqual(sortedIds(liveNotes));
    expect(recordsOf(result, 'deals_flow').filter((event) => event.deal_id === 5)).toHaveLength(
      fake.flowOf(5)!.length,
    );
    expect(recordsOf(result, 'deal_products')).toHaveLength(fake.count('dealProducts'));
    const retries = logsOf(result, 'WARN').filter((m) => /retrying in/.test(m));
    expect(retries.filter((m) => /success: false/.test(m))).toHaveLength(2);
    expect(retries.filter((m) => /no paging block/.test(m))).toHaveLength(2);
  });

  test('a 403 on /v1/dealFields during read: deals and leads read without custom columns, a warning, exit 0', async () => {
    const fake = await fakeWith(77, { sizes: { ...TINY, leads: 10 } });
    fake.denyPermission('/v1/dealFields');
    const streams = ['deals', 'leads'];
    const result = await run(['read'], {
      config: configFor(fake),
      catalog: configuredCatalog(streams),
    });
    expectClean(result, streams);
    expect(recordsOf(result, 'deals')).toHaveLength(fake.count('deals'));
    expect(recordsOf(result, 'leads')).toHaveLength(fake.count('leads'));
    for (const name of streams) {
      const warnings = logsOf(result, 'WARN').filter(
        (m) => m.startsWith(`[${name}]`) && /custom fields unavailable/.test(m),
      );
      expect({ name, warnings: warnings.length }).toEqual({ name, warnings: 1 });
      // No custom column under any name: neither a planned one nor a raw field key.
      const columns = new Set(recordsOf(result, name).flatMap((record) => Object.keys(record)));
      expect({
        name,
        custom: [...columns].filter((c) => /^[0-9a-f]{40}|^deal_source/.test(c)),
      }).toEqual({
        name,
        custom: [],
      });
    }
  });
});

test('no run printed the token', () => {
  expectNoTokenPrinted();
});
