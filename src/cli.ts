import { parseConfig, type PipedriveConfig } from './config';
import { ConfigError, ConnectorError, errorMessage } from './errors';
import type { PipedriveClient } from './pipedrive/client';
import { connect, whoAmI } from './pipedrive/connect';
import { parseConfiguredCatalog, readJsonFile, readStateFile } from './protocol/input';
import { ConnectorLogger } from './protocol/logger';
import { ProtocolWriter } from './protocol/output';
import { readStreams } from './read';
import { FieldDefinitionCache, type PipedriveStream, type StreamServices } from './streams/base';
import { allStreams } from './streams/index';

export interface Args {
  command: string;
  config?: string;
  catalog?: string;
  state?: string;
}

export function parseArgs(argv: string[]): Args {
  const [command, ...rest] = argv;
  const args: Args = { command: command ?? '' };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    const value = rest[i + 1];
    const key = flag.replace(/^--/, '');
    if (!['config', 'catalog', 'state'].includes(key) || !flag.startsWith('--')) {
      throw new ConfigError(`Unknown argument ${flag}. Usage: ${USAGE}`);
    }
    if (value === undefined || value.startsWith('--')) {
      throw new ConfigError(`${flag} needs a file path. Usage: ${USAGE}`);
    }
    (args as any)[key] = value;
    i++;
  }
  return args;
}

export const USAGE =
  'source-pipedrive spec | check --config <file> | discover --config <file> | read --config <file> --catalog <file> [--state <file>]';

function services(
  config: PipedriveConfig,
  client: PipedriveClient,
  writer: ProtocolWriter,
): StreamServices {
  return {
    client,
    config,
    logger: new ConnectorLogger(writer),
    log: (level, message) => writer.log(level, message),
    fields: new FieldDefinitionCache(client),
    syncStartedAt: new Date(),
  };
}

async function loadConfig(
  path: string | undefined,
  writer: ProtocolWriter,
): Promise<PipedriveConfig> {
  const raw = readJsonFile(path, '--config');
  const token = (raw as any)?.api_token;
  if (typeof token === 'string') writer.addSecret(token.trim());
  return parseConfig(raw);
}

async function check(args: Args, writer: ProtocolWriter): Promise<number> {
  try {
    const config = await loadConfig(args.config, writer);
    const client = await connect(config, (level, message) => writer.log(level, message));
    const me = await whoAmI(client);
    writer.log(
      'INFO',
      `Connected to ${client.baseUrl} as user ${String(me.id ?? '?')} (${String(me.company_name ?? me.company_domain ?? 'unknown company')}).`,
    );
    await writer.connectionStatus('SUCCEEDED');
  } catch (error) {
    if (!(error instanceof ConnectorError)) throw error;
    await writer.connectionStatus('FAILED', writer.redact(error.message));
  }
  return 0;
}

/** Builds the AirbyteStream of a stream, with its schema as this account has it. */
async function describe(stream: PipedriveStream): Promise<Record<string, unknown>> {
  // Without permission to read field definitions the stream still exists, without custom
  // columns (prepare warns).
  const schema = await stream.prepare();
  const pk = Array.isArray(stream.primaryKey) ? stream.primaryKey : [stream.primaryKey];
  const entry: Record<string, unknown> = {
    name: stream.name,
    json_schema: schema,
    supported_sync_modes: stream.isIncremental ? ['full_refresh', 'incremental'] : ['full_refresh'],
    source_defined_primary_key: pk.map((key) => [key]),
    is_resumable: stream.isIncremental,
  };
  if (stream.isIncremental) {
    const cursor = stream.cursorField;
    entry.source_defined_cursor = true;
    entry.default_cursor_field = Array.isArray(cursor) ? cursor : [cursor];
  }
  return entry;
}

async function discover(args: Args, writer: ProtocolWriter): Promise<number> {
  const config = await loadConfig(args.config, writer);
  const client = await connect(config, (level, message) => writer.log(level, message));
  const streams = allStreams(services(config, client, writer));
  const entries = [];
  for (const stream of streams) entries.push(await describe(stream));
  await writer.catalog(entries);
  return 0;
}

async function read(args: Args, writer: ProtocolWriter): Promise<number> {
  const config = await loadConfig(args.config, writer);
  const catalogRaw = readJsonFile(args.catalog, '--catalog');
  const log = {
    warn: (message: string) => writer.log('WARN', message),
    info: (message: string) => writer.log('INFO', message),
  };
  // A state that cannot be read is an error: starting every stream over would re-buy history.
  const inputState = args.state ? readStateFile(args.state, log) : new Map();
  const client = await connect(config, (level, message) => writer.log(level, message));
  const streams = allStreams(services(config, client, writer));
  const configured = parseConfiguredCatalog(
    catalogRaw,
    new Map(streams.map((stream) => [stream.name, { incremental: stream.isIncremental }])),
  );
  const result = await readStreams(config, client, streams, configured, inputState, writer);
  return result.failed ? 1 : 0;
}

/** Runs one command; returns the exit code. Output goes only through the writer. */
export async function run(argv: string[], writer = new ProtocolWriter()): Promise<number> {
  try {
    const args = parseArgs(argv);
    switch (args.command) {
      case 'check':
        return await check(args, writer);
      case 'discover':
        return await discover(args, writer);
      case 'read':
        return await read(args, writer);
      default:
        throw new ConfigError(`Unknown command "${args.command}". Usage: ${USAGE}`);
    }
  } catch (error) {
    if (error instanceof ConnectorError) {
      await writer.error(writer.redact(error.message), error.failureType, {
        internalMessage: error.internalMessage,
      });
    } else {
      await writer.error(
        `source-pipedrive failed because of a bug: ${writer.redact(errorMessage(error))}`,
        'system_error',
        { stackTrace: error instanceof Error ? writer.redact(error.stack ?? '') : undefined },
      );
    }
    return 1;
  } finally {
    await writer.flush();
  }
}
