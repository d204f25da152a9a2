/**
 * `npm run bench`: throughput, burst-limit use, memory, API tokens and start-up time of the
 * connector against the fake Pipedrive (in its own process), printed as one table and saved
 * to bench/results/latest.json.
 *
 *   npm run bench                        all five targets, sized to take about a minute
 *   npm run bench -- --records 1000000   memory only: read that many deals, RSS at 25/50/75/100%
 *   npm run bench -- --grid              the latency × burst-limit grid only
 *   npm run bench -- --big               300 and 800 ms × 120 with every list 4 × the grid's
 *   npm run bench -- --throughput        loopback throughput against the plain copier only
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BIG_SCALE, bigCells, type GridCell, latencyGrid } from './grid';
import {
  BIN_MAIN,
  catalogOf,
  type FakeProcess,
  int,
  lastStates,
  mb,
  measure,
  type MeasuredRun,
  seconds,
  startFakeProcess,
  type StatsDelta,
  statsDelta,
  table,
  writeInputs,
} from './support';

const RESULTS = path.join(__dirname, 'results', 'latest.json');
const SEED = 42;
const PAGE = 500;

/** The streams of the throughput run and the fake's size for each (about a minute in all). */
const THROUGHPUT_SIZES = {
  deals: 32_000,
  persons: 16_000,
  organizations: 8_000,
  activities: 16_000,
  notes: 8_000,
};
const THROUGHPUT_STREAMS = Object.keys(THROUGHPUT_SIZES);
/** Archived and deleted deals come on top of `deals` (the fake's defaults). */
const ARCHIVED_DEALS = 15;
const DELETED_DEALS = 10;

/** The long stream of the burst run: 200 pages of organizations, over 20 s at 10 requests/s. */
const BURST_STREAM = 'organizations';
const BURST_RECORDS = 100_000;
/** Throughput runs per reader; the best counts (other load on the machine only slows runs). */
const ROUNDS = 3;
const BURST_LIMIT = 20;
/** The memory run's burst limit: Pipedrive's highest plan, so the most requests in flight. */
const MEMORY_LIMIT = 120;

/**
 * Token cost and paths per stream, as the fake (and Pipedrive) charge them. `overlap`: rows each page after the first shares with the one before. v1 notes page by moving
 * an inclusive `updated_since` to the page's newest update_time, so the next page starts with
 * that boundary row again: a loss-free read of N notes needs 1 + ceil((N - 500) / 499) calls.
 * Stepping past the boundary by offset instead would skip a row whenever a row of that second
 * changes between the two calls (README, notes / leads).
 */
const LIST_ENDPOINTS: Record<
  string,
  Array<{ endpoint: string; cost: number; overlap?: number }>
> = {
  deals: [
    { endpoint: 'GET /api/v2/deals', cost: 10 },
    { endpoint: 'GET /api/v2/deals/archived', cost: 20 },
  ],
  persons: [{ endpoint: 'GET /api/v2/persons', cost: 10 }],
  organizations: [{ endpoint: 'GET /api/v2/organizations', cost: 10 }],
  activities: [{ endpoint: 'GET /api/v2/activities', cost: 10 }],
  notes: [{ endpoint: 'GET /api/v1/notes', cost: 20, overlap: 1 }],
};
const FIELD_ENDPOINTS: Record<string, string> = {
  deals: 'GET /api/v1/dealFields',
  persons: 'GET /api/v1/personFields',
  organizations: 'GET /api/v1/organizationFields',
  activities: 'GET /api/v1/activityFields',
};
const FIELD_CALL_COST = 20;

const log = (message: string): void => {
  process.stderr.write(`${message}\n`);
};

function parseArgs(argv: string[]): {
  records?: number;
  grid?: boolean;
  big?: boolean;
  throughput?: boolean;
} {
  if (argv.includes('--grid')) return { grid: true };
  if (argv.includes('--big')) return { big: true };
  if (argv.includes('--throughput')) return { throughput: true };
  const index = argv.indexOf('--records');
  if (index === -1) return {};
  const records = Number(argv[index + 1]);
  if (!Number.isInteger(records) || records < 1000) {
    throw new Error('--records needs a whole number of at least 1000, e.g. --records 1000000');
  }
  return { records };
}

