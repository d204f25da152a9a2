/**
 * Process plumbing shared by the bench and the demo: the fake Pipedrive in its own process,
 * connector runs whose stdout is drained and counted without parsing every record, and RSS
 * sampling from /proc.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

import { temporaryDirectory } from '../test/helpers/temp';

export const REPO_ROOT = path.resolve(__dirname, '..');
export const BIN_MAIN = path.join(REPO_ROOT, 'bin', 'main');

// ---- the fake Pipedrive in a separate process ----------------------------------------------

export interface FakeStatsSnapshot {
  requests: number;
  byEndpoint: Record<string, { requests: number; tokens: number }>;
  tokensSpent: number;
  responses429: number;
  maxRequestsInAnyWindow: number;
  /** Arrival times (epoch ms) of the first and last request seen so far. */
  firstRequestAt: number | null;
  lastRequestAt: number | null;
}

export interface FakeProcess {
  url: string;
  token: string;
  stats(): Promise<FakeStatsSnapshot>;
  /** Arrival times and statuses of the requests logged since `from` (an index). */
  requestTimes(from?: number): Promise<Array<{ t: number; status: number; path: string }>>;
  stop(): Promise<void>;
}

/** Options passed through to `new FakePipedrive(...)` in bench/fake-server.ts. */
export type FakeServerOptions = Record<string, unknown>;

/**
 * Starts bench/fake-server.ts in its own Node process (its CPU must not be shared with the
 * measured process) and waits for the line that says where it listens.
 */
