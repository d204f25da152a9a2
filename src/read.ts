import { mapOrdered } from './concurrency';
import type { PipedriveConfig } from './config';
import {
  ConnectorError,
  DailyBudgetExhaustedError,
  errorMessage,
  type FailureType,
  isSyncFatal,
} from './errors';
import { toApiTime } from './normalize';
import type { PipedriveClient } from './pipedrive/client';
import { type ConfiguredStream, validStreamState } from './protocol/input';
import type { ProtocolWriter } from './protocol/output';
import {
  apiTime,
  ArrayChildStream,
  DELETED_AT,
  type JsonSchema,
  maxOf,
  type PassPage,
  type PassSpec,
  type PipedriveStream,
  RootStream,
  type Row,
  type StreamState,
  type SyncModeName,
  UPDATE_TIME,
} from './streams/base';
import { DEAL_IDS_PER_CALL } from './streams/deals';
import { checkDue, DELETES_CHECKED_AT, IdSet, KNOWN_IDS } from './streams/deletes';
import {
  changedParents,
  FANNED_OUT,
  FanOutMemory,
  FanOutStream,
  LISTING_SAFETY_MARGIN_MS,
  listingProves,
} from './streams/fanout';
import { ProgressSequence } from './streams/progress';
import { idListingCost, readIds, readPass } from './streams/readers';

/** A selected stream in this run: its mode, states, counts. */
interface Member {
  stream: PipedriveStream;
  syncMode: SyncModeName;
  /** The state as it advances (positions, fan-out memory). */
  state: StreamState;
  /** The state this run started from. */
  startState: StreamState;
  catalogSchema?: JsonSchema;
  /** Fan-out children: per pass, the parent versions whose children were read. */
  memory?: Map<string, FanOutMemory>;
  /**
   * Roots with delete detection: the ids the destination holds (alive at the last check plus
   * emitted since); undefined when the state has none yet (an upgrade: no baseline).
   */
  known?: IdSet;
  /** The last encoding of `known` and the set's version then (encoding 1M ids takes ~15 ms). */
  knownEncoded?: { version: number; text: string };
  /** When this member's last STATE was written (large states are written less often). */
  lastStateAt: number;
  /** Per pass: the earliest update_time of parent rows this member needs (incremental). */
  since: Map<string, string | undefined>;
  records: number;
  checkpoints: number;
  /** Set when this (child) stream failed while the rest of its group read on. */
  failure?: unknown;
  /** Set when this child's endpoint is not in the account (plan, add-on): it completes empty. */
  unavailable?: boolean;
  /** Why fan-out calls were made beyond "changed since the saved position" (summary). */
  extraCalls: { deleted: number; late: number; sameSecond: number };
  done: boolean;
}

/** The streams that one API pass feeds: a root stream and its selected children. */
interface Group {
  root: RootStream;
  members: Member[];
  mode: SyncModeName;
  progress: Map<string, ProgressSequence>;
  stopped: boolean;
  startedAt: number;
  /** A root that is optional for the account (an add-on) and answered "not available". */
  unavailable?: string;
  /** Pages whose rows are written and whose fan-out is still under way (see handlePage). */
  pagesAhead: Set<Promise<void>>;
  pageFailure?: unknown;
  /** Every pass has read its last page (their fan-out may still be under way). */
  passesEnded?: boolean;
}

export interface ReadResult {
  failed: boolean;
}

/** How often a long sync says where it is. */
const PROGRESS_INTERVAL_MS = Number(process.env.PIPEDRIVE_PROGRESS_INTERVAL_MS) || 30_000;
/** A state longer than this (characters) is written at most every LARGE_STATE_INTERVAL_MS. */
const LARGE_STATE_CHARS = 32_768;
const LARGE_STATE_INTERVAL_MS = 30_000;
/** At most this many parents per checkpoint (one deal-products call). */
const MAX_PARENTS_PER_SLICE = DEAL_IDS_PER_CALL;
/** Pages of a group that may still be fanning out while its lanes list the next ones. */
const MAX_PAGES_AHEAD = 16;

/**
 * Reads the configured streams and owns what goes out: STARTED/RUNNING/COMPLETE or INCOMPLETE
 * per stream, records, a STREAM state whenever a stream's finished work grows, and a TRACE
 * ERROR per failure. Stream groups (a root and its selected children) run concurrently; every
 * request passes the client's one gate and rate limiter, so the sync fills Pipedrive's burst
 * limit without exceeding it. A failure in one stream does not stop the others, except when the
 * whole account is out of reach (daily budget or its reserve, token, billing).
 */
export async function readStreams(
  config: PipedriveConfig,
  client: PipedriveClient,
  streams: PipedriveStream[],
  configured: ConfiguredStream[],
  inputState: Map<string, Record<string, unknown>>,
  writer: ProtocolWriter,
): Promise<ReadResult> {
  return new SyncRun(config, client, writer).run(streams, configured, inputState);
}