function connectorConfig(fake: FakeProcess, maxRequests: number): unknown {
  return { api_token: fake.token, api_url: fake.url, max_requests_per_2_seconds: maxRequests };
}

function connectorRun(
  files: Record<string, string>,
  options: Parameters<typeof measure>[2] = {},
): Promise<MeasuredRun> {
  const args = ['read', '--config', files.config, '--catalog', files.catalog];
  if (files.state) args.push('--state', files.state);
  return measure(BIN_MAIN, args, options);
}

function ensureSucceeded(run: MeasuredRun, what: string): void {
  if (run.code === 0) return;
  const errors = run.messages
    .filter((message) => message.type === 'TRACE' && message.trace.type === 'ERROR')
    .map((message) => message.trace.error.message);
  throw new Error(
    `${what} exited with ${run.code}: ${errors.join('; ') || run.stderr.slice(-2000)}`,
  );
}

const recordsPerSecond = (run: MeasuredRun): number => (run.totalRecords / run.wallMs) * 1000;

// ---- target 1 and 4: throughput and tokens -----------------------------------------------------

interface TokenRow {
  stream: string;
  records: number;
  requests: number;
  minRequests: number;
  tokens: number;
  minTokens: number;
  incrementalRequests: number;
}

async function throughputAndTokens() {
  const sizes = {
    ...THROUGHPUT_SIZES,
    archivedDeals: ARCHIVED_DEALS,
    deletedDeals: DELETED_DEALS,
  };
  const expectedRecords: Record<string, number> = {
    ...THROUGHPUT_SIZES,
    deals: THROUGHPUT_SIZES.deals + ARCHIVED_DEALS + DELETED_DEALS,
  };
  const total = Object.values(expectedRecords).reduce((sum, count) => sum + count, 0);
  log(`Throughput: fake Pipedrive with ${int(total)} records (replay cache on)…`);
  const fake = await startFakeProcess({ seed: SEED, sizes, replayCache: true });
  try {
    const files = writeInputs({
      config: connectorConfig(fake, 480),
      catalog: catalogOf(THROUGHPUT_STREAMS.map((name) => ({ name, syncMode: 'full_refresh' }))),
    });
    const runBaseline = (): Promise<MeasuredRun> =>
      measure(path.join(__dirname, 'baseline.ts'), [fake.url, fake.token], {
        nodeArgs: ['--import', 'tsx'],
        plainLines: true,
      });

    log('  warming the fake (one unmeasured pass fills its replay cache)…');
    const warm = await runBaseline();
    ensureSucceeded(warm, 'The baseline');
    await connectorRun(files); // the connector's own requests (field definitions) too

    const baselines: MeasuredRun[] = [];
    const connectors: MeasuredRun[] = [];
    let fullRefresh: StatsDelta | undefined;
    for (let round = 1; round <= ROUNDS; round++) {
      log(`  round ${round}/${ROUNDS}: baseline…`);
      baselines.push(await runBaseline());
      ensureSucceeded(baselines[baselines.length - 1], 'The baseline');
      log(`  round ${round}/${ROUNDS}: connector…`);
      const before = await fake.stats();
      const run = await connectorRun(files, { expectedRecords: total });
      ensureSucceeded(run, 'The connector');
      fullRefresh = statsDelta(await fake.stats(), before);
      connectors.push(run);
    }
    const baseline = best(baselines);
    const connector = best(connectors);
    for (const [stream, count] of Object.entries(expectedRecords)) {
      const got = connector.records.get(stream) ?? 0;
      if (got !== count) throw new Error(`The connector read ${got} ${stream}, expected ${count}`);
    }
    if (baseline.totalRecords !== total) {
      throw new Error(`The baseline copied ${baseline.totalRecords} records, expected ${total}`);
    }

    log('  incremental sync from scratch, then again with no changes…');
    const incrementalCatalog = catalogOf(
      THROUGHPUT_STREAMS.map((name) => ({ name, syncMode: 'incremental' })),
    );
    const firstFiles = writeInputs({
      config: connectorConfig(fake, 480),
      catalog: incrementalCatalog,
    });
    const first = await connectorRun(firstFiles);
    ensureSucceeded(first, 'The first incremental sync');
    const againFiles = writeInputs({
      config: connectorConfig(fake, 480),
      catalog: incrementalCatalog,
      state: lastStates(first.messages),
    });
    const before = await fake.stats();
    const again = await connectorRun(againFiles);
    ensureSucceeded(again, 'The incremental sync without changes');
    const noChanges = statsDelta(await fake.stats(), before);

    const tokenRows: TokenRow[] = THROUGHPUT_STREAMS.map((stream) => {
      const records = expectedRecords[stream];
      const endpoints = [
        ...LIST_ENDPOINTS[stream].map((entry) => entry.endpoint),
        ...(FIELD_ENDPOINTS[stream] ? [FIELD_ENDPOINTS[stream]] : []),
      ];
      const sum = (delta: StatsDelta, key: 'requests' | 'tokens'): number =>
        endpoints.reduce((acc, endpoint) => acc + (delta.byEndpoint[endpoint]?.[key] ?? 0), 0);
      // The least a loss-free reader can do: full pages of 500 (less the overlap of a list paged
      // by updated_since), plus one field-definitions call.
      const listSizes: Record<string, number> = {
        'GET /api/v2/deals': THROUGHPUT_SIZES.deals + DELETED_DEALS,
        'GET /api/v2/deals/archived': ARCHIVED_DEALS,
      };
      let minRequests = FIELD_ENDPOINTS[stream] ? 1 : 0;
      let minTokens = FIELD_ENDPOINTS[stream] ? FIELD_CALL_COST : 0;
      for (const { endpoint, cost, overlap = 0 } of LIST_ENDPOINTS[stream]) {
        const rows = listSizes[endpoint] ?? records;
        const pages = 1 + Math.max(0, Math.ceil((rows - PAGE) / (PAGE - overlap)));
        minRequests += pages;
        minTokens += pages * cost;
      }
      return {
        stream,
        records,
        requests: sum(fullRefresh!, 'requests'),
        minRequests,
        tokens: sum(fullRefresh!, 'tokens'),
        minTokens,
        incrementalRequests: sum(noChanges, 'requests'),
      };
    });
    return { total, baseline, connector, fullRefresh: fullRefresh!, noChanges, tokenRows };
  } finally {
    await fake.stop();
  }
}

