import fs from 'node:fs';

import { ConfigError } from '../errors';

export interface ConfiguredStream {
  name: string;
  syncMode: 'full_refresh' | 'incremental';
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

/** Reads a JSON file given on the command line, with an error that names the flag. */
export function readJsonFile(
  path: string | undefined,
  flag: string,
  /** When given, a file that is not JSON is reported here and read as undefined. */
  onInvalidJson?: (message: string) => void,
): unknown {
  if (!path) throw new ConfigError(`Missing ${flag} <file>: the command needs it.`);
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (error: any) {
    if (error?.code === 'EACCES') throw new ConfigError(notReadable(path, flag));
    throw new ConfigError(
      `Cannot read the ${flag} file ${path}: ${error?.code === 'ENOENT' ? 'no such file' : (error?.code ?? error)}.`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (error: any) {
    const message = `The ${flag} file ${path} is not valid JSON: ${error?.message ?? error}.`;
    if (!onInvalidJson) throw new ConfigError(message);
    onInvalidJson(message);
    return undefined;
  }
}

/** Validates a configured catalog against the streams this connector has. */
export function parseConfiguredCatalog(
  raw: unknown,
  known: Map<string, { incremental: boolean }>,
): ConfiguredStream[] {
  const streams = (raw as any)?.streams;
  if (!Array.isArray(streams)) {
    throw new ConfigError('The configured catalog must be a JSON object with a "streams" list.');
  }
  const result: ConfiguredStream[] = [];
  const seen = new Set<string>();
  for (const entry of streams) {
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
    result.push({ name, syncMode });
  }
  return result;
}

export type Warn = (message: string) => void;

/**
 * Accepts what Airbyte passes back (an array of STREAM state messages), the
 * per-stream map form, and a STATE message wrapper. Anything else is ignored
 * with a warning: those streams start from start_date, never from nowhere.
 */
export function parseInputState(raw: unknown, warn: Warn): Map<string, Record<string, unknown>> {
  const states = new Map<string, Record<string, unknown>>();
  if (raw === undefined || raw === null) return states;
  const put = (name: unknown, value: unknown): void => {
    if (typeof name !== 'string' || name === '') {
      warn('Ignored a state entry without a stream name.');
    } else if (!value || typeof value !== 'object' || Array.isArray(value)) {
      warn(`Ignored the state of stream "${name}": it is not a JSON object.`);
    } else {
      states.set(name, value as Record<string, unknown>);
    }
  };
  const entries = Array.isArray(raw) ? raw : [raw];
  for (const entry of entries) {
    if (!entry || typeof entry !== 'object') {
      warn(`Ignored a state entry that is not a JSON object: ${JSON.stringify(entry)}.`);
      continue;
    }
    const message = entry.type === 'STATE' && entry.state ? entry.state : entry;
    if (message?.type === 'STREAM' || message?.stream?.stream_descriptor) {
      put(message.stream?.stream_descriptor?.name, message.stream?.stream_state ?? {});
    } else if (message.type === 'GLOBAL' || message.type === 'LEGACY' || 'data' in message) {
      warn(
        `Ignored a ${message?.type ?? 'legacy'} state: this connector keeps one STREAM state per stream. Affected streams start from start_date.`,
      );
    } else if (!Array.isArray(raw) && message && typeof message === 'object') {
      for (const [name, value] of Object.entries(message)) put(name, value);
    } else {
      warn('Ignored a state entry of an unknown format.');
    }
  }
  return states;
}
