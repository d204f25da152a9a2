import { parseConfigWithNotes, type PipedriveConfig, rawSecrets } from './config';
import { ConnectorError } from './errors';
import type { PipedriveClient, RateLimitHeaders } from './pipedrive/client';
import { connect, type ConnectHooks, whoAmIWithLimits } from './pipedrive/connect';
import { parseConfiguredCatalog, readJsonFile, readStateFile } from './protocol/input';
import { ConnectorLogger } from './protocol/logger';
import type { ProtocolWriter } from './protocol/output';
import { readStreams } from './read';
import { FieldDefinitionCache, type PipedriveStream, type StreamServices } from './streams/base';
import { allStreams } from './streams/index';

/**
 * check, discover and read: loaded only for those commands (they pull in the CDK and the HTTP client),
 * so that spec, --help and --version start fast.
 */

export interface Args {
  command: string;
  config?: string;
  catalog?: string;
  state?: string;
}

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

interface LoadedConfig {
  config: PipedriveConfig;
  hooks: ConnectHooks;
}

async function loadConfig(path: string | undefined, writer: ProtocolWriter): Promise<LoadedConfig> {
  const raw = readJsonFile(path, '--config');
  // Before validation: an error message must not be able to echo a secret either.
  for (const secret of rawSecrets(raw)) writer.addSecret(secret);
  const { config, notes } = parseConfigWithNotes(raw);
  for (const note of notes) writer.log(note.level, note.message);
  const hooks: ConnectHooks = {
    rawConfig: raw as Record<string, unknown>,
    addSecret: (secret) => writer.addSecret(secret),
    onConfigChange: async (updated) => {
      writer.log(
        'INFO',
        'Pipedrive rotated the OAuth refresh token: the updated config goes to Airbyte in a CONTROL message (outside Airbyte, copy it from that message into your config file).',
      );
      await writer.control(updated);
    },
  };
  return { config, hooks };
}

const connectWith = ({ config, hooks }: LoadedConfig, writer: ProtocolWriter) =>
  connect(config, (level, message) => writer.log(level, message), hooks);

/** "burst limit 80 requests per 2 s; 41,230 of 60,000 API tokens left today". */
function describeLimits(limits: RateLimitHeaders | undefined, config: PipedriveConfig): string {
  const parts: string[] = [];
  if (limits?.burstLimit !== undefined) {
    parts.push(
      `burst limit ${limits.burstLimit} requests per 2 s (the connector keeps to ${Math.min(limits.burstLimit, config.max_requests_per_2_seconds)})`,
    );
  }
  if (limits?.dailyRemaining !== undefined) {
    const total =
      limits.dailyLimit !== undefined ? ` of ${limits.dailyLimit.toLocaleString('en-US')}` : '';
    parts.push(
      `${limits.dailyRemaining.toLocaleString('en-US')}${total} API tokens left today for the company`,
    );
  }
  return parts.join('; ');
}

export async function check(args: Args, writer: ProtocolWriter): Promise<number> {
  try {
    const loaded = await loadConfig(args.config, writer);
    const client = await connectWith(loaded, writer);
    const { user, rateLimits } = await whoAmIWithLimits(client);
    const limits = describeLimits(rateLimits, loaded.config);
    const auth = loaded.config.credentials.auth_type === 'oauth2' ? 'OAuth app' : 'API token';
    const company = String(user.company_name ?? user.company_domain ?? 'unknown company');
    const summary = `Connected to ${client.baseUrl} with the ${auth} as user ${String(user.id ?? '?')} (${company})${limits ? `; ${limits}` : ''}.`;
    writer.log('INFO', summary);
    await writer.connectionStatus('SUCCEEDED', summary);
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

export async function discover(args: Args, writer: ProtocolWriter): Promise<number> {
  const loaded = await loadConfig(args.config, writer);
  const client = await connectWith(loaded, writer);
  const streams = allStreams(services(loaded.config, client, writer));
  const entries = [];
  for (const stream of streams) entries.push(await describe(stream));
  await writer.catalog(entries);
  return 0;
}

export async function read(args: Args, writer: ProtocolWriter): Promise<number> {
  const loaded = await loadConfig(args.config, writer);
  const catalogRaw = readJsonFile(args.catalog, '--catalog');
  // A state that cannot be read is an error: starting every stream over would re-buy history.
  const log = {
    warn: (message: string) => writer.log('WARN', message),
    info: (message: string) => writer.log('INFO', message),
  };
  const inputState = args.state ? readStateFile(args.state, log) : new Map();
  // The catalog is checked before any request (and before an OAuth refresh).
  const known = new Map(
    allStreams(services(loaded.config, undefined as unknown as PipedriveClient, writer)).map(
      (stream) => [stream.name, { incremental: stream.isIncremental }],
    ),
  );
  const configured = parseConfiguredCatalog(catalogRaw, known);
  const client = await connectWith(loaded, writer);
  const streams = allStreams(services(loaded.config, client, writer));
  const result = await readStreams(loaded.config, client, streams, configured, inputState, writer);
  return result.failed ? 1 : 0;
}