/** The faster of repeated runs: the other processes on a shared machine only slow runs down. */
function best(runs: MeasuredRun[]): MeasuredRun {
  return runs.reduce((a, b) => (recordsPerSecond(b) > recordsPerSecond(a) ? b : a));
}

// ---- target 2: the burst limit ---------------------------------------------------------------

async function burstLimit() {
  log(
    `Burst limit: ${int(BURST_RECORDS)} ${BURST_STREAM} behind a limit of ${BURST_LIMIT} requests / 2 s…`,
  );
  const fake = await startFakeProcess({
    seed: SEED,
    sizes: { [BURST_STREAM]: BURST_RECORDS },
    burstLimit: BURST_LIMIT,
  });
  try {
    const files = writeInputs({
      config: connectorConfig(fake, BURST_LIMIT),
      catalog: catalogOf([{ name: BURST_STREAM, syncMode: 'full_refresh' }]),
    });
    const run = await connectorRun(files);
    ensureSucceeded(run, 'The burst-limited read');
    const stats = await fake.stats();
    const times = (await fake.requestTimes()).map((entry) => entry.t);
    const spanMs = times[times.length - 1] - times[0];
    const achieved = ((times.length - 1) / spanMs) * 1000;
    const allowed = BURST_LIMIT / 2;
    return {
      requests: stats.requests,
      responses429: stats.responses429,
      share429: stats.responses429 / stats.requests,
      spanMs,
      achievedPerSecond: achieved,
      allowedPerSecond: allowed,
      utilisation: achieved / allowed,
      maxInAnyWindow: stats.maxRequestsInAnyWindow,
      records: run.totalRecords,
    };
  } finally {
    await fake.stop();
  }
}

// ---- target 3: memory of a big read --------------------------------------------------------------

