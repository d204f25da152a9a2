/**
 * The concurrent scheduler over a slow network, in counts (never timings): one big stream alone
 * keeps several requests in flight (updated_until windows), concurrent groups never exceed the
 * fake's rolling 2 s window, a stream's STATEs only move forward and carry the records emitted
 * since its previous STATE, and the rows read equal the truth.
 */
import { FakePipedrive } from './fake-pipedrive';
import {
  configuredCatalog,
  errorsOf,
  expectValidProtocol,
  recordsOf,
  runConnector,
  type RunResult,
} from './helpers/connector';

const TOKEN = 'concurrency-test-token-5e1f2a';

/** Per stream: the positions of its STATEs, in order, and whether recordCount added up. */
/** One read of these streams from the fake, with this burst limit per 2 s. */
function readFrom(
  fake: FakePipedrive,
  limit: number,
  streams: Parameters<typeof configuredCatalog>[0],
): Promise<RunResult> {
  return runConnector(['read'], {
    config: { api_token: TOKEN, api_url: fake.url, max_requests_per_2_seconds: limit },
    catalog: configuredCatalog(streams),
  });
}

function checkpointsOf(result: RunResult): Map<string, { positions: string[]; countsOk: boolean }> {
  const out = new Map<string, { positions: string[]; countsOk: boolean }>();
  const sinceState = new Map<string, number>();
  for (const message of result.messages) {
    if (message.type === 'RECORD') {
      const stream = message.record.stream;
      sinceState.set(stream, (sinceState.get(stream) ?? 0) + 1);
    } else if (message.type === 'STATE') {
      const stream = message.state.stream.stream_descriptor.name;
      const entry = out.get(stream) ?? { positions: [], countsOk: true };
      const position = message.state.stream.stream_state.update_time;
      if (typeof position === 'string') entry.positions.push(position);
      if (message.state.sourceStats.recordCount !== (sinceState.get(stream) ?? 0)) {
        entry.countsOk = false;
      }
      sinceState.set(stream, 0);
      out.set(stream, entry);
    }
  }
  return out;
}

const ascending = (values: string[]): boolean =>
  values.every((v, i) => i === 0 || v >= values[i - 1]);

describe('one big stream alone over a slow network', () => {
  const fake = new FakePipedrive({
    seed: 61,
    token: TOKEN,
    burstLimit: 120,
    latency: { baseMs: 60, jitterMs: 20 },
    sizes: { deals: 6000, archivedDeals: 5, deletedDeals: 5 },
  });
  let result: RunResult;

  beforeAll(async () => {
    await fake.start();
    result = await readFrom(fake, 120, [{ name: 'deals', syncMode: 'incremental' }]);
  });
  afterAll(() => fake.stop());

  test('reads every deal once per window, several requests in flight, within the limit', () => {
    expect(result.code).toBe(0);
    expectValidProtocol(result);
    expect(errorsOf(result)).toEqual([]);
    const ids = recordsOf(result, 'deals').map((deal) => deal.id);
    expect(new Set(ids).size).toBe(fake.count('deals'));
    // Windows are split in update_time order: a deal is read once (a resume re-reads a second).
    expect(ids.length).toBeLessThan(fake.count('deals') * 1.01 + 10);
    const windows = fake.requestLog.filter(
      (entry) => entry.path === '/api/v2/deals' && entry.query.updated_until !== undefined,
    );
    expect(windows.length).toBeGreaterThan(0);
    expect(fake.stats.maxInFlight).toBeGreaterThan(1);
    expect(fake.stats.maxRequestsInAnyWindow).toBeLessThanOrEqual(120);
    expect(fake.stats.responses429).toBe(0);
    // Splitting costs at most about one extra page per new window.
    const pages = fake.stats.byEndpoint['GET /api/v2/deals'].requests;
    expect(pages).toBeLessThanOrEqual(Math.ceil(6010 / 500) + windows.length + 2);
  });

  test('the STATE positions only move forward and count the records since the previous STATE', () => {
    const deals = checkpointsOf(result).get('deals')!;
    expect(deals.positions.length).toBeGreaterThan(3);
    expect(ascending(deals.positions)).toBe(true);
    expect(deals.countsOk).toBe(true);
  });
});

