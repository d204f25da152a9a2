/**
 * Children read with their own calls per parent (deal products, deal flow, followers, …): the
 * expensive ones (10–40 API tokens per parent), so they are read only for parents that changed.
 *
 * Which parents changed: a fan-out child's state keeps its parent's positions (one per pass)
 * and a small memory of the parents it has read, by id and version (update_time), for the
 * versions still inside the look-back window. Each run re-lists the parent from the saved
 * position minus the look-back, and reads the children of every listed parent whose current
 * version it has not read yet — a parent that appears late inside the window (the case the
 * window exists for) is read, one re-listed at a version already read costs nothing.
 *
 * A version is remembered only when Pipedrive provably listed the parent after that version's
 * second had ended (the listing's lower bound on Pipedrive's clock, plus a margin for
 * replication): otherwise a second change within the same second (same update_time) could hide
 * behind the memory. Unproven versions are simply read again by the next run.
 */
import { chunk, mapOrdered } from '../concurrency';
import { ResourceGoneError } from '../errors';
import type { Page, PipedriveClient } from '../pipedrive/client';
import { tokenCost } from '../pipedrive/costs';
import {
  type ChildDeclaration,
  ChildStream,
  DELETED_AT,
  positionMs,
  type Row,
  type StreamServices,
  type SyncModeName,
  UPDATE_TIME,
} from './base';

/** The fan-out memory's state key. */
export const FANNED_OUT = 'fanned_out';
/** Pipedrive's replicas may lag: a listing proves a second complete only this long after it. */
export const LISTING_SAFETY_MARGIN_MS = 10_000;

/** Parent ids and the version (update_time) whose children were read. */
export class FanOutMemory {
  private readonly versions = new Map<string, string>();

  /** Reads the state form; anything unreadable is an empty memory (children are re-read). */
  static decode(encoded: unknown): FanOutMemory {
    const memory = new FanOutMemory();
    if (typeof encoded !== 'string' || encoded === '') return memory;
    for (const group of encoded.split(',')) {
      const [stamp, ids] = group.split(':');
      const seconds = parseInt(stamp, 36);
      if (!Number.isFinite(seconds) || ids === undefined) continue;
      const version = new Date(seconds * 1000).toISOString().slice(0, 19) + 'Z';
      for (const id of ids.split('.'))
        if (id !== '') memory.versions.set(decodeURIComponent(id), version);
    }
    return memory;
  }

  /** `<epoch seconds, base 36>:<id>.<id>,…` grouped by version: a few bytes per parent. */
  encode(): string {
    const byVersion = new Map<string, string[]>();
    for (const [id, version] of this.versions) {
      let ids = byVersion.get(version);
      if (!ids) byVersion.set(version, (ids = []));
      ids.push(encodeURIComponent(id).replace(/\./g, '%2E'));
    }
    return [...byVersion.entries()]
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(
        ([version, ids]) =>
          `${Math.floor(positionMs(version) / 1000).toString(36)}:${ids.join('.')}`,
      )
      .join(',');
  }

  has(id: unknown, version: string): boolean {
    return this.versions.get(String(id)) === version;
  }

  remember(id: unknown, version: string): void {
    this.versions.set(String(id), version);
  }

  /** Forgets versions before `position`: the next run does not list them again. */
  prune(position: string | undefined): void {
    if (!position) return;
    for (const [id, version] of this.versions) if (version < position) this.versions.delete(id);
  }

  get size(): number {
    return this.versions.size;
  }
}

/** What a fan-out member knows when it picks the parents of one slice. */
export interface FanOutSelection {
  mode: SyncModeName;
  /** The earliest parent version this member needs (incremental); parents below are skipped. */
  since?: string;
  memory: FanOutMemory;
}

/** The parents of a slice whose children this member must read. */
export function changedParents(parents: Row[], selection: FanOutSelection): Row[] {
  if (selection.mode !== 'incremental') return parents;
  const { since, memory } = selection;
  return parents.filter((parent) => {
    const version = parent[UPDATE_TIME];
    if (typeof version !== 'string') return true;
    if (since && version < since) return false;
    return !memory.has(parent.id, version);
  });
}

/** Whether a listing proves that nothing more can change within a version's second. */
export function listingProves(version: string, listedAfterMs: number | undefined): boolean {
  if (listedAfterMs === undefined) return false;
  return listedAfterMs >= positionMs(version) + 1000 + LISTING_SAFETY_MARGIN_MS;
}

export interface FanOutContext {
  /** The run's start state of this member (flow reads events back to its position). */
  startState: Record<string, unknown>;
  mode: SyncModeName;
  /** The pass the parents come from (its state key). */
  passKey: string;
  /** This member (or the sync) has stopped: start no more calls. */
  stopped: () => boolean;
}