async function memoryRun(records: number) {
  log(
    `Memory: ${int(records)} deals through one read at the highest concurrency (800 ms latency, ${MEMORY_LIMIT} requests / 2 s: about 64 in flight)…`,
  );
  const fake = await startFakeProcess(
    {
      seed: SEED,
      sizes: {
        deals: records - ARCHIVED_DEALS - DELETED_DEALS,
        archivedDeals: ARCHIVED_DEALS,
        deletedDeals: DELETED_DEALS,
      },
      burstLimit: MEMORY_LIMIT,
      latency: { baseMs: 800, jitterMs: 260, seed: SEED },
    },
    { heapMb: 8192 },
  );
  try {
    const files = writeInputs({
      config: connectorConfig(fake, MEMORY_LIMIT),
      catalog: catalogOf([{ name: 'deals', syncMode: 'full_refresh' }]),
    });
    const run = await connectorRun(files, { expectedRecords: records });
    ensureSucceeded(run, 'The memory run');
    if (run.totalRecords !== records) {
      throw new Error(`The memory run read ${run.totalRecords} deals, expected ${records}`);
    }
    return {
      records,
      peakRssKb: run.peakRssKb,
      milestones: run.milestones,
      wallMs: run.wallMs,
      cpuMs: run.cpuMs,
      recordsPerSecond: recordsPerSecond(run),
    };
  } finally {
    await fake.stop();
  }
}

// ---- target 5: start-up --------------------------------------------------------------------------

async function startUp() {
  log('Start-up: bin/main spec, 5 times…');
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const run = await measure(BIN_MAIN, ['spec'], { probe: false });
    ensureSucceeded(run, 'spec');
    times.push(run.wallMs);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return { runsMs: times, medianMs: sorted[2] };
}

// ---- report --------------------------------------------------------------------------------------

const pct = (value: number, digits = 0): string => `${(value * 100).toFixed(digits)}%`;
const verdict = (ok: boolean): string => (ok ? 'yes' : 'NO');

function machine(): string {
  return `${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? 'unknown'}), Node ${process.version}, load ${os
    .loadavg()
    .map((load) => load.toFixed(1))
    .join(' ')}`;
}

function saveResults(key: string, value: unknown): void {
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(fs.readFileSync(RESULTS, 'utf8'));
  } catch {
    // First run, or a broken file: start over.
  }
  all[key] = value;
  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  const temporary = `${RESULTS}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(all, null, 2)}\n`);
  fs.renameSync(temporary, RESULTS);
}

/** Grid cells as table rows. */
function cellRows(cells: GridCell[]): string[][] {
  return cells.map((cell) => [
    `${cell.latencyMs} ms`,
    `${cell.limit} / 2 s`,
    `${cell.requestsPerSecond.toFixed(1)}`,
    `${cell.ceilingPerSecond!.toFixed(1)}`,
    pct(cell.share!),
    seconds(cell.wallMs),
    `${cell.responses429}`,
    cell.windowsOverLimit ? `NO (${cell.maxInAnyWindow})` : `0 (max ${cell.maxInAnyWindow})`,
    `${cell.maxInFlight}`,
    mb(cell.peakRssKb),
  ]);
}

const CELL_HEADER = [
  'Latency',
  'Burst limit',
  'Requests/s',
  'Ceiling/s',
  'Share',
  'Wall time',
  '429s',
  'Windows over limit',
  'Most in flight',
  'Peak RSS',
];

/** The grid as a table: one row per cell. */
function gridTable(grid: { unthrottled: GridCell; cells: GridCell[] }): string {
  const u = grid.unthrottled;
  return [
    table(CELL_HEADER, cellRows(grid.cells), 'llrrrrrlrr'),
    '',
    `Ceiling: the burst limit / 2 s, or the connector's own rate without latency or limit when lower (the fastest of 3 runs: ${u.requestsPerSecond.toFixed(1)} requests/s here, ${int(u.records)} records in ${seconds(u.wallMs)}, ${u.requests} requests). Each cell is one full sync of ${int(u.records)} records (every stream but deals_flow), the fake in its own process with latency = base + up to a third of it in jitter.`,
  ].join('\n');
}

async function gridBench(): Promise<void> {
  const grid = await latencyGrid(log);
  process.stdout.write(`\nsource-pipedrive latency grid — ${machine()}\n\n${gridTable(grid)}\n`);
  saveResults('grid', { at: new Date().toISOString(), machine: machine(), ...grid });
}