class SyncRun {
  private readonly groups: Group[] = [];
  private fatal?: ConnectorError;
  private failed = false;
  private readonly startedAt = Date.now();
  /** Pipedrive's clock at the start (for window splits): a lower bound, else ours. */
  private nowMs = Date.now();
  /** When the sync started (a delete check's time). */
  private readonly syncStartedAt = new Date();

  constructor(
    private readonly config: PipedriveConfig,
    private readonly client: PipedriveClient,
    private readonly writer: ProtocolWriter,
  ) {}

  async run(
    streams: PipedriveStream[],
    configured: ConfiguredStream[],
    inputState: Map<string, Record<string, unknown>>,
  ): Promise<ReadResult> {
    this.buildGroups(streams, configured, inputState);
    for (const name of inputState.keys()) {
      if (!configured.some((entry) => entry.name === name)) {
        this.writer.log(
          'INFO',
          `State for stream "${name}" is kept aside: the stream is not in the catalog.`,
        );
      }
    }
    this.nowMs = this.client.serverTimeLowerBound(Date.now()) ?? Date.now();
    const timer = setInterval(() => this.logProgress(), PROGRESS_INTERVAL_MS);
    timer.unref();
    this.writer.onTerminate(() => this.runningCheckpoints());
    try {
      // Groups start in priority order, each once its first request is in the gate's queue
      // (or it ended without one): the queue then serves them in that order.
      const runs: Promise<void>[] = [];
      for (const group of this.prioritised()) {
        const scopes = [group.root.name, ...group.members.map((member) => member.stream.name)];
        const queued = this.client.queued(scopes);
        const done = this.runGroup(group);
        runs.push(done);
        await Promise.race([queued, done]);
      }
      await Promise.all(runs);
    } finally {
      clearInterval(timer);
      this.writer.onTerminate(undefined);
    }
    if (this.fatal) await this.writer.error(this.fatal.message, this.fatal.failureType);
    this.logSyncStats();
    await this.writer.flush();
    return { failed: this.failed };
  }

  private buildGroups(
    streams: PipedriveStream[],
    configured: ConfiguredStream[],
    inputState: Map<string, Record<string, unknown>>,
  ): void {
    // An add-on's endpoints answer 402 when the account lacks it: that stops their stream only.
    for (const stream of streams) {
      if (stream.declaration.optional?.statuses.includes(402)) {
        this.client.markOptionalScope(stream.name);
      }
    }
    const byName = new Map(streams.map((stream) => [stream.name, stream]));
    const selected = new Map(configured.map((entry) => [entry.name, entry]));
    const groupByRoot = new Map<string, Group>();
    const warn = (message: string): void => this.writer.log('WARN', message);
    const info = (message: string): void => this.writer.log('INFO', message);
    // Roots in the connector's order, members in the connector's order.
    for (const stream of streams) {
      const entry = selected.get(stream.name);
      if (!entry) continue;
      const root = stream.parentName ? byName.get(stream.parentName) : stream;
      if (!(root instanceof RootStream)) {
        throw new Error(`Stream ${stream.name} has an unknown parent ${String(stream.parentName)}`);
      }
      let group = groupByRoot.get(root.name);
      if (!group) {
        group = {
          root,
          members: [],
          mode: 'incremental',
          progress: new Map(),
          stopped: false,
          pagesAhead: new Set(),
          startedAt: 0,
        };
        groupByRoot.set(root.name, group);
        this.groups.push(group);
      }
      const incremental = entry.syncMode === 'incremental';
      const state = incremental
        ? validStreamState(stream, inputState.get(stream.name), { warn, info })
        : {};
      group.members.push({
        stream,
        syncMode: entry.syncMode,
        state,
        startState: state,
        catalogSchema: entry.jsonSchema,
        memory:
          stream instanceof FanOutStream && incremental
            ? decodeMemory(stream.positionKeys, state[FANNED_OUT])
            : undefined,
        known:
          stream instanceof RootStream && stream.detectsDeletes && incremental
            ? knownIdsOf(state)
            : undefined,
        since: new Map(),
        lastStateAt: 0,
        records: 0,
        checkpoints: 0,
        extraCalls: { deleted: 0, late: 0, sameSecond: 0 },
        done: false,
      });
    }
  }

  /**
   * Groups that did not finish their last pass, or never ran, go first: when the daily budget
   * runs out, the next sync does not spend the new budget on the same group again.
   */
  private prioritised(): Group[] {
    const unfinished = (group: Group): boolean =>
      group.members.some(
        (member) =>
          member.syncMode === 'incremental' &&
          (Object.keys(member.startState).length === 0 ||
            Object.keys(member.startState).some((key) => key === 'flow_since')),
      );
    return [...this.groups].sort((a, b) => Number(unfinished(b)) - Number(unfinished(a)));
  }

  // ---- one group --------------------------------------------------------------------------