/** A child read with its own calls for the parents that changed. */
export abstract class FanOutStream extends ChildStream {
  /** The client, for this member's calls: a crowd, which leaves lists their places (gate.ts). */
  protected get crowdClient(): PipedriveClient {
    const { client } = this.services;
    client.gate.markCrowd(this.name);
    return client;
  }

  override get extraStateKeys(): string[] {
    return [FANNED_OUT];
  }

  /** Rows of these parents' children (unfinished rows are finished by `finishChild`). */
  abstract fetch(parents: Row[], context: FanOutContext): Promise<Row[]>;

  /** About what reading one parent's children costs, for budget-sized checkpoints. */
  abstract get tokensPerParent(): number;

  /** Coerces a child row; children of a deleted parent carry its deletion (tombstones). */
  protected finishChild(raw: Row, parent: Row): Row {
    const row = this.finish(raw);
    if (parent.is_deleted === true) row[DELETED_AT] = parent[DELETED_AT] ?? row[DELETED_AT];
    return row;
  }
}

export interface BatchDeclaration extends ChildDeclaration {
  /** v2 endpoint taking up to `size` parent ids in `param` (deal_ids). */
  path: string;
  param: string;
  size: number;
  /** Adds the columns a row needs from its parent (deal_update_time, seed aliases). */
  shape: (raw: Row, parent: Row | undefined) => Row;
  /** The parent id a child row belongs to. */
  parentIdOf: (raw: Row) => unknown;
}

/** Children from one v2 call per `size` parents (deal products, deal installments). */
export class BatchFanOutStream extends FanOutStream {
  constructor(
    services: StreamServices,
    override readonly declaration: BatchDeclaration,
  ) {
    super(services, declaration);
  }

  get tokensPerParent(): number {
    return tokenCost('v2', this.declaration.path) / this.declaration.size;
  }

  async fetch(parents: Row[]): Promise<Row[]> {
    const { path, param, size, shape, parentIdOf } = this.declaration;
    const byId = new Map(parents.map((parent) => [String(parent.id), parent]));
    const batches = chunk(parents, size);
    const client = this.crowdClient;
    const results = await mapOrdered(batches, batches.length, async (batch) => {
      const rows: Row[] = [];
      for await (const page of client.paginateV2(
        path,
        {
          [param]: batch.map((parent) => parent.id).join(','),
          sort_by: 'id',
          sort_direction: 'asc',
        },
        this.name,
      )) {
        for (const raw of page.records) {
          const parent = byId.get(String(parentIdOf(raw)));
          const row = shape({ ...raw }, parent);
          rows.push(parent ? this.finishChild(row, parent) : this.finish(row));
        }
      }
      return rows;
    });
    return this.keepKeyed(results.flat());
  }
}

export interface PerParentDeclaration extends ChildDeclaration {
  /** The API tokens one parent's calls cost (about). */
  tokensPerParent?: number;
  /** The rows of one parent: its own calls through the client (paging included). */
  read: (parent: Row, stream: PerParentFanOutStream, context: FanOutContext) => Promise<Row[]>;
}

/** Children from one call (or paged calls) per parent (deal participants, followers, …). */
export class PerParentFanOutStream extends FanOutStream {
  constructor(
    services: StreamServices,
    override readonly declaration: PerParentDeclaration,
  ) {
    super(services, declaration);
  }

  get client(): PipedriveClient {
    return this.crowdClient;
  }

  get tokensPerParent(): number {
    return this.declaration.tokensPerParent ?? 20;
  }

  async fetch(parents: Row[], context: FanOutContext): Promise<Row[]> {
    // As many workers as the gate lets requests fly: it stays full, and after a failure only
    // the calls already in flight follow it.
    const workers = Math.max(1, this.client.gate.target);
    const perParent = await mapOrdered(parents, workers, async (parent) => {
      if (context.stopped()) return [];
      try {
        const rows = await this.declaration.read(parent, this, context);
        return rows.map((raw) => this.finishChild(raw, parent));
      } catch (error) {
        if (!(error instanceof ResourceGoneError)) throw error;
        this.log(
          'WARN',
          `${parentLabel(this.parentName)} ${String(parent.id)} is gone (${error.status}): its ${this.name} rows are skipped.`,
        );
        return [];
      }
    });
    return this.keepKeyed(perParent.flat());
  }
}

/** Every record of a paged list: a parent's children are few, so they are held at once. */
export async function collectRecords(pages: AsyncIterable<Page>): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const page of pages) rows.push(...page.records);
  return rows;
}

/** `deals` → `Deal`, `mail_threads` → `Mail thread`: a parent in a sentence. */
function parentLabel(stream: string): string {
  const singular = stream.replace(/ies$/, 'y').replace(/s$/, '').replace(/_/g, ' ');
  return singular.charAt(0).toUpperCase() + singular.slice(1);
}
