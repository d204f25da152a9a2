import fs from 'node:fs';

import { ConfigError } from '../errors';
import { toTimestamp } from '../normalize';

export interface ConfiguredStream {
  name: string;
  syncMode: 'full_refresh' | 'incremental';
  /** The stream's schema as the user's catalog has it (custom columns are mapped by it). */
  jsonSchema?: Record<string, any>;
}

/**
 * The usual cause in Docker: a secrets file with mode 600 mounted into the image, whose `node`
 * user (uid 1000) is not its owner. Say so, with both fixes, instead of a bare EACCES.
 */
function notReadable(path: string, flag: string): string {
  const uid = process.getuid?.();
  const who = uid === undefined ? '' : ` (uid ${uid})`;
  return (
    `Cannot read the ${flag} file ${path}: permission denied (EACCES). It is not readable by the ` +
    `user the connector runs as${who}; in its Docker image that is the container user node. ` +
    `Make it readable on the host (chmod 644 <file>), or run the container as the file's ` +
    `owner (docker run --user "$(id -u):$(id -g)" …).`
  );
}

function readText(path: string | undefined, flag: string): string {
  if (!path) throw new ConfigError(`Missing ${flag} <file>: the command needs it.`);
  try {
    return fs.readFileSync(path, 'utf8');
  } catch (error: any) {
    if (error?.code === 'EACCES') throw new ConfigError(notReadable(path, flag));
    throw new ConfigError(
      `Cannot read the ${flag} file ${path}: ${error?.code === 'ENOENT' ? 'no such file' : (error?.code ?? error)}.`,
    );
  }
}

/** Reads a JSON file given on the command line, with an error that names the flag. */
export function readJsonFile(path: string | undefined, flag: string): unknown {
  const text = readText(path, flag);
  try {
    return JSON.parse(text);
  } catch (error: any) {
    throw new ConfigError(
      `The ${flag} file ${path} is not valid JSON: ${error?.message ?? error}.${connectorOutputHint(text)}`,
    );
  }
}

/** A file of several protocol messages (stdout of discover, saved whole) is a common mistake. */
function connectorOutputHint(text: string): string {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length < 2) return '';
  try {
    const first = JSON.parse(lines[0]);
    if (first && typeof first === 'object' && typeof first.type === 'string') {
      return ` It holds ${lines.length} lines of connector output (one protocol message per line), not one JSON document: ${CATALOG_HOW_TO}`;
    }
  } catch {
    // Not connector output either: the plain JSON error says enough.
  }
  return '';
}

const CATALOG_HOW_TO =
  'make a configured catalog with `npm run catalog -- --config <config file> --streams deals,persons --mode incremental` (see the README), or wrap each discovered stream as {"stream": <stream>, "sync_mode": "incremental", "destination_sync_mode": "append_dedup"}.';

/**
 * The `streams` of a configured catalog. A discovered catalog (entries with `name`, no
 * `stream`), or the CATALOG message of discover, is refused with how to wrap it: selecting
 * every stream silently would include deals_flow, whose first sync costs 40 API tokens a deal.
 */
function configuredStreams(raw: unknown): unknown[] {
  const message = raw as any;
  const catalog = message?.type === 'CATALOG' && message.catalog ? message.catalog : message;
  const streams = catalog?.streams;
  if (!Array.isArray(streams)) {
    throw new ConfigError('The configured catalog must be a JSON object with a "streams" list.');
  }
  const discovered = streams.some(
    (entry) => entry && typeof entry === 'object' && 'name' in entry && !('stream' in entry),
  );
  if (discovered || catalog !== message) {
    const what = catalog !== message ? 'the CATALOG message of discover' : 'a discovered catalog';
    throw new ConfigError(
      `The --catalog file is ${what} (streams[].name), not a configured catalog (streams[].stream.name with a sync_mode per stream): ${CATALOG_HOW_TO}`,
    );
  }
  return streams;
}

