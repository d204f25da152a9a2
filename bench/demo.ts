/**
 * `npm run demo`: the connector end to end against a fake Pipedrive with a small, realistic
 * company. Runs `discover`, then one `read` of every discovered stream in its best sync mode,
 * shows per-stream progress on stderr while it runs (derived from the connector's own stdout:
 * RECORD counts, STREAM_STATUS changes, STATE per page, LOG lines), writes every message to
 * demo-output/messages.jsonl and ends with a summary table.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

import {
  BIN_MAIN,
  catalogOf,
  type FakeProcess,
  int,
  REPO_ROOT,
  seconds,
  startFakeProcess,
  statsDelta,
  table,
  writeInputs,
} from './support';

const OUTPUT_DIR = path.join(REPO_ROOT, 'demo-output');
const MESSAGES_FILE = path.join(OUTPUT_DIR, 'messages.jsonl');
/** Pipedrive's burst limit on the Premium plan, and the share of it the connector may use. */
const BURST_LIMIT = 100;
const MAX_REQUESTS_PER_2_SECONDS = 80;

const tty = Boolean(process.stderr.isTTY);
const paint = (code: string) => (text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = paint('1');
const dim = paint('2');
const green = paint('32');
const red = paint('31');
const yellow = paint('33');

interface StreamProgress {
  name: string;
  mode: 'incremental' | 'full_refresh';
  status: 'waiting' | 'STARTED' | 'RUNNING' | 'COMPLETE' | 'INCOMPLETE';
  records: number;
  /** STATE messages while running (incremental streams checkpoint after every page). */
  pages: number;
  startedAt?: number;
  endedAt?: number;
  /** From the connector's "Finished …" log line: its API pass, shared with child streams. */
  group?: { root: string; requests: number; tokens: number; seconds: number };
}

function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Pads text that may carry colour codes to a visible width. */
function pad(text: string, width: number): string {
  // eslint-disable-next-line no-control-regex
  const visible = text.replace(/\x1b\[\d+m/g, '').length;
  return text + ' '.repeat(Math.max(0, width - visible));
}

/**
 * The live view on stderr. On a terminal: the streams being read, one line each, and a line
 * for those done, redrawn in place and erased at the end (the summary follows). Otherwise a
 * line every two seconds.
 */
class ProgressView {
  private drawnLines = 0;
  private timer?: NodeJS.Timeout;
  private readonly begun = Date.now();

  constructor(private readonly streams: StreamProgress[]) {}

  start(): void {
    this.timer = tty ? setInterval(() => this.draw(), 150) : setInterval(() => this.log(), 2000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (tty && this.drawnLines > 0) process.stderr.write(`\x1b[${this.drawnLines}F\x1b[J`);
    this.drawnLines = 0;
  }

  private lines(): string[] {
    const now = Date.now();
    const width = Math.max(...this.streams.map((stream) => stream.name.length));
    const running = this.streams.filter(
      (stream) => stream.status === 'STARTED' || stream.status === 'RUNNING',
    );
    const done = this.streams.filter(
      (stream) => stream.status === 'COMPLETE' || stream.status === 'INCOMPLETE',
    );
    const doneRecords = done.reduce((sum, stream) => sum + stream.records, 0);
    const lines = running.map((stream) => {
      const elapsedMs = now - (stream.startedAt ?? now);
      const rate =
        elapsedMs > 500 && stream.records > 0
          ? `${int((stream.records / elapsedMs) * 1000)} records/s`
          : '';
      const checkpoints = stream.mode === 'incremental' ? `${stream.pages} checkpoints` : '';
      return `  ${yellow('reading')}  ${pad(stream.name, width)}  ${int(stream.records).padStart(7)} records  ${checkpoints.padStart(15)}  ${rate.padStart(16)}  ${dim(seconds(elapsedMs))}`;
    });
    if (running.length === 0 && done.length === 0) {
      lines.push(`  ${dim('starting the connector…')}`);
    }
    lines.push(
      `  ${green('done')}     ${done.length} of ${this.streams.length} streams, ${int(doneRecords)} records  ${dim(seconds(now - this.begun))}`,
    );
    return lines;
  }

  private draw(): void {
    const lines = this.lines();
    let text = this.drawnLines > 0 ? `\x1b[${this.drawnLines}F` : '';
    text += lines.map((line) => `${line}\x1b[K\n`).join('');
    // Lines left over from a taller frame.
    text += '\x1b[J';
    process.stderr.write(text);
    this.drawnLines = lines.length;
  }

  private log(): void {
    process.stderr.write(`${this.lines().join('\n')}\n`);
  }
}

/** `Finished deals + deal_products in 1.2 s: records …; 12 requests, 340 API tokens.` */
const FINISHED = /^Finished (.+?) in ([\d.]+) s: records .*; (\d+) requests, (\d+) API tokens\.$/;
/** `Sync used 445 requests and 17100 API tokens in 9.3 s (2 retries, 0 rate-limited). …` */
const SYNC_USED =
  /^Sync used (\d+) requests and (\d+) API tokens in ([\d.]+) s \((\d+) retries, (\d+) rate-limited\)/;

interface ReadOutcome {
  code: number | null;
  wallMs: number;
  messages: number;
  sync?: { requests: number; tokens: number; retries: number; rateLimited: number };
  warnings: string[];
  errors: string[];
}

function runRead(
  files: Record<string, string>,
  streams: Map<string, StreamProgress>,
): Promise<ReadOutcome> {
  fs.mkdirSync(OUTPUT_DIR, { recursive: true });
  const file = fs.createWriteStream(MESSAGES_FILE);
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [BIN_MAIN, 'read', '--config', files.config, '--catalog', files.catalog],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const outcome: ReadOutcome = { code: null, wallMs: 0, messages: 0, warnings: [], errors: [] };
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const lines = readline.createInterface({ input: child.stdout, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line === '') return;
    file.write(`${line}\n`);
    outcome.messages++;
    let message: any;
    try {
      message = JSON.parse(line);
    } catch {
      outcome.errors.push(`not a JSON message: ${line.slice(0, 120)}`);
      return;
    }
    handle(message);
  });

  const handle = (message: any): void => {
    switch (message.type) {
      case 'RECORD': {
        const stream = streams.get(message.record.stream);
        if (stream) stream.records++;
        break;
      }
      case 'STATE': {
        const stream = streams.get(message.state.stream.stream_descriptor.name);
        if (stream?.status === 'RUNNING') stream.pages++;
        break;
      }
      case 'TRACE':
        if (message.trace.type === 'STREAM_STATUS') {
          const status = message.trace.stream_status;
          const stream = streams.get(status.stream_descriptor.name);
          if (!stream) break;
          stream.status = status.status;
          if (status.status === 'STARTED') stream.startedAt = Date.now();
          if (status.status === 'COMPLETE' || status.status === 'INCOMPLETE') {
            stream.endedAt = Date.now();
            // The last STATE of a stream is its final checkpoint, not a page.
            if (stream.mode === 'incremental' && stream.pages > 0) stream.pages--;
          }
        } else if (message.trace.type === 'ERROR') {
          outcome.errors.push(message.trace.error.message);
        }
        break;
      case 'LOG': {
        const text: string = message.log.message;
        const finished = FINISHED.exec(text);
        const used = SYNC_USED.exec(text);
        if (finished) {
          const names = finished[1].split(' + ');
          const group = {
            root: names[0],
            seconds: Number(finished[2]),
            requests: Number(finished[3]),
            tokens: Number(finished[4]),
          };
          for (const name of names) {
            const stream = streams.get(name);
            if (stream) stream.group = group;
          }
        } else if (used) {
          outcome.sync = {
            requests: Number(used[1]),
            tokens: Number(used[2]),
            retries: Number(used[4]),
            rateLimited: Number(used[5]),
          };
        } else if (message.log.level === 'WARN' || message.log.level === 'ERROR') {
          outcome.warnings.push(text);
        }
        break;
      }
    }
  };

  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      outcome.code = code;
      outcome.wallMs = Date.now() - started;
      if (code !== 0 && outcome.errors.length === 0 && stderr) outcome.errors.push(stderr.trim());
      file.end(() => resolve(outcome));
    });
  });
}