describe('one big stream alone fills the gate, not a fixed few lanes', () => {
  // 1 s round trips under 120 / 2 s: the gate plans its whole cap (64) in flight, and 100
  // pages make about 25 lanes of 4 pages. A pass used to stop at 16 lanes, so a deals-only
  // sync at 800 ms reached a quarter of the limit. (Shorter round trips would not show it here:
  // the fake shares this process's CPU, and the gate's CPU ceiling holds fewer in flight.)
  const fake = new FakePipedrive({
    seed: 65,
    token: TOKEN,
    burstLimit: 120,
    latency: { baseMs: 1000, jitterMs: 50 },
    sizes: { deals: 50_000, archivedDeals: 5, deletedDeals: 5 },
  });
  afterAll(() => fake.stop());

  test('more than 16 lanes of deals in flight at once, each deal once, within the limit', async () => {
    await fake.start();
    const result = await readFrom(fake, 120, [{ name: 'deals', syncMode: 'incremental' }]);
    expect(result.code).toBe(0);
    expect(errorsOf(result)).toEqual([]);
    const ids = recordsOf(result, 'deals').map((deal) => deal.id);
    expect(new Set(ids).size).toBe(fake.count('deals'));
    expect(ids.length).toBeLessThan(fake.count('deals') * 1.01 + 10);
    expect(fake.stats.maxInFlight).toBeGreaterThan(20);
    expect(fake.stats.maxRequestsInAnyWindow).toBeLessThanOrEqual(120);
    expect(fake.stats.responses429).toBe(0);
    const windows = fake.requestLog.filter(
      (entry) => entry.path === '/api/v2/deals' && entry.query.updated_until !== undefined,
    );
    const pages = fake.stats.byEndpoint['GET /api/v2/deals'].requests;
    expect(pages).toBeLessThanOrEqual(Math.ceil(50_010 / 500) + windows.length + 2);
  });
});

describe('one big stream alone in full refresh over a slow network', () => {
  const fake = new FakePipedrive({
    seed: 64,
    token: TOKEN,
    burstLimit: 120,
    latency: { baseMs: 60, jitterMs: 20 },
    sizes: { deals: 6000, archivedDeals: 5, deletedDeals: 5 },
  });
  afterAll(() => fake.stop());

  test('in windows, with the tail call for rows updated meanwhile: each deal exactly once', async () => {
    await fake.start();
    const result = await readFrom(fake, 120, [{ name: 'deals', syncMode: 'full_refresh' }]);
    expect(result.code).toBe(0);
    expect(errorsOf(result)).toEqual([]);
    const windows = fake.requestLog.filter(
      (entry) => entry.path === '/api/v2/deals' && entry.query.updated_until !== undefined,
    );
    expect(windows.length).toBeGreaterThan(0);
    // Overwrite keeps every row emitted: the tail must not repeat the newest second's rows.
    const ids = recordsOf(result, 'deals').map((deal) => deal.id);
    expect(ids.length).toBe(fake.count('deals'));
    expect(new Set(ids).size).toBe(fake.count('deals'));
  });
});