async function bigBench(): Promise<void> {
  const cells = await bigCells(log);
  const records = cells[0]?.records ?? 0;
  process.stdout.write(
    `\nsource-pipedrive big cells — ${machine()}\n\n${table(CELL_HEADER, cellRows(cells), 'llrrrrrlrr')}\n\nEach cell is one full sync of the grid's streams with every list ×${BIG_SCALE} (${int(records)} records); ceiling: the burst limit / 2 s.\n`,
  );
  saveResults('bigCells', {
    at: new Date().toISOString(),
    machine: machine(),
    scale: BIG_SCALE,
    cells,
  });
}

async function fullBench(): Promise<void> {
  const startedAt = Date.now();
  const spec = await startUp();
  const throughput = await throughputAndTokens();
  const burst = await burstLimit();
  const grid = await latencyGrid(log);

  const { baseline, connector } = throughput;
  const ratio = recordsPerSecond(connector) / recordsPerSecond(baseline);
  const memoryPeak = connector.peakRssKb;
  const tokensPer10k = (row: TokenRow): string => int((row.tokens / row.records) * 10_000);

  const aboveMinimum = throughput.tokenRows
    .filter((row) => row.tokens > row.minTokens)
    .map((row) => `${row.stream} +${row.requests - row.minRequests} req`);
  const summary = [
    [
      '1 Throughput',
      'baseline (plain http → JSON lines)',
      `${int(recordsPerSecond(baseline))} rec/s`,
      `${seconds(baseline.wallMs)}, CPU ${seconds(baseline.cpuMs)}`,
      '',
      '',
    ],
    [
      '',
      'connector (bin/main read, full refresh)',
      `${int(recordsPerSecond(connector))} rec/s`,
      `${seconds(connector.wallMs)}, CPU ${seconds(connector.cpuMs)}`,
      '',
      '',
    ],
    ['', 'connector / baseline', pct(ratio), '', '≥ 90%', verdict(ratio >= 0.9)],
    [
      '2 Burst limit',
      `requests/s at ${BURST_LIMIT} per 2 s`,
      `${burst.achievedPerSecond.toFixed(2)} of ${burst.allowedPerSecond}`,
      `${int(burst.requests)} requests in ${seconds(burst.spanMs)}`,
      '',
      '',
    ],
    [
      '',
      'share of the allowed rate',
      pct(burst.utilisation),
      '',
      '≥ 90%',
      verdict(burst.utilisation >= 0.9),
    ],
    [
      '',
      '429 answers',
      pct(burst.share429, 1),
      `${burst.responses429} of ${int(burst.requests)}; max ${burst.maxInAnyWindow} in any 2 s`,
      '≤ 1%',
      verdict(burst.share429 <= 0.01),
    ],
    [
      '3 Memory',
      'peak RSS, throughput run',
      mb(memoryPeak),
      `${int(throughput.total)} records`,
      '< 300 MB',
      verdict(memoryPeak < 300 * 1024),
    ],
    [
      '',
      'RSS at 25/50/75/100% of records',
      connector.milestones.map((m) => (m.rssKb / 1024).toFixed(0)).join(' / '),
      'MB',
      '',
      '',
    ],
    [
      '4 Tokens',
      'full refresh',
      `${int(throughput.fullRefresh.tokens)} tokens`,
      `${throughput.fullRefresh.requests} requests, ${throughput.fullRefresh.responses429} × 429; minimum ${int(
        throughput.tokenRows.reduce((sum, row) => sum + row.minTokens, 0),
      )}`,
      'minimum',
      aboveMinimum.length === 0 ? 'yes' : `NO: ${aboveMinimum.join(', ')}`,
    ],
    [
      '',
      'incremental, no changes',
      `${int(throughput.noChanges.tokens)} tokens`,
      `${throughput.noChanges.requests} requests`,
      '',
      '',
    ],
    [
      '5 Start-up',
      'bin/main spec, median of 5',
      seconds(spec.medianMs),
      spec.runsMs.map((ms) => (ms / 1000).toFixed(2)).join(' '),
      '< 1 s',
      verdict(spec.medianMs < 1000),
    ],
  ];

  const tokenTable = throughput.tokenRows.map((row) => [
    row.stream,
    int(row.records),
    String(row.requests),
    String(row.minRequests),
    int(row.tokens),
    int(row.minTokens),
    tokensPer10k(row),
    String(row.incrementalRequests),
  ]);

  const out = [
    '',
    `source-pipedrive bench — ${machine()}`,
    '',
    table(['Target', 'Measure', 'Result', 'Detail', 'Goal', 'Met'], summary, 'llrlll'),
    '',
    'API use per stream (requests and tokens include the one field-definitions call of streams with custom fields):',
    '',
    table(
      [
        'Stream',
        'Records',
        'Requests',
        'Minimum',
        'Tokens',
        'Minimum',
        'Tokens/10k rec',
        'Incremental, no changes: requests',
      ],
      tokenTable,
    ),
    '',
    'Latency × burst limit:',
    '',
    gridTable(grid),
    '',
    `Throughput: best of ${ROUNDS} runs each, the fake in its own process with its replay cache warmed, output drained through a pipe. Total ${seconds(Date.now() - startedAt)}.`,
    `Saved to ${path.relative(process.cwd(), RESULTS)}.`,
    '',
  ];
  process.stdout.write(out.join('\n'));

  saveResults('bench', {
    at: new Date().toISOString(),
    machine: machine(),
    throughput: {
      records: throughput.total,
      baseline: {
        recordsPerSecond: recordsPerSecond(baseline),
        wallMs: baseline.wallMs,
        cpuMs: baseline.cpuMs,
      },
      connector: {
        recordsPerSecond: recordsPerSecond(connector),
        wallMs: connector.wallMs,
        cpuMs: connector.cpuMs,
      },
      ratio,
    },
    burst,
    memory: { peakRssKb: memoryPeak, milestones: connector.milestones },
    tokens: {
      fullRefresh: throughput.fullRefresh,
      incrementalNoChanges: throughput.noChanges,
      perStream: throughput.tokenRows,
    },
    startUp: spec,
    grid,
  });
}

