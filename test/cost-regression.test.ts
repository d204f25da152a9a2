import { FakePipedrive } from './fake-pipedrive';
import {
  configuredCatalog,
  errorsOf,
  expectValidProtocol,
  lastStates,
  recordsOf,
  runConnector,
  type RunResult,
} from './helpers/connector';

/**
 * What a sync costs, in requests per endpoint and API tokens, as counted by the fake: exactly
 * the least the API allows. Pipedrive's daily token budget is shared by every integration of a
 * company, so one more call per page or per deal is a regression even when all tests pass.
 *
 *  - a list endpoint: ceil(records / 500) pages (the cost does not depend on `limit`);
 *  - deal products: 100 changed deals per call, per pass (/deals, then /deals/archived),
 *    deleted deals included (their lines become tombstones);
 *  - deal flow: one call per changed deal, deleted deals included (the seed: "all deleted deals
 *    are processed");
 *  - field definitions: one call per entity with custom fields, every run.
 * Not timing-based: only counts.
 */

const SEED = 11;
const SIZES = {
  deals: 520,
  archivedDeals: 15,
  deletedDeals: 10,
  persons: 730,
  organizations: 260,
  activities: 610,
  // Notes page by moving updated_since (src/streams/v1-sorted.ts), so each next page starts
  // with the 1–2 notes of the boundary second again: 700 leaves room for them in the last page.
  notes: 700,
  products: 120,
  leads: 0,
  archivedLeads: 0,
  productsPerDealMax: 3,
  flowEventsPerDealMax: 6,
};

const PAGE = 500;
const DEAL_IDS_PER_CALL = 100;

/** Pipedrive's token cost per call (x-token-cost in the OpenAPI files). */
const COST: Record<string, number> = {
  'GET /api/v2/deals': 10,
  'GET /api/v2/deals/archived': 20,
  'GET /api/v2/deals/products': 10,
  'GET /api/v1/deals/{id}/flow': 40,
  'GET /api/v2/persons': 10,
  'GET /api/v2/organizations': 10,
  'GET /api/v2/activities': 10,
  'GET /api/v2/products': 10,
  'GET /api/v1/notes': 20,
  'GET /api/v1/dealFields': 20,
  'GET /api/v1/personFields': 20,
  'GET /api/v1/organizationFields': 20,
  'GET /api/v1/activityFields': 20,
  'GET /api/v1/productFields': 20,
};

const FIELD_DEFINITIONS = {
  'GET /api/v1/dealFields': 1,
  'GET /api/v1/personFields': 1,
  'GET /api/v1/organizationFields': 1,
  'GET /api/v1/activityFields': 1,
  'GET /api/v1/productFields': 1,
};

const STREAMS = [
  'deals',
  'deal_products',
  'deals_flow',
  'persons',
  'organizations',
  'activities',
  'notes',
  'products',
];

const pages = (records: number): number => Math.max(1, Math.ceil(records / PAGE));
const batches = (deals: number): number => Math.ceil(deals / DEAL_IDS_PER_CALL);

function tokensFor(requests: Record<string, number>): number {
  return Object.entries(requests).reduce((sum, [endpoint, count]) => {
    if (COST[endpoint] === undefined) throw new Error(`No cost known for ${endpoint}`);
    return sum + count * COST[endpoint];
  }, 0);
}