async function discover(fake: FakeProcess, config: string) {
  const started = Date.now();
  const result = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN_MAIN, 'discover', '--config', config], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout }));
  });
  const messages = result.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
  const catalog = messages.find((message) => message.type === 'CATALOG')?.catalog;
  if (result.code !== 0 || !catalog) {
    const error = messages.find((message) => message.type === 'TRACE')?.trace?.error?.message;
    throw new Error(`discover failed against ${fake.url}: ${error ?? result.stdout.slice(0, 500)}`);
  }
  return { streams: catalog.streams as any[], wallMs: Date.now() - started };
}

async function main(): Promise<void> {
  const begun = Date.now();
  out();
  out(bold('source-pipedrive demo'));
  out(
    dim(
      'The connector reads a fake Pipedrive company over real HTTP, exactly as it would read yours.',
    ),
  );
  out();

  const fake = await startFakeProcess({ seed: 7, burstLimit: BURST_LIMIT });
  try {
    const config = {
      api_token: fake.token,
      api_url: fake.url,
      max_requests_per_2_seconds: MAX_REQUESTS_PER_2_SECONDS,
    };
    const { config: configFile } = writeInputs({ config });
    out(
      `  Fake Pipedrive   ${fake.url}  (burst limit ${BURST_LIMIT} requests per 2 s, like the Premium plan)`,
    );
    out(
      `  Config           max_requests_per_2_seconds: ${MAX_REQUESTS_PER_2_SECONDS}, everything else default`,
    );
    out();

    const discovered = await discover(fake, configFile);
    const incrementalCount = discovered.streams.filter((stream) =>
      stream.supported_sync_modes.includes('incremental'),
    ).length;
    out(
      `${bold('1. discover')}  ${discovered.streams.length} streams (${incrementalCount} incremental, with deletes and named custom fields) in ${seconds(discovered.wallMs)}`,
    );

    const progress = discovered.streams.map((stream): StreamProgress => ({
      name: stream.name,
      mode: stream.supported_sync_modes.includes('incremental') ? 'incremental' : 'full_refresh',
      status: 'waiting',
      records: 0,
      pages: 0,
    }));
    const byName = new Map(progress.map((stream) => [stream.name, stream]));
    const files = writeInputs({
      config,
      catalog: catalogOf(progress.map((stream) => ({ name: stream.name, syncMode: stream.mode }))),
    });
    out(`${bold('2. read')}      every stream, incremental where it can be`);
    out();

    const before = await fake.stats();
    const view = new ProgressView(progress);
    view.start();
    const outcome = await runRead(files, byName);
    view.stop();
    const counted = statsDelta(await fake.stats(), before);

    summary(progress, outcome, counted);
    out(`  Every message the connector wrote: ${path.relative(process.cwd(), MESSAGES_FILE)}`);
    out(dim(`  (${int(outcome.messages)} lines; demo done in ${seconds(Date.now() - begun)})`));
    out();
    if (outcome.code !== 0) process.exitCode = 1;
  } finally {
    await fake.stop();
  }
}

