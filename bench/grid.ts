/**
 * The latency × burst-limit grid of `npm run bench`: one fixed full sync (every stream but
 * deals_flow) against a fake Pipedrive that delays each answer by a network latency and keeps
 * Pipedrive's rolling 2 s burst limit. Per cell: the request rate reached and its share of the
 * ceiling (the burst limit, or the connector's own unthrottled request rate on this machine
 * when that is lower), the wall time, 429s, windows over the limit, the most requests in flight
 * (as the fake saw them) and the connector's peak RSS.
 */
import {
  BIN_MAIN,
  catalogOf,
  type FakeProcess,
  measure,
  type MeasuredRun,
  startFakeProcess,
  writeInputs,
} from './support';

export const GRID_LATENCIES_MS = [0, 100, 300, 800];
export const GRID_LIMITS = [20, 40, 120];
/** Unthrottled runs whose fastest sets the ceiling. */
const CEILING_RUNS = 3;

/** About 118,000 records in 335 requests (deal products 100 deals a call): 5.6 s at 60 requests/s. */
export const GRID_SIZES = {
  deals: 16_000,
  archivedDeals: 60,
  deletedDeals: 40,
  persons: 16_000,
  organizations: 8_000,
  activities: 16_000,
  notes: 8_000,
  products: 1_000,
  leads: 1_000,
  archivedLeads: 100,
};

/** Every stream of the connector's first release except deals_flow (40 tokens a deal). */
export const GRID_STREAMS = [
  'activity_fields',
  'deal_fields',
  'organization_fields',
  'person_fields',
  'product_fields',
  'users',
  'pipelines',
  'stages',
  'activity_types',
  'currencies',
  'teams',
  'teams_users',
  'organizations',
  'persons',
  'persons_emails',
  'persons_phones',
  'products',
  'products_prices',
  'deals',
  'deal_products',
  'lead_labels',
  'leads',
  'activities',
  'notes',
];

export interface GridCell {
  latencyMs: number;
  /** Burst limit per 2 s; null: unthrottled (the ceiling run). */
  limit: number | null;
  requests: number;
  requestsPerSecond: number;
  allowedPerSecond: number | null;
  ceilingPerSecond: number | null;
  share: number | null;
  wallMs: number;
  records: number;
  responses429: number;
  maxInAnyWindow: number;
  windowsOverLimit: boolean;
  maxInFlight: number;
  connectorMaxInFlight: number | null;
  peakRssKb: number;
}

/** Requests per second between the first and the last arrival the fake saw. */
function arrivalRate(times: Array<{ t: number }>): number {
  if (times.length < 2) return 0;
  return ((times.length - 1) / (times[times.length - 1].t - times[0].t)) * 1000;
}