describe('a full refresh in windows: a row updated while they are read is not lost', () => {
  test('a deal moved out of a window not yet read, after the open last window ended, is read by the closing call', async () => {
    const fake = new FakePipedrive({
      seed: 65,
      token: TOKEN,
      burstLimit: 120,
      latency: { baseMs: 60, jitterMs: 20 },
      sizes: { deals: 12_000, archivedDeals: 5, deletedDeals: 5 },
    });
    await fake.start();
    try {
      const quiet = async (): Promise<void> => {
        // Until no other request arrives for a while: every lane but the held one is done.
        let seen = -1;
        while (seen !== fake.requestLog.length) {
          seen = fake.requestLog.length;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      };
      let moved: number | undefined;
      let heldWindow: { since: string; until: string; rows: number } | undefined;
      fake.onAfterRead(/^\/api\/v2\/deals\?/, async (f, request) => {
        const query = new URLSearchParams(request.slice(request.indexOf('?') + 1));
        const since = query.get('updated_since');
        const until = query.get('updated_until');
        // The first page of the first window a split started: held until the others end.
        if (heldWindow || !since || !until || query.has('cursor')) return;
        const inWindow = f
          .list('deals')
          .filter((deal) => {
            const time = `${String(deal.update_time).replace(' ', 'T').slice(0, 19)}Z`;
            return time >= since && time < until;
          })
          .sort((a, b) => String(a.update_time).localeCompare(String(b.update_time)));
        heldWindow = { since, until, rows: inWindow.length };
        await quiet();
        // A deal of the window's third page, which its lane has not asked for yet, changes:
        // its update_time moves past every window, whose lanes have all ended.
        const deal = inWindow[1_100];
        if (!deal) return;
        f.clock.advance(60);
        f.update('deals', deal.id as number, { title: 'Changed while the sync read' });
        moved = deal.id as number;
      });
      const result = await readFrom(fake, 120, [{ name: 'deals', syncMode: 'full_refresh' }]);
      expect(result.code).toBe(0);
      expect(errorsOf(result)).toEqual([]);
      expect(heldWindow?.rows).toBeGreaterThan(1_100);
      expect(moved).toBeDefined();
      const deals = recordsOf(result, 'deals');
      const ids = deals.map((deal) => deal.id);
      expect(new Set(ids).size).toBe(fake.count('deals'));
      expect(ids.length).toBe(fake.count('deals'));
      expect(deals.find((deal) => deal.id === moved)?.title).toBe('Changed while the sync read');
    } finally {
      await fake.stop();
    }
  }, 60_000);
});

describe('a lane that has ended hands its place to the window with the most pages left', () => {
  test('the open window is empty and ends at once; the window holding the rows is split again', async () => {
    const fake = new FakePipedrive({
      seed: 66,
      // The connector splits up to the sync's start on its own clock.
      now: new Date(),
      token: TOKEN,
      burstLimit: 120,
      latency: { baseMs: 60, jitterMs: 20 },
      sizes: { persons: 3_500 },
    });
    // The first page spans 10 days, the other 3,000 rows (6 pages) the next 45 days, and
    // nothing the 45 days after that. The split after the first page (4 pages a new lane)
    // keeps days 10-55 for the first lane and opens an empty window from day 55; the first
    // lane's own pages never have 8 pages left, enough to split on their own. When the empty
    // window ends, the place it hands over needs 4 (2 pages a new lane).
    const dayMs = 24 * 3600 * 1000;
    const start = fake.clock.now().getTime() - 100 * dayMs;
    const ids = fake
      .list('persons')
      .map((person) => person.id as number)
      .sort((a, b) => a - b);
    expect(ids.length).toBeGreaterThanOrEqual(3_500);
    ids.forEach((id, index) => {
      const days =
        index < 500 ? (index / 500) * 10 : 10 + ((index - 500) / (ids.length - 500)) * 45;
      const at = new Date(start + Math.floor((days * dayMs) / 1000) * 1000);
      fake.update('persons', id, { update_time: `${at.toISOString().slice(0, 19)}Z` });
    });
    await fake.start();
    try {
      const result = await readFrom(fake, 120, [{ name: 'persons', syncMode: 'full_refresh' }]);
      expect(result.code).toBe(0);
      expect(errorsOf(result)).toEqual([]);
      const firstPages = fake.requestLog.filter(
        (entry) => entry.path === '/api/v2/persons' && entry.query.cursor === undefined,
      );
      // The first lane (no bounds), the open window (since, no until), then a window handed
      // over inside the first lane's range (since and until).
      expect(
        firstPages.some((entry) => entry.query.updated_since && !entry.query.updated_until),
      ).toBe(true);
      const handed = firstPages.filter(
        (entry) => entry.query.updated_since && entry.query.updated_until,
      );
      expect(handed.length).toBeGreaterThan(0);
      const read = recordsOf(result, 'persons').map((person) => person.id);
      expect(read.length).toBe(fake.count('persons'));
      expect(new Set(read).size).toBe(fake.count('persons'));
    } finally {
      await fake.stop();
    }
  });
});

describe('a big v1 list alone (notes: no updated_until) over a slow network', () => {
  test('reads in windows kept client-side: several requests in flight, each note read', async () => {
    const fake = new FakePipedrive({
      seed: 63,
      token: TOKEN,
      burstLimit: 120,
      latency: { baseMs: 60, jitterMs: 20 },
      sizes: { notes: 6000 },
    });
    await fake.start();
    try {
      const result = await readFrom(fake, 120, [{ name: 'notes', syncMode: 'incremental' }]);
      expect(result.code).toBe(0);
      expect(errorsOf(result)).toEqual([]);
      const live = fake.list('notes').filter((note) => note.active_flag !== false).length;
      const ids = recordsOf(result, 'notes').map((note) => note.id);
      expect(new Set(ids).size).toBe(live);
      expect(fake.stats.maxInFlight).toBeGreaterThan(1);
      // Windows started after the first: requests whose updated_since is not where the
      // first lane's pages ended (several lanes walked the list at once).
      const starts = new Set(
        fake.requestLog
          .filter((entry) => entry.path === '/api/v1/notes' && entry.query.start === '0')
          .map((entry) => entry.query.updated_since),
      );
      expect(starts.size).toBeGreaterThan(Math.ceil(live / 500));
      const notes = checkpointsOf(result).get('notes')!;
      expect(ascending(notes.positions)).toBe(true);
      expect(notes.countsOk).toBe(true);
    } finally {
      await fake.stop();
    }
  });
});

describe('many groups at once over a slow network', () => {
  const fake = new FakePipedrive({
    seed: 62,
    token: TOKEN,
    burstLimit: 20,
    latency: { baseMs: 40, jitterMs: 20 },
    sizes: { deals: 1200, persons: 1500, organizations: 600, activities: 1500, notes: 700 },
  });
  const streams = [
    'deals',
    'deal_products',
    'persons',
    'persons_emails',
    'organizations',
    'activities',
    'notes',
  ];
  let result: RunResult;

  beforeAll(async () => {
    await fake.start();
    result = await runConnector(['read'], {
      config: { api_token: TOKEN, api_url: fake.url, max_requests_per_2_seconds: 20 },
      catalog: configuredCatalog([
        ...streams.map((name) => ({ name, syncMode: 'incremental' as const })),
        'users',
        'stages',
      ]),
    });
  });
  afterAll(() => fake.stop());

  test('never more than the burst limit in any rolling 2 s, by the fake’s own measure', () => {
    expect(result.code).toBe(0);
    expect(errorsOf(result)).toEqual([]);
    expect(fake.stats.maxRequestsInAnyWindow).toBeLessThanOrEqual(20);
    expect(fake.stats.responses429).toBe(0);
    // Groups overlap: more than one request was in flight at some point.
    expect(fake.stats.maxInFlight).toBeGreaterThan(1);
  });

  test('every stream: the truth, forward-only STATEs with exact record counts', () => {
    for (const name of ['deals', 'persons', 'organizations', 'activities', 'notes'] as const) {
      const ids = new Set(recordsOf(result, name).map((row) => row.id));
      expect({ name, count: ids.size }).toEqual({ name, count: fake.count(name) });
    }
    const lines = recordsOf(result, 'deal_products').map((row) => row.id);
    expect(new Set(lines).size).toBe(fake.count('dealProducts'));
    for (const [name, entry] of checkpointsOf(result)) {
      expect({ name, ascending: ascending(entry.positions), counts: entry.countsOk }).toEqual({
        name,
        ascending: true,
        counts: true,
      });
    }
  });
});

describe('big streams at once share the lanes: the first one back does not take them all', () => {
  // Deals come back first and their fan-out (five deal-product batches a page) keeps the gate
  // full; lanes taken from what the gate had spare left persons and activities one page at a
  // time until deals ended (at 800 ms x 120 with four times the grid's lists: 18 s). Here the
  // first pages of persons and activities are slow, so deals are surely back first.
  const fake = new FakePipedrive({
    seed: 64,
    token: TOKEN,
    burstLimit: 120,
    latency: { baseMs: 300 },
    slowMs: 1500,
    sizes: {
      deals: 32_000,
      persons: 12_000,
      activities: 12_000,
      archivedDeals: 5,
      deletedDeals: 5,
    },
  });
  const streams = ['deals', 'deal_products', 'persons', 'activities'];
  let result: RunResult;

  beforeAll(async () => {
    await fake.start();
    fake.failNext(/^\/api\/v2\/(persons|activities)$/, 'slow', 2);
    result = await readFrom(
      fake,
      120,
      streams.map((name) => ({ name, syncMode: 'full_refresh' })),
    );
  }, 120_000);
  afterAll(() => fake.stop());

  test('persons and activities each run several lanes while deals still read', () => {
    expect(result.code).toBe(0);
    expect(errorsOf(result)).toEqual([]);
    const log = fake.requestLog;
    const lastDealsPage = Math.max(
      ...log.filter((entry) => entry.path === '/api/v2/deals').map((entry) => entry.t),
    );
    // A lane's first request has no cursor yet (24 pages: 6 lanes of 4 pages; when a pass took
    // what the gate had spare, one of the two kept 1 lane).
    const lanesBefore = (path: string): number =>
      log.filter(
        (entry) =>
          entry.path === path && entry.query.cursor === undefined && entry.t < lastDealsPage,
      ).length;
    const lanes = {
      persons: lanesBefore('/api/v2/persons'),
      activities: lanesBefore('/api/v2/activities'),
    };
    expect({
      persons: lanes.persons >= 6,
      activities: lanes.activities >= 6,
      lanes,
    }).toEqual({ persons: true, activities: true, lanes });
  });

  test('every row once, exact counts in the STATEs', () => {
    for (const name of ['deals', 'persons', 'activities'] as const) {
      const ids = recordsOf(result, name).map((row) => row.id);
      expect({ name, distinct: new Set(ids).size, rows: ids.length }).toEqual({
        name,
        distinct: fake.count(name),
        rows: fake.count(name),
      });
    }
    expect(new Set(recordsOf(result, 'deal_products').map((row) => row.id)).size).toBe(
      fake.count('dealProducts'),
    );
    for (const [name, entry] of checkpointsOf(result)) {
      expect({ name, counts: entry.countsOk }).toEqual({ name, counts: true });
    }
  });
});

describe('a page waiting for its fan-out lets other streams parse theirs', () => {
  // A page of deals whose products are still being read keeps its lane waiting once many pages
  // fan out; it used to keep its parsed-page place too (8 in a sync), and persons, with no
  // fan-out of their own, parsed a page only when a page of deals was done. Here every
  // deal-products answer hangs for 20 s, so no page of deals can be done before persons end,
  // unless persons parse their pages while deals wait, and unless the gate lets a stream with
  // no request in flight send one while the batches hold every place (its target shrank under
  // them: persons' last call waited 18 s for a place before). A count, not a time: an earlier
  // version compared persons' end with the second wave of 2 s products answers, and failed on
  // a loaded machine. The run is killed once persons are complete.
  const fake = new FakePipedrive({
    seed: 65,
    token: TOKEN,
    burstLimit: 480,
    latency: { baseMs: 200 },
    slowMs: 20_000,
    sizes: { deals: 40_000, persons: 16_000, archivedDeals: 5, deletedDeals: 5 },
  });
  let result: RunResult;
  let before: { productRecords: number; dealRecords: number; inFlight: number } | undefined;

  beforeAll(async () => {
    await fake.start();
    fake.failNext(/^\/api\/v2\/deals\/products$/, 'slow', 10_000);
    let productRecords = 0;
    let dealRecords = 0;
    result = await runConnector(['read'], {
      // Room for persons' lanes beside the hung batches (with 64 they would read on one lane).
      config: {
        api_token: TOKEN,
        api_url: fake.url,
        max_requests_per_2_seconds: 480,
        max_concurrent_requests: 256,
      },
      catalog: configuredCatalog(['deals', 'deal_products', 'persons']),
      onMessage: (message, child) => {
        if (message.type === 'RECORD' && message.record.stream === 'deal_products')
          productRecords++;
        if (message.type === 'RECORD' && message.record.stream === 'deals') dealRecords++;
        const status = message.trace?.stream_status;
        if (status?.stream_descriptor.name === 'persons' && status.status === 'COMPLETE') {
          before ??= { productRecords, dealRecords, inFlight: fake.stats.inFlight };
          child.kill('SIGKILL');
        }
      },
      timeoutMs: 60_000,
    });
  }, 120_000);
  afterAll(() => fake.stop());

  test('persons complete while every page of deals waits for its products', () => {
    expect(errorsOf(result)).toEqual([]);
    // No products answer came back, while deals had written more pages than there are
    // parsed-page places and the batches of all of them were in flight.
    expect(before).toEqual({ ...before, productRecords: 0 });
    expect(before!.dealRecords).toBeGreaterThan(8 * 500);
    expect(before!.inFlight).toBeGreaterThan(8 * 5);
    expect(new Set(recordsOf(result, 'persons').map((row) => row.id)).size).toBe(
      fake.count('persons'),
    );
  });
});

describe('another client on the same token', () => {
  // It sends 3 requests per second: Pipedrive counts more in its window than this sync sent.
  const fake = new FakePipedrive({
    seed: 63,
    token: TOKEN,
    burstLimit: 20,
    otherClientRequestsPerSecond: 3,
    latency: { baseMs: 20, jitterMs: 10 },
    sizes: { deals: 1500, persons: 1500, organizations: 600 },
  });
  let result: RunResult;

  beforeAll(async () => {
    await fake.start();
    result = await readFrom(fake, 20, ['deals', 'deal_products', 'persons', 'organizations']);
  });
  afterAll(() => fake.stop());

  test('the connector spaces its windows further apart, says so, and reads everything', () => {
    expect(result.code).toBe(0);
    expect(errorsOf(result)).toEqual([]);
    expectValidProtocol(result);
    const infos = result.messages
      .filter((m) => m.type === 'LOG' && m.log.level === 'INFO')
      .map((m) => m.log.message as string);
    expect(infos.filter((m) => /Spacing the burst windows further apart/.test(m))).toHaveLength(1);
    for (const name of ['deals', 'persons', 'organizations'] as const) {
      expect(new Set(recordsOf(result, name).map((row) => row.id)).size).toBe(fake.count(name));
    }
    // The other client takes part of the limit; the 429s it causes are waited out, not
    // hammered: far fewer than the requests (an unspaced retry loop would be most of them).
    expect(fake.stats.responses429).toBeLessThanOrEqual(Math.ceil(fake.stats.requests / 5));
  });
});

describe('one big stream over loopback (no latency)', () => {
  const fake = new FakePipedrive({
    seed: 65,
    token: TOKEN,
    sizes: { deals: 3000, archivedDeals: 5, deletedDeals: 5 },
  });
  afterAll(() => fake.stop());

  test('no windows: pages come as fast as they are taken, so splitting would only add pages', async () => {
    await fake.start();
    const result = await readFrom(fake, 480, [{ name: 'deals', syncMode: 'full_refresh' }]);
    expect(result.code).toBe(0);
    const windows = fake.requestLog.filter((entry) => entry.query.updated_until !== undefined);
    expect(windows).toEqual([]);
    expect(fake.stats.byEndpoint['GET /api/v2/deals'].requests).toBe(Math.ceil(3010 / 500));
    expect(new Set(recordsOf(result, 'deals').map((deal) => deal.id)).size).toBe(3010);
  });
});

describe('the first pages are asked for while the field definitions load', () => {
  // A fixed 400 ms per answer, no jitter: a request that waited for another's answer arrives
  // at least 400 ms after it.
  const fake = new FakePipedrive({
    seed: 65,
    token: TOKEN,
    latency: { baseMs: 400, jitterMs: 0 },
    sizes: { deals: 300, archivedDeals: 5, deletedDeals: 5 },
  });
  let result: RunResult;
  beforeAll(async () => {
    await fake.start();
    result = await runConnector(['read'], {
      config: { api_token: TOKEN, api_url: fake.url },
      // One group: its field definitions and first pages fit in the gate's first 4 places.
      catalog: configuredCatalog([{ name: 'deals', syncMode: 'incremental' }]),
    });
  });
  afterAll(() => fake.stop());

  test('each list request leaves before its field definitions are answered; rows have their custom columns', () => {
    expect(result.code).toBe(0);
    expectValidProtocol(result);
    expect(errorsOf(result)).toEqual([]);
    const arrival = (path: string): number =>
      fake.requestLog.find((entry) => entry.path === path)!.t;
    expect(arrival('/api/v2/deals') - arrival('/api/v1/dealFields')).toBeLessThan(300);
    expect(arrival('/api/v2/deals/archived') - arrival('/api/v1/dealFields')).toBeLessThan(300);
    // The rows were shaped with the plan: custom fields are named columns, the hash object gone.
    const deals = recordsOf(result, 'deals');
    expect(deals).toHaveLength(fake.count('deals'));
    const customColumns = Object.keys(deals[0]).filter((key) => /^[a-f0-9]{40}$/.test(key));
    expect(customColumns).toEqual([]);
    expect(deals.every((deal) => !('custom_fields' in deal))).toBe(true);
    expect(deals.every((deal) => 'seats' in deal && 'contract_value_currency' in deal)).toBe(true);
  });
});

describe('a lane lists its next pages while the fan-out of the earlier ones is read', () => {
  // A deal-products batch answers slowly (1 s: another service behind it); the list is fast,
  // so there is one lane (no split over loopback). A lane that waited for every page's five
  // batches before asking for the page after next would have asked for at most two pages when
  // the first batch is answered.
  const fake = new FakePipedrive({
    seed: 62,
    token: TOKEN,
    sizes: { deals: 4000, archivedDeals: 0, deletedDeals: 0 },
  });
  let result: RunResult;
  let pagesListedBeforeFirstBatch = -1;

  beforeAll(async () => {
    await fake.start();
    const dealPages = () =>
      fake.requestLog.filter((entry) => entry.path === '/api/v2/deals').length;
    // Only the first batch is slow: page 1's fan-out stays unfinished for a second while the
    // gate has places for everything else (however few the CPU leaves it).
    fake.onAfterRead(
      /^\/api\/v2\/deals\/products$/,
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        pagesListedBeforeFirstBatch = dealPages();
      },
      1,
    );
    result = await runConnector(['read'], {
      // A high limit: the gate's places, not the rate, decide (it adapts them to the rate).
      config: { api_token: TOKEN, api_url: fake.url, max_requests_per_2_seconds: 480 },
      catalog: configuredCatalog([
        { name: 'deals', syncMode: 'incremental' },
        { name: 'deal_products', syncMode: 'incremental' },
      ]),
    });
  });
  afterAll(() => fake.stop());

  test('several pages ahead of the first batch, and still every row with exact checkpoints', () => {
    expect(result.code).toBe(0);
    expectValidProtocol(result);
    expect(errorsOf(result)).toEqual([]);
    expect(pagesListedBeforeFirstBatch).toBeGreaterThanOrEqual(4);
    const deals = new Set(recordsOf(result, 'deals').map((deal) => deal.id));
    expect(deals.size).toBe(fake.count('deals'));
    const products = recordsOf(result, 'deal_products');
    expect(products.length).toBeGreaterThan(0);
    expect(new Set(products.map((row) => row.id)).size).toBe(products.length);
    for (const row of products) expect(deals.has(row.deal_id)).toBe(true);
    for (const [name, entry] of checkpointsOf(result)) {
      expect([name, ascending(entry.positions), entry.countsOk]).toEqual([name, true, true]);
    }
    // Each stream's last STATE comes after its last record.
    for (const name of ['deals', 'deal_products']) {
      const lastIndex = (keep: (message: any) => boolean): number =>
        result.messages.reduce((found, message, index) => (keep(message) ? index : found), -1);
      const last = lastIndex((m) => m.type === 'RECORD' && m.record.stream === name);
      const state = lastIndex(
        (m) => m.type === 'STATE' && m.state.stream.stream_descriptor.name === name,
      );
      expect([name, state > last]).toEqual([name, true]);
    }
  });
});

