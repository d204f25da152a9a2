import type { FakePipedrive } from './fake-pipedrive';
import {
  configuredCatalog,
  errorsOf,
  expectValidProtocol,
  lastStates,
  recordsOf,
  type RunResult,
} from './helpers/connector';
import { mergeStates } from './helpers/resilience';
import {
  configFor,
  expectNoTokenPrinted,
  fakePool,
  finalState,
  flowRequestIds,
  incremental,
  lastStatusOf,
  logsOf,
  requestsTo,
  rfc,
  run,
  shifted,
  TINY,
} from './helpers/scenarios';

/**
 * Issue 9, items 3 and 4, through bin/main against the fake: the seed's rules for deal history
 * (deleted deals get their flow read and their lines come out as tombstones, a deal that
 * appears late inside the look-back window gets its children read, a deal re-listed at a
 * version already read costs nothing, the summary says what these rules cost), and a change
 * that lands between Pipedrive's read and its Date header.
 */

const STREAMS = ['deals', 'deal_products', 'deals_flow'];
const catalog = configuredCatalog(incremental(...STREAMS));

const fakeWith = fakePool(TINY);

function expectComplete(result: RunResult): void {
  expectValidProtocol(result);
  expect({ code: result.code, errors: errorsOf(result) }).toEqual({ code: 0, errors: [] });
  for (const name of STREAMS) expect(lastStatusOf(result, name).status).toBe('COMPLETE');
}

/** The key the connector gives a flow event (`<object>:<data.id>`). */
const eventKey = (event: { object: string; data: Record<string, unknown> }): string =>
  `${event.object}:${String(event.data.id)}`;
const keysOfStream = (result: RunResult, stream: string): unknown[] =>
  recordsOf(result, stream).map((row) => row.id);
const v1Time = (rfc3339: string): string => rfc3339.replace('T', ' ').slice(0, 19);
const later = (fake: FakePipedrive) => fake.clock.advance(120);

describe('deal history rules (issue 9, item 3)', () => {
  test('deleted deals, a deal that appears late inside the look-back, deals re-listed at a version already read', async () => {
    const fake = await fakeWith(51);
    const first = await run(['read'], { config: configFor(fake), catalog });
    expectComplete(first);
    // Deals deleted before the first sync: their flow is read and their lines are tombstones.
    const deletedBefore = fake.list('deals').filter((deal) => deal.is_deleted === true);
    expect(deletedBefore.length).toBeGreaterThan(0);
    for (const deal of deletedBefore) expect(flowRequestIds(fake)).toContain(deal.id);
    for (const line of recordsOf(first, 'deal_products')) {
      const deleted = deletedBefore.some((deal) => deal.id === line.deal_id);
      expect({ line: line.id, tombstone: line._ab_cdc_deleted_at !== null }).toEqual({
        line: line.id,
        tombstone: deleted,
      });
    }
    const position = finalState(first, 'deals_flow').update_time as string;

    // Between the syncs: two deals deleted (one of whose flow is gone by the time it is read),
    // and one deal that shows up late: changed (a new line, a flow event) two hours before
    // the saved position, inside the 24 h look-back.
    later(fake);
    const live = fake.list('deals').filter((deal) => deal.is_deleted !== true && !deal.is_archived);
    const withLines = live.filter((deal) => fake.dealProductsOf(deal.id as number).length > 0);
    const deleted = withLines[withLines.length - 1].id as number;
    const gone = withLines[withLines.length - 2].id as number;
    const late = live[0].id as number;
    expect(rfc(live[0].update_time) < shifted(position, -24 * 3600)).toBe(true);
    fake.remove('deals', deleted);
    fake.remove('deals', gone);
    const lateTime = shifted(position, -2 * 3600);
    const lateLine = fake.addDealProduct(late, { quantity: 7 });
    fake.update('deals', late, { update_time: lateTime });
    const lateEvent = fake.addFlowEvent(late, {
      timestamp: v1Time(lateTime),
      data: { field_key: 'value', old_value: 100, new_value: 700 },
    });
    fake.failNext(new RegExp(`/deals/${gone}/flow$`), 410);
    later(fake);
    fake.resetStats();

    const second = await run(['read'], {
      config: configFor(fake),
      catalog,
      state: lastStates(first),
    });
    expectComplete(second);
    // Exactly the deleted and the late deals, one flow call each: the other deals re-listed
    // by the look-back are at versions already read.
    expect(flowRequestIds(fake)).toEqual([deleted, gone, late].sort((a, b) => a - b));
    expect(requestsTo(fake, /\/deals\/products$/)).toHaveLength(1);
    const events = keysOfStream(second, 'deals_flow');
    expect(events).toContain(eventKey(fake.flowOf(deleted)![0]));
    expect(events).toContain(eventKey(lateEvent));
    // A flow gone by the time it is read (410) is a warning, not a failure.
    expect(
      logsOf(second, 'WARN').filter((m) => m.includes(`Deal ${gone} is gone (410)`)),
    ).toHaveLength(1);
    // Lines of the deleted deals are tombstones; the late deal's new line arrives.
    const lines = recordsOf(second, 'deal_products');
    for (const dealId of [deleted, gone]) {
      const ofDeal = lines.filter((line) => line.deal_id === dealId);
      expect(ofDeal.map((line) => line.id).sort()).toEqual(
        fake
          .dealProductsOf(dealId)
          .map((line) => line.id)
          .sort(),
      );
      for (const line of ofDeal) expect(line._ab_cdc_deleted_at).not.toBeNull();
    }
    expect(lines.map((line) => line.id)).toContain(lateLine.id);
    // The summary says what the rules cost beyond the deals that changed since the position.
    const flowSummary = logsOf(second, 'INFO').find((m) => /^Finished deals_flow/.test(m)) ?? '';
    expect(flowSummary).toMatch(/2 for deleted parents/);
    expect(flowSummary).toMatch(/1 for parents that appeared late inside the look-back/);
    expect(flowSummary).toMatch(/about 120 API tokens/);

    // Nothing changed: every deal the look-back lists again was read at that version.
    later(fake);
    fake.resetStats();
    const third = await run(['read'], {
      config: configFor(fake),
      catalog,
      state: mergeStates(lastStates(first), second),
    });
    expectComplete(third);
    expect(recordsOf(third, 'deals').length).toBeGreaterThan(0);
    expect(flowRequestIds(fake)).toEqual([]);
    expect(requestsTo(fake, /\/deals\/products$/)).toHaveLength(0);
    expect(logsOf(third).filter((m) => /Beyond changed parents/.test(m))).toEqual([]);
  });
});

