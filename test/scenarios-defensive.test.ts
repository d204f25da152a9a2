import type { FakePipedrive } from './fake-pipedrive';
import {
  configuredCatalog,
  errorsOf,
  expectValidProtocol,
  lastStates,
  recordsOf,
  type RunResult,
} from './helpers/connector';
import {
  configFor,
  expectNoTokenPrinted,
  fakePool,
  finalState,
  incremental,
  lastStatusOf,
  logsOf,
  requestsTo,
  rfc,
  run,
  sortedIds,
  TINY,
} from './helpers/scenarios';

/**
 * Issue 9, item 9, through bin/main against the fake's odd answers (seen from an independent
 * OpenAPI-generated mock): pages that stop moving forward, rows older than asked for, deleted
 * rows without a usable time, rows without their key, and a 422 with Pipedrive's own reason.
 */

const SIZES = { ...TINY, notes: 120 };

const fakeWith = fakePool(SIZES);

function expectComplete(result: RunResult, streams: string[]): void {
  for (const name of streams) {
    expect({ name, status: lastStatusOf(result, name)?.status }).toEqual({
      name,
      status: 'COMPLETE',
    });
  }
}

const livePersons = (fake: FakePipedrive) =>
  fake.list('persons').filter((person) => person.is_deleted !== true);
const liveNotes = (fake: FakePipedrive) =>
  fake.list('notes').filter((note) => note.active_flag !== false);

describe('a pass that stops making progress ends that stream within a few pages (issue 9, item 9)', () => {
  test.each([
    ['/v1/notes answers the same page with next_start one higher', 'notes', 'stuckPagination'],
    ['a v2 list returns a cursor it returned before', 'organizations', 'cursorCycle'],
  ] as const)('%s', async (_name, stream, fault) => {
    // Organizations: three pages, so that a cursor from earlier in the pass can come back.
    const fake = await fakeWith(91, { sizes: { ...SIZES, organizations: 1200 } });
    const path = stream === 'notes' ? /^\/api\/v1\/notes/ : /^\/api\/v2\/organizations/;
    fake.failNext(path, fault, Infinity);
    const others = ['users', 'stages', 'deals'];
    const result = await run(['read'], {
      config: configFor(fake),
      catalog: configuredCatalog([stream, ...others]),
      // A connector without the guards loops until killed (the old one did, for minutes).
      timeoutMs: 30_000,
    });
    expectValidProtocol(result);
    expect(result.code).toBe(1);
    const requests = requestsTo(fake, path).length;
    expect(requests).toBeGreaterThan(1);
    expect(requests).toBeLessThanOrEqual(6);
    const errors = errorsOf(result);
    expect(errors).toHaveLength(1);
    expect(errors[0].failure_type).toBe('transient_error');
    expect(errors[0].message).toContain(
      stream === 'notes' ? 'GET /v1/notes' : 'GET /v2/organizations',
    );
    expect(lastStatusOf(result, stream).status).toBe('INCOMPLETE');
    expectComplete(result, others);
  });
});

describe('rows older than asked for (issue 9, item 9)', () => {
  test('never move a position backwards nor below start_date, and are not emitted', async () => {
    const fake = await fakeWith(92);
    const times = livePersons(fake)
      .map((person) => rfc(person.update_time))
      .sort();
    const startDate = times[Math.floor(times.length / 2)];
    const config = configFor(fake, { start_date: startDate });
    const catalog = configuredCatalog(incremental('persons', 'notes'));
    const truth = (since: string) => ({
      persons: sortedIds(livePersons(fake).filter((p) => rfc(p.update_time) >= since)),
      notes: sortedIds(liveNotes(fake).filter((n) => rfc(n.update_time) >= since)),
    });
    const emitted = (result: RunResult) => ({
      persons: sortedIds(recordsOf(result, 'persons')),
      notes: sortedIds(recordsOf(result, 'notes')),
    });
    // Two records updated before updated_since come first on a page of each list.
    fake.failNext(/^\/api\/v2\/persons/, 'staleRecords', 1);
    fake.failNext(/^\/api\/v1\/notes/, 'staleRecords', 1);
    const first = await run(['read'], { config, catalog });
    expectValidProtocol(first);
    expect({ code: first.code, errors: errorsOf(first) }).toEqual({ code: 0, errors: [] });
    expect(fake.stats.faultsInjected).toBe(2);
    expect(emitted(first)).toEqual(truth(startDate));
    for (const name of ['persons', 'notes']) {
      const state = finalState(first, name).update_time;
      expect({ name, atOrAfterStart: state >= startDate }).toEqual({ name, atOrAfterStart: true });
    }
    expect(
      logsOf(first, 'WARN').some((m) => m.startsWith('[persons]') && /updated before/.test(m)),
    ).toBe(true);

    // From a saved position: stale rows again, and the position does not go back.
    const saved = {
      persons: finalState(first, 'persons').update_time as string,
      notes: finalState(first, 'notes').update_time as string,
    };
    fake.resetStats();
    fake.failNext(/^\/api\/v2\/persons/, 'staleRecords', 1);
    fake.failNext(/^\/api\/v1\/notes/, 'staleRecords', 1);
    const second = await run(['read'], { config, catalog, state: lastStates(first) });
    expect({ code: second.code, errors: errorsOf(second) }).toEqual({ code: 0, errors: [] });
    expect(fake.stats.faultsInjected).toBe(2);
    expect(emitted(second)).toEqual({
      persons: truth(saved.persons).persons,
      notes: truth(saved.notes).notes,
    });
    for (const name of ['persons', 'notes'] as const) {
      const state = finalState(second, name).update_time;
      expect({ name, notBack: state >= saved[name] }).toEqual({ name, notBack: true });
    }
  });
  test('stale rows alone (nothing newer than start_date) do not become a position', async () => {
    const fake = await fakeWith(96);
    // After every row of the fake, before the connector's own clock (not in the future).
    const startDate = rfc(fake.clock.now().toISOString());
    fake.failNext(/^\/api\/v2\/persons/, 'staleRecords', 1);
    fake.failNext(/^\/api\/v1\/notes/, 'staleRecords', 1);
    const result = await run(['read'], {
      config: configFor(fake, { start_date: startDate }),
      catalog: configuredCatalog(incremental('persons', 'notes')),
    });
    expect({ code: result.code, errors: errorsOf(result) }).toEqual({ code: 0, errors: [] });
    expect(fake.stats.faultsInjected).toBe(2);
    for (const name of ['persons', 'notes']) {
      expect({ name, rows: recordsOf(result, name).length }).toEqual({ name, rows: 0 });
      const position = finalState(result, name)?.update_time;
      expect({ name, belowStart: typeof position === 'string' && position < startDate }).toEqual({
        name,
        belowStart: false,
      });
    }
  });
});

