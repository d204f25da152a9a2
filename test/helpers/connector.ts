import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { protocolProblems, REPO_ROOT } from './protocol';

export const BIN_MAIN = path.join(REPO_ROOT, 'bin', 'main');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  messages: any[];
}

export interface RunOptions {
  config?: unknown;
  catalog?: unknown;
  state?: unknown;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Called with every parsed stdout message as it arrives (e.g. to kill the process). */
  onMessage?: (message: any, child: ReturnType<typeof spawn>) => void;
  binMain?: string;
}

let tmpCounter = 0;

/** Writes JSON inputs to a temporary folder and returns the CLI arguments for them. */
function inputArgs(options: RunOptions, dir: string): string[] {
  const args: string[] = [];
  for (const name of ['config', 'catalog', 'state'] as const) {
    if (options[name] === undefined) continue;
    const file = path.join(dir, `${name}.json`);
    fs.writeFileSync(file, JSON.stringify(options[name]));
    args.push(`--${name}`, file);
  }
  return args;
}

/** Runs bin/main as a child process and parses every stdout line. */
export function runConnector(command: string[], options: RunOptions = {}): Promise<RunResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pd-run-${process.pid}-${tmpCounter++}-`));
  const args = [...command, ...inputArgs(options, dir)];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.binMain ?? BIN_MAIN, ...args], {
      env: {
        ...process.env,
        PIPEDRIVE_RETRY_BASE_MS: '20',
        // Generous: a loaded CI machine must not turn slow answers into retries (and flakes).
        PIPEDRIVE_TIMEOUT_MS: '30000',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let pending = '';
    const messages: any[] = [];
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      pending += chunk;
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.trim() !== '') {
          let message: any;
          try {
            message = JSON.parse(line);
          } catch {
            message = { __unparsable: line };
          }
          messages.push(message);
          options.onMessage?.(message, child);
        }
        newline = pending.indexOf('\n');
      }
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal, stdout, stderr, messages });
    });
  });
}

/** Asserts that every stdout line was one valid Airbyte message. */
export function expectValidProtocol(result: RunResult): void {
  const bad = result.messages
    .map((message, index) => ({ index, message, problems: protocolProblems(message) }))
    .filter((entry) => entry.problems.length > 0)
    .slice(0, 5);
  if (bad.length > 0) {
    throw new Error(
      `Invalid protocol output:\n${bad
        .map(
          (b) => `#${b.index} ${JSON.stringify(b.message).slice(0, 300)}: ${b.problems.join('; ')}`,
        )
        .join('\n')}`,
    );
  }
}

export const ofType = (result: RunResult, type: string): any[] =>
  result.messages.filter((message) => message.type === type);

export const recordsOf = (result: RunResult, stream: string): any[] =>
  ofType(result, 'RECORD')
    .filter((m) => m.record.stream === stream)
    .map((m) => m.record.data);

export const statesOf = (result: RunResult, stream: string): any[] =>
  ofType(result, 'STATE').filter((m) => m.state.stream.stream_descriptor.name === stream);

export const statusesOf = (result: RunResult, stream: string): string[] =>
  ofType(result, 'TRACE')
    .filter(
      (m) =>
        m.trace.type === 'STREAM_STATUS' && m.trace.stream_status.stream_descriptor.name === stream,
    )
    .map((m) => m.trace.stream_status.status);

export const errorsOf = (result: RunResult): any[] =>
  ofType(result, 'TRACE')
    .filter((m) => m.trace.type === 'ERROR')
    .map((m) => m.trace.error);

/** A configured catalog for the named streams. */
export function configuredCatalog(
  streams: Array<string | { name: string; syncMode: 'full_refresh' | 'incremental' }>,
): unknown {
  return {
    streams: streams.map((entry) => {
      const { name, syncMode } =
        typeof entry === 'string' ? { name: entry, syncMode: 'full_refresh' as const } : entry;
      return {
        stream: { name, json_schema: {}, supported_sync_modes: ['full_refresh', 'incremental'] },
        sync_mode: syncMode,
        destination_sync_mode: syncMode === 'incremental' ? 'append_dedup' : 'overwrite',
      };
    }),
  };
}

/** The last state message of each stream, in the array form Airbyte passes back with --state. */
export function lastStates(result: RunResult): any[] {
  const last = new Map<string, any>();
  for (const message of ofType(result, 'STATE')) {
    last.set(message.state.stream.stream_descriptor.name, message.state);
  }
  return [...last.values()];
}