  private async runGroup(group: Group): Promise<void> {
    const { root, members } = group;
    group.startedAt = Date.now();
    for (const member of members) await this.writer.streamStatus(member.stream.name, 'STARTED');
    if (this.fatal) return this.abandon(group);
    for (const member of members) await this.writer.streamStatus(member.stream.name, 'RUNNING');
    try {
      const rootMember = members.find((member) => member.stream === root);
      this.plan(group);
      // The passes start while the field definitions load: their first requests are on the
      // way meanwhile, and rows are shaped only once every member is prepared (root.ready).
      const ready = (async () => {
        await root.prepare(rootMember?.catalogSchema);
        for (const member of members) await member.stream.prepare(member.catalogSchema);
      })();
      root.ready = ready;
      const [prepared, passes] = await Promise.allSettled([ready, this.readPasses(group)]);
      if (prepared.status === 'rejected') throw prepared.reason;
      if (passes.status === 'rejected') throw passes.reason;
      // A pass that learns its position only at its end (newest-first lists) finishes a last
      // leaf after its last page: the final state below must carry it.
      for (const pass of root.passes) this.advance(group, pass);
      if (rootMember && !group.unavailable) await this.checkDeletes(group, rootMember);
    } catch (error) {
      if (this.isUnavailable(root, error)) {
        group.unavailable = `${root.declaration.optional!.missing} (${errorMessage(error)})`;
      } else {
        group.stopped = true;
        await this.groupFailed(group, error);
        return;
      }
    }
    if (group.unavailable) {
      root.log(
        'WARN',
        `${group.unavailable} not available to this account or token: ${members.map((m) => m.stream.name).join(', ')} complete empty.`,
      );
    }
    for (const member of members) {
      if (member.failure) continue;
      await this.writer.state(member.stream.name, this.checkpoint(member, true));
      member.checkpoints++;
      await this.writer.streamStatus(member.stream.name, 'COMPLETE');
      member.done = true;
      this.logMemberEnd(group, member);
    }
  }

  /** Decides the group's pass mode and, per member and pass, where its rows start. */
  private plan(group: Group): void {
    const { root, members } = group;
    // One pass feeds every member: it must bring every row a full-refresh member needs.
    group.mode = members.every((member) => member.syncMode === 'incremental')
      ? 'incremental'
      : 'full_refresh';
    for (const member of members) {
      for (const pass of root.passes) {
        member.since.set(pass.key, this.memberSince(root, member, pass.key));
      }
    }
  }

  /** The earliest parent update_time this member needs from one pass. */
  private memberSince(root: RootStream, member: Member, passKey: string): string | undefined {
    if (member.syncMode !== 'incremental') return undefined;
    const floor = this.config.start_date;
    const saved = member.startState[passKey];
    if (typeof saved !== 'string') return floor;
    // Fan-out children look back at least past the listing safety margin: versions a listing
    // could not prove complete are listed (and read) again.
    const lookback =
      member.stream instanceof FanOutStream
        ? Math.max(root.lookbackMs, LISTING_SAFETY_MARGIN_MS + 1000)
        : root.lookbackMs;
    const since = apiTime(saved, lookback);
    return floor && since && floor > since ? floor : since;
  }