describe('lists go before fan-out batches in the burst window', () => {
  // Pages of deals come back fast and each asks for five deal-product batches at once; pages of
  // persons come back later in each round trip. Served as they come, the batches take the
  // window's places before persons' answers are in, and every page of persons waits for the
  // next part of the window: persons end with the batches, at the end of the sync. A batch
  // that leaves each list under way a place for its next page lets persons read at the pace of
  // their round trips, and the batches fill the rest.
  const fake = new FakePipedrive({
    seed: 66,
    token: TOKEN,
    burstLimit: 40,
    latency: { baseMs: 60 },
    sizes: { deals: 10_000, persons: 6_000, archivedDeals: 0, deletedDeals: 0 },
  });
  let result: RunResult;

  beforeAll(async () => {
    await fake.start();
    fake.onAfterRead(/^\/api\/v2\/persons$/, () => new Promise((r) => setTimeout(r, 300)));
    // One family in two modes: incremental deals, their products in full refresh.
    result = await readFrom(fake, 40, [
      { name: 'deals', syncMode: 'incremental' },
      { name: 'deal_products', syncMode: 'full_refresh' },
      { name: 'persons', syncMode: 'full_refresh' },
    ]);
  }, 120_000);
  afterAll(() => fake.stop());

  test('persons end while most batches are still to come; every row once', () => {
    expect(result.code).toBe(0);
    expect(errorsOf(result)).toEqual([]);
    const log = fake.requestLog;
    const lastPersons = log.map((entry) => entry.path).lastIndexOf('/api/v2/persons');
    const isBatch = (entry: { path: string }) => entry.path === '/api/v2/deals/products';
    const batches = log.filter(isBatch).length;
    const after = log.slice(lastPersons).filter(isBatch).length;
    // Measured: 59-63 of 102 batches after persons' last page; 7-26 when batches took the
    // window as they came.
    expect({ after: after > 0.45 * batches, batches }).toEqual({ after: true, batches });
    expect(fake.stats.maxRequestsInAnyWindow).toBeLessThanOrEqual(40);
    for (const name of ['deals', 'persons'] as const) {
      const ids = recordsOf(result, name).map((row) => row.id);
      expect({ name, rows: ids.length, distinct: new Set(ids).size }).toEqual({
        name,
        rows: fake.count(name),
        distinct: fake.count(name),
      });
    }
    expect(new Set(recordsOf(result, 'deal_products').map((row) => row.id)).size).toBe(
      fake.count('dealProducts'),
    );
  });
});