/** Validates a configured catalog against the streams this connector has. */
export function parseConfiguredCatalog(
  raw: unknown,
  known: Map<string, { incremental: boolean }>,
): ConfiguredStream[] {
  const streams = configuredStreams(raw);
  const result: ConfiguredStream[] = [];
  const seen = new Set<string>();
  for (const entry of streams as any[]) {
    const name = entry?.stream?.name;
    if (typeof name !== 'string') {
      throw new ConfigError(
        'Every configured catalog entry needs stream.name (as produced by discover).',
      );
    }
    const stream = known.get(name);
    if (!stream) {
      throw new ConfigError(
        `The configured catalog names a stream this connector does not have: "${name}". Run discover again and pick streams from its catalog (known: ${[...known.keys()].join(', ')}).`,
      );
    }
    const syncMode = entry.sync_mode ?? 'full_refresh';
    if (syncMode !== 'full_refresh' && syncMode !== 'incremental') {
      throw new ConfigError(
        `Stream "${name}" has sync_mode ${JSON.stringify(syncMode)}: use "full_refresh" or "incremental".`,
      );
    }
    if (syncMode === 'incremental' && !stream.incremental) {
      throw new ConfigError(
        `Stream "${name}" only supports full_refresh, but the configured catalog asks for incremental. Change its sync mode to full refresh.`,
      );
    }
    if (seen.has(name)) {
      throw new ConfigError(`The configured catalog lists stream "${name}" twice.`);
    }
    seen.add(name);
    const schema = entry.stream?.json_schema;
    result.push({
      name,
      syncMode,
      jsonSchema:
        schema && typeof schema === 'object' && !Array.isArray(schema) ? schema : undefined,
    });
  }
  return result;
}

export interface StateLog {
  warn(message: string): void;
  info(message: string): void;
}

const EXPECTED_STATE =
  'Expected what Airbyte passes: a JSON array of STREAM state objects ({"type": "STREAM", "stream": {"stream_descriptor": {"name": …}, "stream_state": {…}}}), a {"<stream>": {…}} map, or the messages file of a previous read (its last STATE per stream is used).';

/**
 * Reads the --state file. Besides what Airbyte passes (an array of STREAM states) it takes the
 * formats a user may have at hand — the per-stream map, a LEGACY blob holding such a map, a
 * GLOBAL state's stream states, the previous run's messages file (JSON lines) — and says how
 * it read them. A file it cannot understand at all is an error: silently starting every stream
 * over would re-buy the whole history (40 API tokens a deal for deals_flow).
 */
export function readStateFile(path: string, log: StateLog): Map<string, Record<string, unknown>> {
  const text = readText(path, '--state');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error: any) {
    const fromMessages = statesFromMessages(text);
    if (fromMessages) {
      log.info(
        `The --state file ${path} is a messages file (JSON lines): using the last STATE of each of its ${fromMessages.size} stream(s).`,
      );
      return fromMessages;
    }
    throw new ConfigError(
      `The --state file ${path} is not valid JSON (${error?.message ?? error}). ${EXPECTED_STATE}`,
    );
  }
  return parseInputState(raw, log);
}

/** The last STREAM state per stream among the lines of a messages file, if it is one. */
function statesFromMessages(text: string): Map<string, Record<string, unknown>> | undefined {
  const states = new Map<string, Record<string, unknown>>();
  let messages = 0;
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    let message: any;
    try {
      message = JSON.parse(trimmed);
    } catch {
      return undefined;
    }
    messages++;
    if (message?.type !== 'STATE') continue;
    const name = message.state?.stream?.stream_descriptor?.name;
    const value = message.state?.stream?.stream_state;
    if (typeof name === 'string' && value && typeof value === 'object' && !Array.isArray(value)) {
      states.set(name, value);
    }
  }
  return messages > 0 ? states : undefined;
}

/**
 * Accepts what Airbyte passes back (an array of STREAM state messages) and the other forms
 * readStateFile describes; an entry it cannot read is a config error that says what was
 * expected.
 */