  private async readPasses(group: Group): Promise<void> {
    const { root } = group;
    // A declaration's own reader (field definitions, goals, mail) may shape rows at once.
    if (root.declaration.read) await root.ready;
    const read = root.declaration.read ?? readPass;
    const outcomes = await Promise.allSettled(
      root.passes.map((pass) => {
        const progress = new ProgressSequence();
        group.progress.set(pass.key, progress);
        const since = group.mode === 'incremental' ? this.passSince(group, pass.key) : undefined;
        return read(root, pass, {
          mode: group.mode,
          since,
          progress,
          nowMs: this.nowMs,
          stopped: () => group.stopped || this.fatal !== undefined,
          onPage: (page) => this.handlePage(group, pass, page),
        });
      }),
    );
    // Whatever happened to the passes, their pages' fan-out ends before the group does. The
    // pages still fanning out then write no checkpoint: the group's final state follows them
    // (a pass that learns its position at its end writes one STATE, after its last page).
    group.passesEnded = true;
    const drained = await this.drainPages(group).then(
      () => undefined,
      (error: unknown) => ({ error }),
    );
    const failure = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failure) throw (failure as PromiseRejectedResult).reason;
    if (drained) throw drained.error;
    if (this.fatal && !group.unavailable) throw this.fatal;
  }

  /** The pass starts at the earliest row any member needs (undefined: from the beginning). */
  private passSince(group: Group, passKey: string): string | undefined {
    let earliest: string | undefined;
    for (const member of group.members) {
      const since = member.since.get(passKey);
      if (since === undefined) return undefined;
      if (!earliest || since < earliest) earliest = since;
    }
    return earliest;
  }

  /**
   * Writes a page's rows and starts the fan-out of its slices. Returns once the page is done,
   * or earlier: once its own rows are written, when few pages of the group are still fanning
   * out. A lane then lists its next page while this one's children are read: a list is a chain
   * (one page after the other), its fan-out a crowd (five batches a page), and a chain that
   * waited for its crowd at every page would move at half the pace of the network.
   */
  private async handlePage(group: Group, pass: PassSpec, page: PassPage): Promise<void> {
    if (group.pageFailure !== undefined) throw group.pageFailure;
    const { rows } = page;
    const running: Promise<void>[] = [];
    let index = 0;
    while (index < rows.length) {
      if (group.stopped || this.fatal) break;
      const size = this.sliceSize(group);
      const slice =
        size >= rows.length - index ? rows.slice(index) : rows.slice(index, index + size);
      index += slice.length;
      // Reserve the slice's place in the pass order before its (concurrent) work.
      const leaf = page.node.leaf();
      await this.emitOwn(group, pass, slice);
      const work = this.fanOutSlice(group, pass, slice, page).then(async () => {
        leaf.finish(page.positioned ? maxOf(slice, UPDATE_TIME) : undefined);
        await this.checkpointGroup(group, pass);
      });
      // The slices of a page fan out at once, unless the daily budget is short: then one at a
      // time, so that the first ones finish (and move the state) before the budget ends.
      if (this.budgetIsShort(group, rows.length)) await work;
      else running.push(work);
    }
    page.written?.();
    const finished = Promise.all(running).then(async () => {
      if (group.stopped || this.fatal) return;
      page.node.close();
      await this.checkpointGroup(group, pass);
    });
    if (running.length === 0 || group.pagesAhead.size >= MAX_PAGES_AHEAD) return finished;
    const ahead = finished.catch((error: unknown) => {
      group.pageFailure ??= error;
    });
    group.pagesAhead.add(ahead);
    void ahead.finally(() => group.pagesAhead.delete(ahead));
  }

  /** The pages that went ahead are done; the first failure among them is thrown. */
  private async drainPages(group: Group): Promise<void> {
    while (group.pagesAhead.size > 0) await Promise.all([...group.pagesAhead]);
    if (group.pageFailure !== undefined) throw group.pageFailure;
  }

  /** Whether what Pipedrive reports left today would not cover a few pages of fan-out. */
  private budgetIsShort(group: Group, parents: number): boolean {
    const spendable = this.client.spendableTokens;
    if (spendable === undefined) return false;
    return spendable < this.tokensPerParent(group) * parents * 4;
  }

  private tokensPerParent(group: Group): number {
    return group.members
      .filter((member) => member.stream instanceof FanOutStream && !member.failure)
      .reduce((sum, member) => sum + (member.stream as FanOutStream).tokensPerParent, 0);
  }

  /**
   * Parents per checkpoint. A page is one checkpoint unless its rows fan out into costly
   * per-parent calls: then at most 100 (one deal-products call), and fewer when Pipedrive
   * reports little budget left, down to one parent, so that a starved sync still saves progress.
   */
  private sliceSize(group: Group): number {
    const perParent = this.tokensPerParent(group);
    if (perParent === 0) return Infinity;
    const spendable = this.client.spendableTokens;
    if (spendable === undefined) return MAX_PARENTS_PER_SLICE;
    // Leave room for a few checkpoints in what is left.
    const size = Math.floor(spendable / (perParent * 4));
    return Math.max(1, Math.min(MAX_PARENTS_PER_SLICE, size));
  }

  /** The slice's rows of the root and of the children derived from them, in member order. */
  private async emitOwn(group: Group, pass: PassSpec, slice: Row[]): Promise<void> {
    for (const member of group.members) {
      if (member.failure || member.unavailable) continue;
      const stream = member.stream;
      if (stream === group.root) {
        await this.emit(member, rowsSince(slice, member.since.get(pass.key)));
      } else if (stream instanceof ArrayChildStream) {
        await this.emit(member, stream.deriveRows(rowsSince(slice, member.since.get(pass.key))));
      }
    }
  }

  /** The slice's fan-out children, every member at once. */
  private async fanOutSlice(
    group: Group,
    pass: PassSpec,
    slice: Row[],
    page: PassPage,
  ): Promise<void> {
    const fanOuts: Promise<void>[] = [];
    for (const member of group.members) {
      if (member.failure || member.unavailable) continue;
      const stream = member.stream;
      if (stream instanceof FanOutStream) {
        const rows = rowsSince(slice, member.since.get(pass.key));
        fanOuts.push(this.fanOut(group, member, stream, pass, rows, page));
      }
    }
    await Promise.all(fanOuts);
  }

  private async fanOut(
    group: Group,
    member: Member,
    stream: FanOutStream,
    pass: PassSpec,
    parents: Row[],
    page: PassPage,
  ): Promise<void> {
    const memory = member.memory?.get(pass.key);
    const targets = memory
      ? changedParents(parents, {
          mode: member.syncMode,
          since: member.since.get(pass.key),
          memory,
        })
      : parents;
    if (targets.length === 0) return;
    this.countExtraCalls(member, pass, targets);
    try {
      const rows = await stream.fetch(targets, {
        startState: member.startState,
        mode: member.syncMode,
        passKey: pass.key,
        stopped: () => this.memberStopped(group, member),
      });
      // A slice cut short (this member failed in another slice, or the sync stopped) is not
      // emitted nor remembered: its parents are read again by the next run.
      if (this.memberStopped(group, member)) return;
      await this.emit(member, rows);
    } catch (error) {
      // Another slice of this member failed first, or found the endpoint unavailable: that is
      // the one reported (once per stream, however many slices were under way).
      if (member.failure !== undefined || member.unavailable) return;
      // A child's own endpoint failing (permission, outage) stops that child only; the parent
      // and its other children read on.
      if (this.isUnavailable(stream, error)) {
        member.unavailable = true;
        this.client.cancelScope(stream.name);
        stream.log(
          'WARN',
          `${stream.declaration.optional!.missing} (${errorMessage(error)}) not available to this account or token: ${stream.name} completes empty.`,
        );
      } else {
        if (isSyncFatal(error)) throw error;
        member.failure = error;
        this.client.cancelScope(stream.name);
        await this.reportFailure(error, [member]);
        this.logMemberEnd(group, member);
      }
      return;
    }
    if (memory) {
      for (const parent of targets) {
        const version = parent[UPDATE_TIME];
        if (typeof version === 'string' && listingProves(version, page.listedAfterMs)) {
          memory.remember(parent.id, version);
        }
      }
    }
  }

  private memberStopped(group: Group, member: Member): boolean {
    return (
      member.failure !== undefined ||
      member.unavailable === true ||
      group.stopped ||
      this.fatal !== undefined
    );
  }

  /** Counts the fan-out calls the look-back and deletion rules add (for the summary). */
  private countExtraCalls(member: Member, pass: PassSpec, targets: Row[]): void {
    const saved = member.startState[pass.key];
    if (member.syncMode !== 'incremental' || typeof saved !== 'string') return;
    const margin = apiTime(saved, LISTING_SAFETY_MARGIN_MS + 1000) ?? saved;
    for (const parent of targets) {
      const version = parent[UPDATE_TIME];
      if (parent.is_deleted === true) member.extraCalls.deleted++;
      else if (typeof version !== 'string' || version > saved) continue;
      else if (version < margin) member.extraCalls.late++;
      else member.extraCalls.sameSecond++;
    }
  }

  private async emit(member: Member, rows: Row[]): Promise<void> {
    const name = member.stream.name;
    for (const row of rows) await this.writer.record(name, row);
    member.records += rows.length;
    const known = member.known;
    if (known) {
      for (const row of rows) {
        if (row.is_deleted === true) known.delete(row.id);
        else known.add(row.id);
      }
    }
  }

  // ---- delete detection -------------------------------------------------------------------

  /**
   * When a check is due (delete_detection), one id-only pass per endpoint in id order: ids the
   * destination holds that Pipedrive no longer lists get tombstones, and so do the children of
   * such a record while Pipedrive still keeps it (30 days). The first sync needs no check (it
   * just listed everything); a state without known ids (an upgrade) gets its baseline. Only a
   * complete check changes anything: one stopped by the budget, a kill or an error tombstones
   * nothing, and the next sync runs it again.
   */
  private async checkDeletes(group: Group, member: Member): Promise<void> {
    const root = group.root;
    if (!root.detectsDeletes || member.syncMode !== 'incremental' || member.failure) return;
    const checkedAt = toApiTime(this.syncStartedAt);
    const firstSync = !root.positionKeys.some((key) => typeof member.startState[key] === 'string');
    if (firstSync) {
      member.known ??= new IdSet();
      member.state = { ...member.state, [DELETES_CHECKED_AT]: checkedAt };
      return;
    }
    const due =
      member.known === undefined ||
      checkDue(this.config.delete_detection, member.startState[DELETES_CHECKED_AT], Date.now());
    if (!due || this.config.delete_detection === 'off') return;
    if (member.known && this.postponeDeleteCheck(root, member.known, member.startState)) return;
    const before = this.client.stats.forScope(root.name);
    const alive = new IdSet();
    for (const pass of root.passes) {
      const query = root.declaration.deletes?.idQuery?.(pass) ?? pass.query;
      for await (const ids of readIds(root, pass, query)) {
        if (group.stopped || this.fatal) return;
        for (const id of ids) alive.add(id);
      }
    }
    const known = member.known;
    if (!known) {
      member.known = alive;
      member.state = { ...member.state, [DELETES_CHECKED_AT]: checkedAt };
      root.log(
        'INFO',
        `No known ids in the state yet (state of an earlier version): ${alive.size} ids are the baseline, deletes from now on become tombstones. For records deleted before, run a full refresh once.`,
      );
      return;
    }
    const gone = [...known.without(alive)];
    const tombstones = await this.tombstones(group, gone, checkedAt);
    if (group.stopped || this.fatal) return;
    for (const [stream, rows] of tombstones) {
      const target = group.members.find((m) => m.stream === stream);
      if (target && !target.failure) await this.emit(target, rows);
    }
    member.known = alive;
    member.state = { ...member.state, [DELETES_CHECKED_AT]: checkedAt };
    const after = this.client.stats.forScope(root.name);
    root.log(
      'INFO',
      `Delete check: ${alive.size} ids listed, ${gone.length} no longer there (tombstones emitted); ${after.requests - before.requests} requests, ${after.tokens - before.tokens} API tokens.`,
    );
  }

  /**
   * A check that today's budget cannot pay for is not started: stopped by the budget half-way
   * it would tombstone nothing, and the next sync would pay for it again from the first page,
   * day after day, each sync failing on the budget although its data was read. Postponed, the
   * sync ends complete and says so; the check runs in the first sync with the budget for it.
   */
  private postponeDeleteCheck(root: RootStream, known: IdSet, startState: Row): boolean {
    const spendable = this.client.spendableTokens;
    if (spendable === undefined) return false;
    const cost = idListingCost(root.passes, known.size);
    if (spendable >= cost) return false;
    const since =
      typeof startState[DELETES_CHECKED_AT] === 'string'
        ? `since ${String(startState[DELETES_CHECKED_AT])}`
        : 'since the first sync';
    const reserve = this.config.daily_token_reserve
      ? `, less daily_token_reserve=${this.config.daily_token_reserve}`
      : '';
    root.log(
      'WARN',
      `Delete check postponed: listing the ${known.size} ids of ${root.name} takes about ${cost} API tokens, and ${Math.max(0, spendable)} are left of today's budget (x-daily-ratelimit-token-remaining${reserve}, less requests under way). Records deleted in Pipedrive ${since} get their tombstones in the first sync with that much budget left; to make room, sync when other integrations have spent less, lower daily_token_reserve, or set delete_detection to a longer interval.`,
    );
    return true;
  }

  /**
   * The tombstones of records gone from the lists: the root's rows and its selected children's.
   * A record Pipedrive still keeps as deleted tells its deletion time and its children; one it
   * answers 404/403/410 for (purged, merged away, hidden from the token's user) gets a root
   * tombstone only. A record it still has undeleted (the list hid it for another reason) gets
   * none.
   */
  private async tombstones(
    group: Group,
    ids: Array<number | string>,
    checkedAt: string,
  ): Promise<Map<PipedriveStream, Row[]>> {
    const root = group.root;
    const out = new Map<PipedriveStream, Row[]>();
    const add = (stream: PipedriveStream, rows: Row[]): void => {
      out.set(stream, [...(out.get(stream) ?? []), ...rows]);
    };
    const item = root.declaration.deletes?.item;
    const children = group.members.filter((m) => m.stream !== root && !m.failure);
    const fetchRecords = item !== undefined && children.length > 0;
    const records = await mapOrdered(ids, Math.max(1, this.client.gate.target), async (id) => {
      if (!fetchRecords || group.stopped || this.fatal) return { id, record: undefined };
      try {
        const body = await this.client.get('v2', item!(id), {}, root.name);
        const record = body.data;
        return { id, record: record && typeof record === 'object' ? (record as Row) : undefined };
      } catch (error) {
        if (error instanceof ConnectorError && [403, 404, 410].includes(error.status ?? 0)) {
          return { id, record: undefined };
        }
        throw error;
      }
    });
    const deletedRecords: Row[] = [];
    for (const { id, record } of records) {
      if (record && record.is_deleted !== true) continue;
      if (record) {
        const [row] = root.shapeRows([record], root.passes[0]);
        if (row) {
          row.is_deleted = true;
          deletedRecords.push(row);
          add(root, [row]);
          continue;
        }
      }
      add(root, [tombstoneRow(id, checkedAt)]);
    }
    for (const member of children) {
      const stream = member.stream;
      if (stream instanceof ArrayChildStream) {
        add(stream, stream.deriveRows(deletedRecords));
      } else if (stream instanceof FanOutStream && deletedRecords.length > 0) {
        add(
          stream,
          await stream.fetch(deletedRecords, {
            startState: member.startState,
            mode: 'full_refresh',
            passKey: root.passes[0].key,
            stopped: () => group.stopped || this.fatal !== undefined,
          }),
        );
      }
    }
    return out;
  }

  /** Emits a STATE for every incremental member whose finished work grew. */
  private async checkpointGroup(group: Group, pass: PassSpec): Promise<void> {
    if (group.passesEnded) return;
    for (const member of this.advance(group, pass)) {
      // A large state (known ids of a big account) is written at most every 30 s: its positions
      // and its ids always describe the same moment, and a resume re-reads at most 30 s of work.
      const large = (member.knownEncoded?.text.length ?? 0) > LARGE_STATE_CHARS;
      if (large && Date.now() - member.lastStateAt < LARGE_STATE_INTERVAL_MS) continue;
      await this.writer.state(member.stream.name, this.checkpoint(member, false));
      member.lastStateAt = Date.now();
      member.checkpoints++;
    }
  }

  /** Moves incremental members to the pass's finished position; returns those that moved. */
  private advance(group: Group, pass: PassSpec): Member[] {
    const position = group.progress.get(pass.key)?.position;
    if (!position) return [];
    const moved: Member[] = [];
    for (const member of group.members) {
      if (member.failure || member.syncMode !== 'incremental') continue;
      const current = member.state[pass.key];
      if (typeof current === 'string' && current >= position) continue;
      member.state = { ...member.state, [pass.key]: position };
      moved.push(member);
    }
    return moved;
  }

  /** The last checkpoint of every incremental stream still running (for a SIGTERM). */
  private runningCheckpoints(): Array<[string, StreamState]> {
    return this.groups.flatMap((group) =>
      group.members
        .filter((m) => m.syncMode === 'incremental' && !m.done && !m.failure && group.startedAt > 0)
        .map((m): [string, StreamState] => [m.stream.name, this.checkpoint(m, false)]),
    );
  }

  /** The state to emit for a member: its positions and memory (incremental) or nothing. */
  private checkpoint(member: Member, finished: boolean): StreamState {
    if (member.syncMode !== 'incremental') return {};
    const state: StreamState = {};
    for (const key of member.stream.positionKeys) {
      if (typeof member.state[key] === 'string') state[key] = member.state[key];
    }
    if (member.known) {
      if (member.knownEncoded?.version !== member.known.version) {
        member.knownEncoded = { version: member.known.version, text: member.known.encode() };
      }
      state[KNOWN_IDS] = member.knownEncoded.text;
    }
    if (typeof member.state[DELETES_CHECKED_AT] === 'string') {
      state[DELETES_CHECKED_AT] = member.state[DELETES_CHECKED_AT];
    }
    if (member.memory) {
      // Versions before the next run's look-back are never listed again.
      const root = this.groups.find((group) => group.members.includes(member))?.root;
      const lookback = Math.max(root?.lookbackMs ?? 0, LISTING_SAFETY_MARGIN_MS + 1000);
      const encoded: Record<string, string> = {};
      for (const [key, memory] of member.memory) {
        const position = member.state[key];
        if (typeof position === 'string') memory.prune(apiTime(position, lookback));
        if (memory.size > 0) encoded[key] = memory.encode();
      }
      if (Object.keys(encoded).length > 0) state[FANNED_OUT] = encoded;
    }
    return member.stream.checkpointState(state, member.startState, finished);
  }

  private isUnavailable(stream: PipedriveStream, error: unknown): boolean {
    const optional = stream.declaration.optional;
    return (
      optional !== undefined &&
      error instanceof ConnectorError &&
      error.status !== undefined &&
      optional.statuses.includes(error.status)
    );
  }

  /** The group stopped: its unfinished members keep what they saved; fatal errors stop all. */
  private async groupFailed(group: Group, error: unknown): Promise<void> {
    this.failed = true;
    for (const member of group.members) this.client.cancelScope(member.stream.name);
    if (isSyncFatal(error)) this.fatal ??= error as ConnectorError;
    const unfinished = group.members.filter((member) => !member.failure && !member.done);
    await this.reportFailure(error, unfinished);
    for (const member of unfinished) this.logMemberEnd(group, member, error);
  }

  /** A group that never started because the sync stopped first. */
  private async abandon(group: Group): Promise<void> {
    for (const member of group.members) {
      // Never started: the saved state goes back unchanged.
      await this.writer.state(member.stream.name, this.checkpoint(member, false));
      await this.writer.streamStatus(member.stream.name, 'INCOMPLETE', quotaReset(this.fatal));
    }
  }

  private async reportFailure(error: unknown, members: Member[]): Promise<void> {
    this.failed = true;
    const failureType: FailureType =
      error instanceof ConnectorError ? error.failureType : 'system_error';
    const isBug = !(error instanceof ConnectorError);
    for (const member of members) {
      member.failure ??= error;
      const name = member.stream.name;
      // The latest state keeps what was read; the next sync resumes from it.
      await this.writer.state(name, this.checkpoint(member, false));
      member.checkpoints++;
      if (!isSyncFatal(error)) {
        await this.writer.error(
          isBug
            ? `Stream ${name} failed because of a connector bug: ${errorMessage(error)}`
            : `Stream ${name}: ${errorMessage(error)}`,
          failureType,
          { stream: name, stackTrace: isBug && error instanceof Error ? error.stack : undefined },
        );
      }
      await this.writer.streamStatus(name, 'INCOMPLETE', quotaReset(error));
    }
  }

  // ---- logs -------------------------------------------------------------------------------

  private logMemberEnd(group: Group, member: Member, error: unknown = member.failure): void {
    const stream = member.stream;
    const seconds = ((Date.now() - group.startedAt) / 1000).toFixed(1);
    const stats = this.client.stats.forScope(stream.name);
    const cost = `${stats.requests} requests, ${stats.tokens} API tokens`;
    const extra = member.extraCalls;
    const extras = [
      extra.deleted > 0 ? `${extra.deleted} for deleted parents` : '',
      extra.late > 0 ? `${extra.late} for parents that appeared late inside the look-back` : '',
      extra.sameSecond > 0
        ? `${extra.sameSecond} for parents whose last listing could not prove their second complete`
        : '',
    ].filter(Boolean);
    const fanOutNote =
      extras.length > 0 && stream instanceof FanOutStream
        ? ` Beyond changed parents: ${extras.join(', ')} (about ${Math.round((extra.deleted + extra.late + extra.sameSecond) * stream.tokensPerParent)} API tokens).`
        : '';
    if (stream.rowsWithoutKey > 0) {
      stream.log(
        'WARN',
        `${stream.rowsWithoutKey} row(s) without their primary key (${String(stream.primaryKey)}) were left out.`,
      );
    }
    if (error === undefined) {
      this.writer.log(
        'INFO',
        `Finished ${stream.name} in ${seconds} s: ${member.records} records, ${member.checkpoints} checkpoints; ${cost}.${fanOutNote}`,
      );
    } else {
      this.writer.log(
        'WARN',
        `Stream ${stream.name} failed after ${seconds} s (${errorMessage(error)}); before that it read ${member.records} records and saved ${member.checkpoints} checkpoints, which the next sync resumes from; ${cost}.${fanOutNote}`,
      );
    }
  }

  private logProgress(): void {
    const active = this.groups.flatMap((group) =>
      group.members.filter((member) => !member.done && !member.failure && group.startedAt > 0),
    );
    if (active.length === 0) return;
    const streams = active
      .map((member) => {
        const stats = this.client.stats.forScope(member.stream.name);
        return `${member.stream.name} ${member.records} records/${member.checkpoints} checkpoints/${stats.requests} requests/${stats.tokens} tokens`;
      })
      .join('; ');
    const budget = this.client.dailyBudget;
    const left = budget
      ? ` Daily budget left: ${budget.remaining}${budget.limit ? ` of ${budget.limit}` : ''} tokens.`
      : '';
    const seconds = ((Date.now() - this.startedAt) / 1000).toFixed(0);
    this.writer.log(
      'INFO',
      `Progress after ${seconds} s: ${streams}. In all ${this.client.stats.requests} requests, ${this.client.stats.tokens} API tokens, ${this.client.gate.inFlight} in flight.${left}`,
    );
  }

  private logSyncStats(): void {
    const stats = this.client.stats;
    const endpoints = [...stats.byEndpoint.entries()]
      .sort((a, b) => b[1].tokens - a[1].tokens)
      .map(([endpoint, s]) => `${endpoint}: ${s.requests} req/${s.tokens} tokens`)
      .join('; ');
    const budget = this.client.dailyBudget;
    const left = budget ? ` Daily budget left: ${budget.remaining} tokens.` : '';
    this.writer.log(
      'INFO',
      `Sync used ${stats.requests} requests and ${stats.tokens} API tokens in ${((Date.now() - this.startedAt) / 1000).toFixed(1)} s (${stats.retries} retries, ${stats.responses429} rate-limited, at most ${stats.maxInFlight} in flight).${left} By endpoint: ${endpoints || 'none'}.`,
    );
  }
}