describe('broken rows (issue 9, item 9)', () => {
  test('a deleted row without a usable update_time still gets a non-null _ab_cdc_deleted_at', async () => {
    const fake = await fakeWith(93);
    fake.failNext(/^\/api\/v2\/persons/, 'deletedNullTime', 1);
    fake.failNext(/^\/api\/v1\/notes/, 'deletedBadTime', 1);
    const streams = ['persons', 'notes'];
    const result = await run(['read'], {
      config: configFor(fake),
      catalog: configuredCatalog(streams),
    });
    expect({ code: result.code, errors: errorsOf(result) }).toEqual({ code: 0, errors: [] });
    expect(fake.stats.faultsInjected).toBe(2);
    for (const name of streams) {
      const deleted = recordsOf(result, name).filter((row) => row.is_deleted === true);
      expect({ name, deleted: deleted.length }).toEqual({ name, deleted: 1 });
      expect(deleted[0]._ab_cdc_deleted_at).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));
    }
  });

  test('rows without their primary key are left out, counted in one warning per stream', async () => {
    const fake = await fakeWith(94);
    fake.failNext(/^\/api\/v2\/persons/, 'missingId', 1);
    fake.failNext(/^\/api\/v2\/organizations/, 'missingId', 1);
    fake.failNext(/^\/api\/v1\/notes/, 'missingId', 1);
    const streams = ['persons', 'organizations', 'notes'];
    const result = await run(['read'], {
      config: configFor(fake),
      catalog: configuredCatalog(streams),
    });
    expect({ code: result.code, errors: errorsOf(result) }).toEqual({ code: 0, errors: [] });
    expectComplete(result, streams);
    const live = {
      persons: livePersons(fake).length,
      organizations: fake.list('organizations').filter((o) => o.is_deleted !== true).length,
      notes: liveNotes(fake).length,
    };
    for (const name of streams) {
      const rows = recordsOf(result, name);
      expect({ name, rows: rows.length }).toEqual({
        name,
        rows: live[name as keyof typeof live] - 1,
      });
      expect(rows.every((row) => row.id !== undefined && row.id !== null)).toBe(true);
      const warnings = logsOf(result, 'WARN').filter(
        (m) => m.startsWith(`[${name}]`) && /without their primary key/.test(m),
      );
      expect({ name, warnings }).toEqual({
        name,
        warnings: [expect.stringMatching(/^\[\w+\] 1 row\(s\) without their primary key/)],
      });
    }
  });
});

describe("Pipedrive's own reason (issue 9, item 9)", () => {
  test('a 422 with error and error_info shows both in the TRACE error', async () => {
    const fake = await fakeWith(95);
    fake.failNext(
      /^\/api\/v2\/deals$/,
      {
        status: 422,
        error: 'Validation failed',
        errorInfo: 'custom_fields: unknown field key 0123abcd',
      },
      Infinity,
    );
    const result = await run(['read'], {
      config: configFor(fake),
      catalog: configuredCatalog(['users', 'deals']),
    });
    expectValidProtocol(result);
    expect(result.code).toBe(1);
    const errors = errorsOf(result);
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toContain('422');
    expect(errors[0].message).toContain('GET /v2/deals');
    expect(errors[0].message).toContain('Validation failed');
    expect(errors[0].message).toContain('custom_fields: unknown field key 0123abcd');
    expect(lastStatusOf(result, 'deals').status).toBe('INCOMPLETE');
    expectComplete(result, ['users']);
  });
});

test('no run printed the token', () => {
  expectNoTokenPrinted();
});
