/**
 * Writes a configured catalog for chosen streams from what `discover` finds with your config:
 *
 *   npm run catalog -- --config secrets/config.json --streams deals,persons --mode incremental \
 *     --out secrets/catalog.json
 *
 * Streams without incremental support are read in full refresh. Without --streams every stream
 * except deals_flow is selected (its first sync costs 40 API tokens per deal). Runs the
 * connector from src/ (no build needed); its warnings go to stderr.
 */
import fs from 'node:fs';

import { Command } from 'commander';

import { run } from '../src/cli';
import { closestKey } from '../src/config';
import { type OutputSink, ProtocolWriter } from '../src/protocol/output';

type Mode = 'incremental' | 'full_refresh';

interface Options {
  config: string;
  streams?: string;
  mode: Mode;
  out?: string;
}

/** Collects what the connector writes instead of printing it. */
class Collector implements OutputSink {
  text = '';
  write(chunk: string | Uint8Array): boolean {
    this.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }
  once(): this {
    return this;
  }
  removeListener(): this {
    return this;
  }
}

function fail(message: string): never {
  process.stderr.write(`npm run catalog: ${message}\n`);
  process.exit(1);
}

async function discover(configFile: string): Promise<any[]> {
  const sink = new Collector();
  const code = await run(['discover', '--config', configFile], new ProtocolWriter(sink));
  let streams: any[] | undefined;
  for (const line of sink.text.split('\n')) {
    if (line.trim() === '') continue;
    const message = JSON.parse(line);
    if (message.type === 'LOG' && message.log.level !== 'INFO' && message.log.level !== 'DEBUG') {
      process.stderr.write(`${message.log.level} ${message.log.message}\n`);
    } else if (message.type === 'TRACE' && message.trace.type === 'ERROR') {
      fail(`discover failed: ${message.trace.error.message}`);
    } else if (message.type === 'CATALOG') {
      streams = message.catalog.streams;
    }
  }
  if (code !== 0 || !streams) fail(`discover failed (exit ${code}) without a catalog.`);
  return streams;
}

function select(streams: any[], wanted: string | undefined): any[] {
  const names = streams.map((stream) => stream.name);
  if (wanted === undefined) {
    process.stderr.write(
      'No --streams: selecting every stream except deals_flow (40 API tokens per deal on its first sync; add it with --streams all or by name).\n',
    );
    return streams.filter((stream) => stream.name !== 'deals_flow');
  }
  if (wanted.trim() === 'all') return streams;
  const chosen = wanted
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const unknown = chosen.filter((name) => !names.includes(name));
  if (unknown.length > 0) {
    fail(
      `unknown stream ${unknown.map((name) => `"${name}" (did you mean "${closestKey(name, names)}"?)`).join(', ')}. Streams: ${names.join(', ')}.`,
    );
  }
  return streams.filter((stream) => chosen.includes(stream.name));
}

function configured(stream: any, mode: Mode): Record<string, unknown> {
  const incremental = mode === 'incremental' && stream.supported_sync_modes.includes('incremental');
  const entry: Record<string, unknown> = {
    stream,
    sync_mode: incremental ? 'incremental' : 'full_refresh',
    destination_sync_mode: incremental ? 'append_dedup' : 'overwrite',
  };
  if (incremental) entry.cursor_field = stream.default_cursor_field;
  if (stream.source_defined_primary_key) entry.primary_key = stream.source_defined_primary_key;
  return entry;
}

async function main(): Promise<void> {
  const options = new Command('npm run catalog --')
    .description('Write a configured catalog for chosen streams, from discover with your config.')
    .requiredOption('--config <file>', 'config JSON file, as for bin/main')
    .option(
      '--streams <names>',
      'comma-separated stream names, or "all" (default: all but deals_flow)',
    )
    .option('--mode <mode>', 'incremental (where supported) or full_refresh', 'incremental')
    .option('--out <file>', 'where to write the catalog (default: stdout)')
    .parse(process.argv)
    .opts<Options>();
  if (options.mode !== 'incremental' && options.mode !== 'full_refresh') {
    fail(`--mode must be incremental or full_refresh, got ${JSON.stringify(options.mode)}.`);
  }
  const streams = select(await discover(options.config), options.streams);
  const entries = streams.map((stream) => configured(stream, options.mode));
  const fullRefresh = entries
    .filter((entry) => options.mode === 'incremental' && entry.sync_mode === 'full_refresh')
    .map((entry) => (entry.stream as any).name);
  if (fullRefresh.length > 0) {
    process.stderr.write(`Full refresh (no incremental mode): ${fullRefresh.join(', ')}.\n`);
  }
  const text = `${JSON.stringify({ streams: entries }, null, 2)}\n`;
  if (options.out) {
    fs.writeFileSync(options.out, text);
    process.stderr.write(
      `Wrote ${options.out}: ${entries.map((entry) => `${(entry.stream as any).name} (${String(entry.sync_mode)})`).join(', ')}.\n`,
    );
  } else {
    process.stdout.write(text);
  }
}

main().catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