export async function runCell(
  latencyMs: number,
  limit: number | null,
  log: (message: string) => void,
  /** Every list this many times its grid size (see bigCells). */
  scale = 1,
): Promise<Omit<GridCell, 'ceilingPerSecond' | 'share'>> {
  log(
    `  latency ${latencyMs} ms, burst limit ${limit ?? 'none'}${scale === 1 ? '' : `, lists ×${scale}`}…`,
  );
  const sizes = Object.fromEntries(
    Object.entries(GRID_SIZES).map(([name, size]) => [name, size * scale]),
  );
  const fake: FakeProcess = await startFakeProcess({
    seed: 7,
    sizes,
    burstLimit: limit,
    latency: { baseMs: latencyMs, jitterMs: Math.round(latencyMs / 3), seed: 7 },
  });
  try {
    const files = writeInputs({
      config: {
        api_token: fake.token,
        api_url: fake.url,
        max_requests_per_2_seconds: limit ?? 480,
      },
      catalog: catalogOf(GRID_STREAMS.map((name) => ({ name, syncMode: 'full_refresh' }))),
    });
    const run: MeasuredRun = await measure(BIN_MAIN, [
      'read',
      '--config',
      files.config,
      '--catalog',
      files.catalog,
    ]);
    if (process.env.GRID_DEBUG) process.stderr.write(run.stderr);
    if (run.code !== 0) {
      const errors = run.messages
        .filter((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')
        .map((message) => message.trace.error.message);
      throw new Error(
        `grid cell ${latencyMs} ms × ${limit}: exit ${run.code}: ${errors.join('; ')}`,
      );
    }
    const stats = (await fake.stats()) as any;
    const times = await fake.requestTimes();
    const summary = run.messages.find(
      (message) => message.type === 'LOG' && /^Sync used/.test(message.log.message),
    )?.log.message as string | undefined;
    const inFlight = /at most (\d+) in flight/.exec(summary ?? '');
    return {
      latencyMs,
      limit,
      requests: stats.requests,
      requestsPerSecond: arrivalRate(times),
      allowedPerSecond: limit === null ? null : limit / 2,
      wallMs: run.wallMs,
      records: run.totalRecords,
      responses429: stats.responses429,
      maxInAnyWindow: stats.maxRequestsInAnyWindow,
      windowsOverLimit: limit !== null && stats.maxRequestsInAnyWindow > limit,
      maxInFlight: stats.maxInFlight ?? 0,
      connectorMaxInFlight: inFlight ? Number(inFlight[1]) : null,
      peakRssKb: run.peakRssKb,
    };
  } finally {
    await fake.stop();
  }
}

/**
 * The whole grid, and first the ceiling: the connector's own request rate without latency and
 * without a burst limit (bounded by this machine's CPU, shared with the fake).
 */
export async function latencyGrid(log: (message: string) => void): Promise<{
  unthrottled: GridCell;
  cells: GridCell[];
}> {
  log('Latency grid: one full sync (every stream but deals_flow) per cell…');
  // The ceiling is the fastest of a few unthrottled runs: one slow run (other load on the
  // machine) would inflate every share of the 120 / 2 s column, past 100% even.
  let base = await runCell(0, null, log);
  for (let run = 1; run < CEILING_RUNS; run++) {
    const again = await runCell(0, null, log);
    if (again.requestsPerSecond > base.requestsPerSecond) base = again;
  }
  const unthrottled: GridCell = { ...base, ceilingPerSecond: null, share: null };
  const cells: GridCell[] = [];
  for (const latencyMs of GRID_LATENCIES_MS) {
    for (const limit of GRID_LIMITS) {
      const cell = await runCell(latencyMs, limit, log);
      const ceiling = Math.min(limit / 2, unthrottled.requestsPerSecond);
      cells.push({ ...cell, ceilingPerSecond: ceiling, share: cell.requestsPerSecond / ceiling });
    }
  }
  return { unthrottled, cells };
}

/** The cells where the grid's sync is shortest against the limit, and the list size of --big. */
export const BIG_CELLS: Array<[latencyMs: number, limit: number]> = [
  [300, 120],
  [800, 120],
];
export const BIG_SCALE = 4;

/**
 * The grid's fixed sync is about 5.6 s of work at 120 / 2 s: six round trips at 800 ms, fewer
 * than a list's chain of them (first page, windows, last fan-out, closing call). The same
 * cells with every list four times its size show how close a longer sync comes to the limit
 * once that chain is hidden. Ceiling: the burst limit (the connector's own unthrottled rate is
 * twice it or more).
 */
export async function bigCells(log: (message: string) => void): Promise<GridCell[]> {
  log(`Big cells: the grid's sync with every list ×${BIG_SCALE}…`);
  const cells: GridCell[] = [];
  for (const [latencyMs, limit] of BIG_CELLS) {
    const cell = await runCell(latencyMs, limit, log, BIG_SCALE);
    const ceiling = limit / 2;
    cells.push({ ...cell, ceilingPerSecond: ceiling, share: cell.requestsPerSecond / ceiling });
  }
  return cells;
}