describe('a change between Pipedrive’s read and its Date header (issue 9, item 4)', () => {
  test('a deal changed in the cursor’s second after the listing read its data is fanned out next run', async () => {
    const fake = await fakeWith(52);
    const first = await run(['read'], { config: configFor(fake), catalog });
    expectComplete(first);

    // The next sync's cursor second: a deal changed at T.
    later(fake);
    const changed = 30;
    fake.update('deals', changed, { title: 'Changed at T' });
    // While Pipedrive answers that sync's listing, after it read its data and before it wrote
    // the Date header, another deal changes in the same second T (an event and a new line),
    // and the clock moves on: the Date says T+20 s, past the second.
    const other = 1;
    let hookRan = 0;
    fake.onAfterRead(
      /^\/api\/v2\/deals$/,
      (f) => {
        hookRan++;
        f.update('deals', other, { title: 'Changed between the read and the Date' });
        f.addDealProduct(other, { quantity: 3 });
        f.clock.advance(20);
      },
      1,
    );
    const second = await run(['read'], {
      config: configFor(fake),
      catalog,
      state: lastStates(first),
    });
    expectComplete(second);
    expect(hookRan).toBe(1);
    const newEvent = fake.flowOf(other)!.find((event) => event.data.field_key === 'title')!;
    const newLine = fake.dealProductsOf(other).at(-1)!;
    const cursorSecond = rfc(fake.get('deals', changed)!.update_time);
    expect(rfc(fake.get('deals', other)!.update_time)).toBe(cursorSecond);
    expect(finalState(second, 'deals_flow').update_time).toBe(cursorSecond);
    // That listing could not show the other deal's change…
    expect(keysOfStream(second, 'deals_flow')).not.toContain(eventKey(newEvent));
    expect(keysOfStream(second, 'deal_products')).not.toContain(newLine.id);

    // …so the next run must not take the Date header as proof that the second was complete.
    later(fake);
    fake.resetStats();
    const third = await run(['read'], {
      config: configFor(fake),
      catalog,
      state: mergeStates(lastStates(first), second),
    });
    expectComplete(third);
    expect(flowRequestIds(fake)).toEqual([other]);
    expect(keysOfStream(third, 'deals_flow')).toContain(eventKey(newEvent));
    expect(keysOfStream(third, 'deal_products')).toContain(newLine.id);
  });
});

test('no run printed the token', () => {
  expectNoTokenPrinted();
});