async function memoryBench(records: number): Promise<void> {
  const result = await memoryRun(records);
  const rows = result.milestones.map((m) => [
    `${m.percent}%`,
    int(m.records),
    mb(m.rssKb),
    mb(m.peakKb),
  ]);
  const out = [
    '',
    `source-pipedrive memory bench — ${machine()}`,
    '',
    table(['Progress', 'Deals', 'RSS', 'Peak so far'], rows),
    '',
    `Peak RSS ${mb(result.peakRssKb)} (goal < 300 MB: ${verdict(result.peakRssKb < 300 * 1024)}); ${int(
      result.recordsPerSecond,
    )} deals/s, ${seconds(result.wallMs)}, CPU ${seconds(result.cpuMs)} (the fake builds every page on demand, so this run is bound by the fake).`,
    `Saved to ${path.relative(process.cwd(), RESULTS)}.`,
    '',
  ];
  process.stdout.write(out.join('\n'));
  saveResults(`memory_${records}`, { at: new Date().toISOString(), machine: machine(), ...result });
}

/** Target 1 alone (about a minute): not saved, the full bench owns latest.json. */
async function throughputBench(): Promise<void> {
  const { baseline, connector } = await throughputAndTokens();
  const ratio = recordsPerSecond(connector) / recordsPerSecond(baseline);
  const line = (name: string, run: MeasuredRun): string =>
    `${name}: ${int(recordsPerSecond(run))} rec/s, ${seconds(run.wallMs)} (first record after ${seconds(run.firstRecordMs)}), CPU ${seconds(run.cpuMs)}, peak RSS ${mb(run.peakRssKb)}`;
  process.stdout.write(
    [
      '',
      `source-pipedrive throughput — ${machine()}`,
      line('baseline ', baseline),
      line('connector', connector),
      `ratio ${ratio.toFixed(2)} (goal ≥ 0.9: ${verdict(ratio >= 0.9)})`,
      '',
    ].join('\n'),
  );
  const summary = (run: MeasuredRun) => ({
    recordsPerSecond: recordsPerSecond(run),
    wallMs: run.wallMs,
    cpuMs: run.cpuMs,
    peakRssKb: run.peakRssKb,
  });
  saveResults('throughput', {
    at: new Date().toISOString(),
    machine: machine(),
    baseline: summary(baseline),
    connector: summary(connector),
    ratio,
  });
}

async function main(): Promise<void> {
  const { records, grid, big, throughput } = parseArgs(process.argv.slice(2));
  if (records) await memoryBench(records);
  else if (grid) await gridBench();
  else if (big) await bigBench();
  else if (throughput) await throughputBench();
  else await fullBench();
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error?.stack ?? error}\n`);
  process.exit(1);
});
