import { parseRfc3339, type PipedriveConfig } from './config';
import {
  ConnectorError,
  DailyBudgetExhaustedError,
  errorMessage,
  type FailureType,
  isSyncFatal,
} from './errors';
import type { PipedriveClient } from './pipedrive/client';
import { type ConfiguredStream } from './protocol/input';
import type { ProtocolWriter } from './protocol/output';
import {
  ChildStream,
  type PipedriveStream,
  type Row,
  type StreamPage,
  type StreamState,
} from './streams/base';

interface Member {
  stream: PipedriveStream;
  syncMode: 'full_refresh' | 'incremental';
  state: StreamState;
  /** The state this run started from (child streams filter their fan-out by it). */
  startState: StreamState;
  records: number;
  /** Set when this (child) stream failed while the rest of its group read on. */
  failure?: unknown;
}

/** The streams that one API pass feeds: a root stream and its selected children. */
interface Group {
  root: PipedriveStream;
  members: Member[];
}

export interface ReadResult {
  failed: boolean;
}

/** Drops state keys that are not valid positions, with a warning, so the stream starts from start_date. */
function validState(
  stream: PipedriveStream,
  raw: Record<string, unknown> | undefined,
  warn: (message: string) => void,
): StreamState {
  if (!raw || !stream.isIncremental) return {};
  const state: StreamState = {};
  for (const key of stream.stateKeys) {
    const value = raw[key];
    if (value === undefined || value === null) continue;
    if (typeof value === 'string' && parseRfc3339(value)) {
      state[key] = value;
    } else {
      warn(
        `State of stream "${stream.name}" has ${key}=${JSON.stringify(value)}, which is not an RFC 3339 date-time: the stream starts from start_date instead.`,
      );
    }
  }
  const keys = Object.keys(raw);
  if (keys.length > 0 && stream.stateKeys.every((key) => raw[key] === undefined)) {
    // E.g. the state of an older connector version.
    warn(
      `State of stream "${stream.name}" has no known position (expected ${stream.stateKeys.join(' or ')}, got ${keys.join(', ')}): the stream starts from start_date instead.`,
    );
  }
  return state;
}

/** Per key, the earliest position among members (a missing key means "from the start"). */
function earliestPosition(members: Member[], keys: string[]): StreamState {
  const result: StreamState = {};
  for (const key of keys) {
    let earliest: string | undefined;
    let anyMissing = false;
    for (const member of members) {
      const value = member.state[key];
      if (typeof value !== 'string') anyMissing = true;
      else if (!earliest || value < earliest) earliest = value;
    }
    if (!anyMissing && earliest) result[key] = earliest;
  }
  return result;
}

function advance(state: StreamState, position: StreamState | undefined): StreamState {
  if (!position) return state;
  const next = { ...state };
  for (const [key, value] of Object.entries(position)) {
    const current = next[key];
    // null clears a key (e.g. a listing time that no longer describes the position).
    if (value === null) delete next[key];
    else if (typeof value === 'string' && (typeof current !== 'string' || value > current)) {
      next[key] = value;
    }
  }
  return next;
}

/**
 * Reads the configured streams and owns what goes out: STARTED/RUNNING/COMPLETE
 * or INCOMPLETE per stream, records, a STREAM state after every page, and a
 * TRACE ERROR per failure. A failure in one stream does not stop the others,
 * except when the whole account is out of reach (daily budget, token, billing).
 */
export async function readStreams(
  config: PipedriveConfig,
  client: PipedriveClient,
  streams: PipedriveStream[],
  configured: ConfiguredStream[],
  inputState: Map<string, Record<string, unknown>>,
  writer: ProtocolWriter,
): Promise<ReadResult> {
  const warn = (message: string): void => writer.log('WARN', message);
  const byName = new Map(streams.map((stream) => [stream.name, stream]));
  const groups: Group[] = [];
  const groupByRoot = new Map<string, Group>();
  // Roots in the connector's order, members in the connector's order.
  const selected = new Map(configured.map((entry) => [entry.name, entry]));
  for (const stream of streams) {
    const entry = selected.get(stream.name);
    if (!entry) continue;
    const root = stream.parentName ? byName.get(stream.parentName) : stream;
    if (!root) throw new Error(`Stream ${stream.name} has an unknown parent ${stream.parentName}`);
    let group = groupByRoot.get(root.name);
    if (!group) {
      group = { root, members: [] };
      groupByRoot.set(root.name, group);
      groups.push(group);
    }
    const state = validState(stream, inputState.get(stream.name), warn);
    group.members.push({
      stream,
      syncMode: entry.syncMode,
      state,
      startState: entry.syncMode === 'incremental' ? state : {},
      records: 0,
    });
  }
  for (const name of inputState.keys()) {
    if (!selected.has(name)) {
      writer.log(
        'INFO',
        `State for stream "${name}" is kept aside: the stream is not in the catalog.`,
      );
    }
  }

  let failed = false;
  let fatal: ConnectorError | undefined;
  const started = Date.now();
  for (const group of groups) {
    if (fatal) {
      for (const member of group.members) {
        // Never started: the saved state goes back unchanged.
        await writer.state(
          member.stream.name,
          member.syncMode === 'incremental' ? member.state : {},
        );
        await writer.streamStatus(member.stream.name, 'INCOMPLETE', quotaReset(fatal));
      }
      continue;
    }
    const outcome = await readGroup(group, client, writer);
    if (outcome) {
      failed = true;
      if (isSyncFatal(outcome)) fatal = outcome as ConnectorError;
    }
  }
  if (fatal) {
    await writer.error(fatal.message, fatal.failureType);
  }
  logSyncStats(client, writer, started);
  await writer.flush();
  return { failed };
}