describe('API cost of a sync (requests per endpoint and tokens, counted by the fake)', () => {
  const fake = new FakePipedrive({ seed: SEED, sizes: SIZES });
  const catalog = configuredCatalog(STREAMS.map((name) => ({ name, syncMode: 'incremental' })));
  let config: Record<string, unknown>;
  let state: unknown[] = [];

  beforeAll(async () => {
    await fake.start();
    // No burst limit on the fake: a generous client limit keeps the test quick.
    config = { api_token: fake.token, api_url: fake.url, max_requests_per_2_seconds: 480 };
  });
  afterAll(() => fake.stop());

  /** Runs an incremental sync from `state` and returns what the fake counted. */
  async function sync(): Promise<{ result: RunResult; requests: Record<string, number> }> {
    fake.resetStats();
    const result = await runConnector(['read'], { config, catalog, state });
    expectValidProtocol(result);
    expect(errorsOf(result)).toEqual([]);
    expect(result.code).toBe(0);
    state = lastStates(result);
    const requests: Record<string, number> = {};
    for (const [endpoint, stats] of Object.entries(fake.stats.byEndpoint)) {
      requests[endpoint] = stats.requests;
    }
    expect(fake.stats.responses429).toBe(0);
    return { result, requests };
  }

  test('first sync: ceil(records/500) pages per list, 100 deals per products call, one flow call per deal', async () => {
    const deals = fake.list('deals');
    const listed = deals.filter((deal) => deal.is_archived !== true);
    const archived = deals.filter((deal) => deal.is_archived === true);
    const expected: Record<string, number> = {
      'GET /api/v2/deals': pages(listed.length),
      'GET /api/v2/deals/archived': pages(archived.length),
      'GET /api/v2/deals/products': batches(listed.length) + batches(archived.length),
      'GET /api/v1/deals/{id}/flow': deals.length,
      'GET /api/v2/persons': pages(fake.count('persons')),
      'GET /api/v2/organizations': pages(fake.count('organizations')),
      'GET /api/v2/activities': pages(fake.count('activities')),
      'GET /api/v2/products': pages(fake.count('products')),
      'GET /api/v1/notes': pages(fake.count('notes')),
      ...FIELD_DEFINITIONS,
    };

    const { result, requests } = await sync();

    expect(requests).toEqual(expected);
    expect(fake.stats.tokensSpent).toBe(tokensFor(expected));
    // The counts mean something only if everything was read.
    expect(recordsOf(result, 'deals')).toHaveLength(deals.length);
    expect(recordsOf(result, 'persons')).toHaveLength(fake.count('persons'));
    expect(recordsOf(result, 'notes')).toHaveLength(fake.count('notes'));
    expect(recordsOf(result, 'deal_products')).toHaveLength(
      deals.reduce((sum, deal) => sum + fake.dealProductsOf(deal.id as number).length, 0),
    );
  });

  // If this fails with one extra flow and products call: the deals whose update_time equals
  // the saved cursor are fanned out again (deals.ts changedDeals compares with >=), 50 tokens
  // per pass and sync even when nothing changed.
  test('no changes: one call per list endpoint, no per-deal call', async () => {
    const expected: Record<string, number> = {
      'GET /api/v2/deals': 1,
      'GET /api/v2/deals/archived': 1,
      'GET /api/v2/persons': 1,
      'GET /api/v2/organizations': 1,
      'GET /api/v2/activities': 1,
      'GET /api/v2/products': 1,
      'GET /api/v1/notes': 1,
      ...FIELD_DEFINITIONS,
    };

    const { result, requests } = await sync();

    expect(requests).toEqual(expected);
    expect(fake.stats.tokensSpent).toBe(tokensFor(expected));
    expect(recordsOf(result, 'deal_products')).toEqual([]);
    expect(recordsOf(result, 'deals_flow')).toEqual([]);
  });

  test('three deals changed: one products call and three flow calls, for those deals only', async () => {
    const changed = fake
      .list('deals')
      .filter((deal) => deal.is_archived !== true && deal.is_deleted !== true)
      .filter((_, index) => index % 150 === 7)
      .slice(0, 3)
      .map((deal) => deal.id as number);
    expect(changed).toHaveLength(3);
    fake.clock.advance(3600);
    for (const id of changed) fake.update('deals', id, { title: `Changed deal ${id}` });
    const expected: Record<string, number> = {
      'GET /api/v2/deals': 1,
      'GET /api/v2/deals/archived': 1,
      'GET /api/v2/deals/products': 1,
      'GET /api/v1/deals/{id}/flow': 3,
      'GET /api/v2/persons': 1,
      'GET /api/v2/organizations': 1,
      'GET /api/v2/activities': 1,
      'GET /api/v2/products': 1,
      'GET /api/v1/notes': 1,
      ...FIELD_DEFINITIONS,
    };

    const { result, requests } = await sync();

    expect(requests).toEqual(expected);
    expect(fake.stats.tokensSpent).toBe(tokensFor(expected));
    const flowPaths = fake.requestLog
      .filter((entry) => /\/flow$/.test(entry.path))
      .map((entry) => Number(entry.path.split('/').at(-2)))
      .sort((a, b) => a - b);
    expect(flowPaths).toEqual([...changed].sort((a, b) => a - b));
    const productCall = fake.requestLog.find((entry) => entry.path.endsWith('/deals/products'));
    expect(
      productCall?.query.deal_ids
        ?.split(',')
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual([...changed].sort((a, b) => a - b));
    expect(new Set(recordsOf(result, 'deals_flow').map((row) => row.deal_id))).toEqual(
      new Set(changed),
    );
  });
});