export async function startFakeProcess(
  options: FakeServerOptions,
  { heapMb = 4096 }: { heapMb?: number } = {},
): Promise<FakeProcess> {
  const child = spawn(
    process.execPath,
    [
      `--max-old-space-size=${heapMb}`,
      '--import',
      'tsx',
      path.join(__dirname, 'fake-server.ts'),
      JSON.stringify(options),
    ],
    { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const lines = readline.createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) =>
      reject(new Error(`The fake Pipedrive exited (${code}) before listening:\n${stderr}`)),
    );
  });
  lines.close();
  const { url, token, control } = JSON.parse(first) as Record<string, string>;
  const get = async (route: string): Promise<any> => {
    const response = await fetch(`${control}${route}`);
    if (!response.ok) throw new Error(`fake control ${route}: ${response.status}`);
    return response.json();
  };
  return {
    url,
    token,
    stats: () => get('/stats'),
    requestTimes: (from = 0) => get(`/log?from=${from}`),
    stop: () => stopChild(child),
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** What changed between two stats snapshots (one run's share of a long-lived fake). */
export function statsDelta(after: FakeStatsSnapshot, before: FakeStatsSnapshot) {
  const byEndpoint: Record<string, { requests: number; tokens: number }> = {};
  for (const [endpoint, now] of Object.entries(after.byEndpoint)) {
    const then = before.byEndpoint[endpoint] ?? { requests: 0, tokens: 0 };
    if (now.requests > then.requests) {
      byEndpoint[endpoint] = {
        requests: now.requests - then.requests,
        tokens: now.tokens - then.tokens,
      };
    }
  }
  return {
    requests: after.requests - before.requests,
    tokens: after.tokensSpent - before.tokensSpent,
    responses429: after.responses429 - before.responses429,
    byEndpoint,
  };
}

export type StatsDelta = ReturnType<typeof statsDelta>;

// ---- temporary input files -------------------------------------------------------------------

export function writeInputs(files: Record<string, unknown>): Record<string, string> {
  const dir = temporaryDirectory('pd-bench-');
  const paths: Record<string, string> = {};
  for (const [name, content] of Object.entries(files)) {
    paths[name] = path.join(dir, `${name}.json`);
    fs.writeFileSync(paths[name], JSON.stringify(content));
  }
  return paths;
}

export function catalogOf(streams: Array<{ name: string; syncMode: string }>): unknown {
  return {
    streams: streams.map(({ name, syncMode }) => ({
      stream: { name, json_schema: {}, supported_sync_modes: ['full_refresh', 'incremental'] },
      sync_mode: syncMode,
      destination_sync_mode: syncMode === 'incremental' ? 'append_dedup' : 'overwrite',
    })),
  };
}

// ---- draining a JSON-lines pipe --------------------------------------------------------------

const NEWLINE = 10;
const RECORD_HEAD = Buffer.from('{"type":"RECORD","record":{"stream":"');
/** Enough of a line to tell its type and, for records, the stream name. */
const HEAD_BYTES = 160;

/**
 * Counts lines of a JSON-lines byte stream without decoding records: a RECORD line is counted
 * per stream from its first bytes; every other line (STATE, LOG, TRACE) is kept whole.
 */
export class LineCounter {
  lines = 0;
  bytes = 0;
  readonly records = new Map<string, number>();
  totalRecords = 0;
  private head: Buffer[] = [];
  private headBytes = 0;
  /** null: type not known yet; true: a RECORD line (rest skipped); false: kept whole. */
  private isRecord: boolean | null = null;
  private streamOfLine = '';

  constructor(
    private readonly onOther: (line: string) => void = () => undefined,
    private readonly onRecord: (stream: string) => void = () => undefined,
    /** Plain JSON lines (the baseline): every line is a record of stream `*`. */
    private readonly everyLineIsRecord = false,
  ) {}

  feed(chunk: Buffer): void {
    this.bytes += chunk.length;
    let start = 0;
    while (start < chunk.length) {
      const end = chunk.indexOf(NEWLINE, start);
      const stop = end === -1 ? chunk.length : end;
      if (this.isRecord !== true) {
        this.head.push(chunk.subarray(start, stop));
        this.headBytes += stop - start;
        if (this.isRecord === null && this.headBytes >= HEAD_BYTES) this.classify();
      }
      if (end === -1) return;
      this.endLine();
      start = end + 1;
    }
  }

  private classify(): void {
    if (this.everyLineIsRecord) {
      this.isRecord = true;
      this.streamOfLine = '*';
      this.head = [];
      return;
    }
    const head = Buffer.concat(this.head);
    if (head.subarray(0, RECORD_HEAD.length).equals(RECORD_HEAD)) {
      const close = head.indexOf(34 /* " */, RECORD_HEAD.length);
      this.streamOfLine = head.toString('utf8', RECORD_HEAD.length, close);
      this.isRecord = true;
      this.head = [];
    } else {
      this.isRecord = false;
      this.head = [head];
    }
  }

  private endLine(): void {
    if (this.isRecord === null) this.classify();
    if (this.isRecord) {
      const stream = this.streamOfLine;
      this.records.set(stream, (this.records.get(stream) ?? 0) + 1);
      this.totalRecords++;
      this.onRecord(stream);
    } else if (this.headBytes > 0) {
      this.onOther(Buffer.concat(this.head).toString('utf8'));
    }
    this.lines++;
    this.head = [];
    this.headBytes = 0;
    this.isRecord = null;
  }
}

// ---- memory of another process -----------------------------------------------------------------

export interface MemorySample {
  rssKb: number;
  peakKb: number;
}

/** VmRSS and VmHWM (peak) of a live process, in kB; undefined once it has exited. */
export function memoryOf(pid: number): MemorySample | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const value = (key: string): number =>
    Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { rssKb: value('VmRSS'), peakKb: value('VmHWM') };
}

// ---- a measured child process --------------------------------------------------------------

export interface MeasuredRun {
  code: number | null;
  wallMs: number;
  lines: number;
  bytes: number;
  records: Map<string, number>;
  totalRecords: number;
  /** Every line that is not a RECORD (STATE, LOG, TRACE), parsed. */
  messages: any[];
  peakRssKb: number;
  /** CPU time (user + system) the process used, as it reported it on exit. */
  cpuMs: number;
  /** From the spawn to the first record on stdout (start-up and the first pages' requests). */
  firstRecordMs: number;
  /** RSS (and peak so far) when records reached 25/50/75/100% of `expectedRecords`. */
  milestones: Array<{ percent: number; records: number; rssKb: number; peakKb: number }>;
  stderr: string;
}

export interface MeasureOptions {
  /** Record count to place the 25/50/75/100% memory milestones on. */
  expectedRecords?: number;
  env?: Record<string, string>;
  nodeArgs?: string[];
  /** Called for every non-RECORD message as it arrives. */
  onMessage?: (message: any) => void;
  onRecord?: (stream: string) => void;
  /** The output is plain JSON lines, one record each (the baseline), not Airbyte messages. */
  plainLines?: boolean;
  /** Preload bench/usage-probe.cjs to learn the CPU time (default true). */
  probe?: boolean;
}

/**
 * Spawns `node <script> ...args`, drains and counts its stdout through a pipe, and samples its
 * memory every 100 ms.
 */
export function measure(
  script: string,
  args: string[],
  options: MeasureOptions = {},
): Promise<MeasuredRun> {
  const started = performance.now();
  const probe =
    options.probe === false ? [] : ['--require', path.join(__dirname, 'usage-probe.cjs')];
  const child = spawn(process.execPath, [...probe, ...(options.nodeArgs ?? []), script, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const messages: any[] = [];
  const milestones: MeasuredRun['milestones'] = [];
  const expected = options.expectedRecords ?? 0;
  let nextMilestone = 1;
  let peakRssKb = 0;
  let firstRecordMs = NaN;
  const sample = (): MemorySample | undefined => {
    const memory = memoryOf(child.pid!);
    if (memory) peakRssKb = Math.max(peakRssKb, memory.peakKb, memory.rssKb);
    return memory;
  };
  const counter = new LineCounter(
    (line) => {
      let message: any;
      try {
        message = JSON.parse(line);
      } catch {
        message = { type: '__unparsable', line };
      }
      messages.push(message);
      options.onMessage?.(message);
    },
    (stream) => {
      if (Number.isNaN(firstRecordMs)) firstRecordMs = performance.now() - started;
      options.onRecord?.(stream);
      if (
        expected > 0 &&
        nextMilestone <= 4 &&
        counter.totalRecords >= (expected * nextMilestone) / 4
      ) {
        const memory = sample();
        if (memory) {
          milestones.push({
            percent: nextMilestone * 25,
            records: counter.totalRecords,
            ...memory,
          });
        }
        nextMilestone++;
      }
    },
    options.plainLines,
  );
  const timer = setInterval(sample, 100);
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => counter.feed(chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    // 'exit' comes before the last stdout bytes are read; 'close' after.
    child.once('exit', () => sample());
    child.once('close', (code) => {
      clearInterval(timer);
      let cpuMs = NaN;
      stderr = stderr.replace(/\n?__usage (\{.*\})\n/, (_, json: string) => {
        const usage = JSON.parse(json);
        cpuMs = usage.cpuMs;
        peakRssKb = Math.max(peakRssKb, usage.maxRssKb);
        return '';
      });
      resolve({
        code,
        wallMs: performance.now() - started,
        lines: counter.lines,
        bytes: counter.bytes,
        records: counter.records,
        totalRecords: counter.totalRecords,
        messages,
        peakRssKb,
        cpuMs,
        firstRecordMs,
        milestones,
        stderr,
      });
    });
  });
}

/** The last STATE of each stream of a run, as `--state` accepts it. */
export function lastStates(messages: any[]): any[] {
  const last = new Map<string, any>();
  for (const message of messages) {
    if (message.type === 'STATE')
      last.set(message.state.stream.stream_descriptor.name, message.state);
  }
  return [...last.values()];
}

// ---- formatting -------------------------------------------------------------------------------

export const int = (value: number): string => Math.round(value).toLocaleString('en-US');
export const mb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`;
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

/**
 * Aligned columns under a header and a rule. `align` has one letter per column: `l` (left) or
 * `r` (right); by default the first column is left-aligned and the others right-aligned.
 */
export function table(header: string[], rows: string[][], align?: string, indent = '  '): string {
  const alignment = align ?? `l${'r'.repeat(header.length - 1)}`;
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const format = (row: string[]): string =>
    indent +
    header
      .map((_, column) => {
        const cell = row[column] ?? '';
        return alignment[column] === 'r'
          ? cell.padStart(widths[column])
          : cell.padEnd(widths[column]);
      })
      .join('  ')
      .trimEnd();
  const rule = indent + widths.map((width) => '─'.repeat(width)).join('  ');
  return [format(header), rule, ...rows.map(format)].join('\n');
}