export function parseInputState(raw: unknown, log: StateLog): Map<string, Record<string, unknown>> {
  const states = new Map<string, Record<string, unknown>>();
  if (raw === undefined || raw === null) return states;
  const put = (name: unknown, value: unknown): void => {
    if (typeof name !== 'string' || name === '') {
      throw new ConfigError(`A state entry has no stream name. ${EXPECTED_STATE}`);
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      log.warn(
        `The state of stream "${name}" is not a JSON object (${JSON.stringify(value)?.slice(0, 60)}): that stream starts from start_date.`,
      );
      return;
    }
    states.set(name, value as Record<string, unknown>);
  };
  const putMap = (map: unknown, what: string): void => {
    if (!map || typeof map !== 'object' || Array.isArray(map)) {
      throw new ConfigError(
        `The state's ${what} is not a {"<stream>": {…}} map. ${EXPECTED_STATE}`,
      );
    }
    for (const [name, value] of Object.entries(map)) put(name, value);
  };
  if (!Array.isArray(raw) && typeof raw === 'object' && !isStateMessage(raw)) {
    log.info('The state is a {"<stream>": {…}} map: reading one state per stream from it.');
    putMap(raw, 'map');
    return states;
  }
  const entries = Array.isArray(raw) ? raw : [raw];
  for (const entry of entries) {
    if (!entry || typeof entry !== 'object') {
      throw new ConfigError(
        `A state entry is not a JSON object (${JSON.stringify(entry)?.slice(0, 60)}). ${EXPECTED_STATE}`,
      );
    }
    const message: any = entry.type === 'STATE' && entry.state ? entry.state : entry;
    if (message.type === 'STREAM' || message.stream?.stream_descriptor) {
      put(message.stream?.stream_descriptor?.name, message.stream?.stream_state ?? {});
    } else if (message.type === 'GLOBAL' || message.global) {
      const streamStates = message.global?.stream_states;
      if (!Array.isArray(streamStates)) {
        throw new ConfigError(`The GLOBAL state has no stream_states list. ${EXPECTED_STATE}`);
      }
      log.info(
        `The state is a GLOBAL state: reading its ${streamStates.length} stream state(s); this connector keeps one STREAM state per stream from now on.`,
      );
      for (const item of streamStates) put(item?.stream_descriptor?.name, item?.stream_state ?? {});
    } else if (message.type === 'LEGACY' || 'data' in message) {
      log.info(
        'The state is a LEGACY state: reading the per-stream map in its data; this connector keeps one STREAM state per stream from now on.',
      );
      putMap(message.data, 'LEGACY data');
    } else {
      throw new ConfigError(
        `A state entry has an unknown format (${JSON.stringify(entry).slice(0, 80)}). ${EXPECTED_STATE}`,
      );
    }
  }
  return states;
}

function isStateMessage(value: object): boolean {
  const message = value as Record<string, any>;
  return (
    message.type === 'STATE' ||
    message.type === 'STREAM' ||
    message.type === 'GLOBAL' ||
    message.type === 'LEGACY' ||
    message.stream?.stream_descriptor !== undefined
  );
}

/** What validStreamState needs to know about a stream. */
export interface StateShape {
  name: string;
  positionKeys: string[];
  extraStateKeys: string[];
}

/** State keys of earlier versions that are dropped without a warning (no longer needed). */
const RETIRED_KEYS = /_listed_at$/;

/**
 * The usable part of one stream's saved state: positions normalised to RFC 3339 UTC whole
 * seconds (offsets, fractions, Pipedrive's `YYYY-MM-DD HH:MM:SS`, with an INFO when changed),
 * known extra keys as they are. A position that is not a time is dropped with a warning (that
 * pass starts from start_date); a state with nothing known in it too.
 */
export function validStreamState(
  stream: StateShape,
  raw: Record<string, unknown> | undefined,
  log: StateLog,
): Record<string, unknown> {
  const state: Record<string, unknown> = {};
  if (!raw) return state;
  for (const key of stream.positionKeys) {
    const value = raw[key];
    if (value === undefined || value === null) continue;
    const normalised = typeof value === 'string' ? toTimestamp(value) : null;
    if (normalised === null) {
      log.warn(
        `State of stream "${stream.name}" has ${key}=${JSON.stringify(value)}, which is not a date-time: that part of the stream starts from start_date instead.`,
      );
      continue;
    }
    if (normalised !== value) {
      log.info(
        `State of stream "${stream.name}": ${key}=${JSON.stringify(value)} is read as ${normalised} (RFC 3339 UTC, whole seconds).`,
      );
    }
    state[key] = normalised;
  }
  for (const key of stream.extraStateKeys) {
    if (raw[key] !== undefined && raw[key] !== null) state[key] = raw[key];
  }
  // flow_since and the like are positions too: normalise them like the others.
  for (const key of stream.extraStateKeys) {
    const value = state[key];
    if (typeof value === 'string' && /_since$/.test(key)) {
      const normalised = toTimestamp(value);
      if (normalised) state[key] = normalised;
      else delete state[key];
    }
  }
  const known = new Set([...stream.positionKeys, ...stream.extraStateKeys]);
  const unknown = Object.keys(raw).filter((key) => !known.has(key) && !RETIRED_KEYS.test(key));
  if (unknown.length > 0 && Object.keys(state).length === 0) {
    // E.g. the state of another connector.
    log.warn(
      `State of stream "${stream.name}" has no known position (expected ${[...known].join(' or ') || 'none'}, got ${unknown.join(', ')}): the stream starts from start_date instead.`,
    );
  }
  return state;
}