/** The known ids of a state, or undefined when it has none (or they are unreadable). */
function knownIdsOf(state: StreamState): IdSet | undefined {
  if (state[KNOWN_IDS] !== undefined) return IdSet.decode(state[KNOWN_IDS]);
  // No state at all: the first sync, whose rows are the baseline.
  return Object.keys(state).length === 0 ? new IdSet() : undefined;
}

/** A deleted record's tombstone when Pipedrive no longer has it: its key and deletion time. */
function tombstoneRow(id: number | string, deletedAt: string): Row {
  return { id, is_deleted: true, update_time: deletedAt, [DELETED_AT]: deletedAt };
}

/** The fan-out memory of a state (`{<pass key>: <encoded>}`); unreadable parts are empty. */
function decodeMemory(passKeys: string[], encoded: unknown): Map<string, FanOutMemory> {
  const byPass = encoded && typeof encoded === 'object' ? (encoded as Record<string, unknown>) : {};
  return new Map(passKeys.map((key) => [key, FanOutMemory.decode(byPass[key])]));
}

/** Rows whose update_time is at or after `since` (rows without one are kept). */
function rowsSince(rows: Row[], since: string | undefined): Row[] {
  if (!since) return rows;
  let index = 0;
  while (index < rows.length) {
    const time = rows[index][UPDATE_TIME];
    if (typeof time === 'string' && time < since) break;
    index++;
  }
  if (index === rows.length) return rows;
  return rows.filter((row) => {
    const time = row[UPDATE_TIME];
    return typeof time !== 'string' || time >= since;
  });
}

function quotaReset(error: unknown): Date | undefined {
  return error instanceof DailyBudgetExhaustedError ? error.resetsAt : undefined;
}