function summary(
  streams: StreamProgress[],
  outcome: ReadOutcome,
  counted: ReturnType<typeof statsDelta>,
): void {
  const rows = streams.map((stream) => {
    const group = stream.group;
    const isRoot = !group || group.root === stream.name;
    return [
      isRoot ? stream.name : `  ↳ ${stream.name}`,
      stream.mode === 'incremental' ? 'incremental' : 'full refresh',
      int(stream.records),
      isRoot && group ? int(group.requests) : '',
      isRoot && group ? int(group.tokens) : '',
      isRoot && group ? `${group.seconds.toFixed(1)} s` : '',
      stream.status === 'COMPLETE' ? 'complete' : stream.status.toLowerCase(),
    ];
  });
  const totalRecords = streams.reduce((sum, stream) => sum + stream.records, 0);
  const complete = streams.filter((stream) => stream.status === 'COMPLETE').length;
  rows.push([
    'total',
    '',
    int(totalRecords),
    outcome.sync ? int(outcome.sync.requests) : '',
    outcome.sync ? int(outcome.sync.tokens) : '',
    seconds(outcome.wallMs),
    `${complete}/${streams.length} complete`,
  ]);
  out();
  out(
    table(
      ['Stream', 'Sync mode', 'Records', 'Requests', 'API tokens', 'Time', 'Status'],
      rows,
      'llrrrrl',
    ),
  );
  out();
  out(
    dim(
      '  ↳ child streams come from the same API pass as the stream above them: requests, tokens and time are counted there.',
    ),
  );
  const flow = streams.find((stream) => stream.name === 'deals_flow');
  if (flow?.group) {
    out(
      dim(
        `  A first sync reads every deal's change history (/v1/deals/{id}/flow, 40 tokens a deal); later syncs only read changed deals.`,
      ),
    );
  }
  out(
    `  The fake Pipedrive counted ${int(counted.requests)} requests and ${int(counted.tokens)} API tokens for this read${
      counted.responses429 > 0 ? `, ${counted.responses429} answered 429 and retried` : ''
    }.`,
  );
  for (const warning of outcome.warnings.slice(0, 5)) out(yellow(`  warning: ${warning}`));
  for (const error of outcome.errors.slice(0, 5)) out(red(`  error: ${error}`));
  out();
}

main().catch((error) => {
  process.stderr.write(`demo failed: ${error?.stack ?? error}\n`);
  process.exit(1);
});