/** The state to emit for a member: its position (incremental) or nothing (full refresh). */
function checkpoint(member: Member, finished: boolean): StreamState {
  if (member.syncMode !== 'incremental') return {};
  return member.stream.checkpointState(member.state, member.startState, finished);
}

function quotaReset(error: unknown): Date | undefined {
  return error instanceof DailyBudgetExhaustedError ? error.resetsAt : undefined;
}

/** Reads one group; returns the error that stopped it, if any. */
async function readGroup(
  group: Group,
  client: PipedriveClient,
  writer: ProtocolWriter,
): Promise<unknown> {
  const { root, members } = group;
  const begun = Date.now();
  for (const member of members) await writer.streamStatus(member.stream.name, 'STARTED');
  for (const member of members) await writer.streamStatus(member.stream.name, 'RUNNING');
  const incremental = members.every((member) => member.syncMode === 'incremental');
  try {
    await root.prepare();
    for (const member of members) await member.stream.prepare();
    const start = incremental ? earliestPosition(members, root.stateKeys) : undefined;
    const pages = root.readPages({
      syncMode: incremental ? 'incremental' : 'full_refresh',
      state: start,
    });
    for await (const page of pages) {
      await emitPage(page, members, root, writer);
      if (incremental) {
        for (const member of members) {
          if (member.failure) continue;
          member.state = advance(member.state, page.position);
          await writer.state(member.stream.name, checkpoint(member, false));
        }
      }
      if (members.every((member) => member.failure)) break;
    }
  } catch (error) {
    await reportFailure(
      error,
      members.filter((member) => !member.failure),
      writer,
    );
    logGroupStats(group, client, writer, begun);
    return error;
  }
  for (const member of members) {
    if (member.failure) continue;
    await writer.state(member.stream.name, checkpoint(member, true));
    await writer.streamStatus(member.stream.name, 'COMPLETE');
  }
  logGroupStats(group, client, writer, begun);
  return members.find((member) => member.failure)?.failure;
}

async function emitPage(
  page: StreamPage,
  members: Member[],
  root: PipedriveStream,
  writer: ProtocolWriter,
): Promise<void> {
  for (const member of members) {
    let rows: Row[];
    if (member.stream === root) {
      rows = page.records;
    } else if (member.stream instanceof ChildStream) {
      if (member.failure) continue;
      try {
        rows = await member.stream.deriveRows(page.records, member.startState);
      } catch (error) {
        // A child's own endpoint failing (permission, outage) stops that child only;
        // the parent and its other children read on.
        if (isSyncFatal(error)) throw error;
        member.failure = error;
        await reportFailure(error, [member], writer);
        continue;
      }
    } else {
      continue;
    }
    const name = member.stream.name;
    for (const row of rows) await writer.record(name, row);
    member.records += rows.length;
  }
}

async function reportFailure(
  error: unknown,
  members: Member[],
  writer: ProtocolWriter,
): Promise<void> {
  const failureType: FailureType =
    error instanceof ConnectorError ? error.failureType : 'system_error';
  const isBug = !(error instanceof ConnectorError);
  for (const member of members) {
    const name = member.stream.name;
    // The latest state keeps what was read; the next sync resumes from it.
    await writer.state(name, checkpoint(member, false));
    if (!isSyncFatal(error)) {
      await writer.error(
        isBug
          ? `Stream ${name} failed because of a connector bug: ${errorMessage(error)}`
          : `Stream ${name}: ${errorMessage(error)}`,
        failureType,
        {
          stream: name,
          stackTrace: isBug && error instanceof Error ? error.stack : undefined,
        },
      );
    }
    await writer.streamStatus(name, 'INCOMPLETE', quotaReset(error));
  }
}

function logGroupStats(
  group: Group,
  client: PipedriveClient,
  writer: ProtocolWriter,
  begun: number,
): void {
  const seconds = ((Date.now() - begun) / 1000).toFixed(1);
  const names = new Set([group.root.name, ...group.members.map((m) => m.stream.name)]);
  let requests = 0;
  let tokens = 0;
  for (const name of names) {
    const stats = client.stats.forScope(name);
    requests += stats.requests;
    tokens += stats.tokens;
  }
  const counts = group.members.map((m) => `${m.stream.name}=${m.records}`).join(', ');
  writer.log(
    'INFO',
    `Finished ${[...names].join(' + ')} in ${seconds} s: records ${counts}; ${requests} requests, ${tokens} API tokens.`,
  );
}

function logSyncStats(client: PipedriveClient, writer: ProtocolWriter, started: number): void {
  const stats = client.stats;
  const endpoints = [...stats.byEndpoint.entries()]
    .sort((a, b) => b[1].tokens - a[1].tokens)
    .map(([endpoint, s]) => `${endpoint}: ${s.requests} req/${s.tokens} tokens`)
    .join('; ');
  writer.log(
    'INFO',
    `Sync used ${stats.requests} requests and ${stats.tokens} API tokens in ${((Date.now() - started) / 1000).toFixed(1)} s (${stats.retries} retries, ${stats.responses429} rate-limited). By endpoint: ${endpoints || 'none'}.`,
  );
}
