import fs from 'node:fs';
import path from 'node:path';

import { AirbyteLogger, AirbyteStreamBase, SyncMode } from 'faros-airbyte-cdk';

import type { PipedriveConfig } from '../config';
import { parseRfc3339 } from '../config';
import { type CustomFieldPlan, planCustomFields } from '../custom-fields';
import { compileSchemaCoercer, toApiTime } from '../normalize';
import type { PipedriveClient, Query } from '../pipedrive/client';
import type { LogLevel } from '../protocol/output';

export type JsonSchema = Record<string, any>;
export type StreamState = Record<string, unknown>;
export type Row = Record<string, any>;
export type CustomFieldEntity = 'deal' | 'person' | 'organization' | 'product' | 'activity';

const SCHEMA_DIR = path.resolve(__dirname, '..', '..', 'resources', 'schemas');

export const DELETED_AT = '_ab_cdc_deleted_at';

/** Everything a stream needs from the outside world. */
export interface StreamServices {
  client: PipedriveClient;
  config: PipedriveConfig;
  logger: AirbyteLogger;
  log: (level: LogLevel, message: string) => void;
  fields: FieldDefinitionCache;
  /** The moment the sync started (for windows such as "deleted in the last 30 days"). */
  syncStartedAt: Date;
}

/** Field definitions per entity, fetched once per run and shared by every stream. */
export class FieldDefinitionCache {
  private readonly cache = new Map<string, Promise<Row[]>>();

  constructor(private readonly client: PipedriveClient) {}

  definitions(entity: CustomFieldEntity, scope: string): Promise<Row[]> {
    let pending = this.cache.get(entity);
    if (!pending) {
      pending = (async () => {
        const rows: Row[] = [];
        for await (const page of this.client.paginateV1(`/${entity}Fields`, {}, scope)) {
          rows.push(...page.records);
        }
        return rows;
      })();
      this.cache.set(entity, pending);
      pending.catch(() => this.cache.delete(entity));
    }
    return pending;
  }
}

/** What a root stream yields: shaped records and the position after them. */
export interface StreamPage {
  records: Row[];
  /** The stream state after this page (incremental only). */
  position?: StreamState;
}

export interface ReadRequest {
  syncMode: 'full_refresh' | 'incremental';
  /** Where to resume (the saved state), already validated. */
  state?: StreamState;
}

export function loadStaticSchema(name: string): JsonSchema {
  return JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, `${name}.json`), 'utf8'));
}

/**
 * A shallow copy that stays fast to extend. V8 (Node 20) makes every property added to an
 * object built by spreading (`{ ...raw }`, `{ ...raw, extra }`) cost several microseconds, and
 * rows get dozens added (custom-field columns, _ab_cdc_deleted_at): ~200 µs per deal instead
 * of ~10. A copy made by Object.assign onto `{}` does not have that problem.
 */
export function ownedCopy(row: Row): Row {
  return Object.assign({}, row);
}

/**
 * An RFC 3339 position as `updated_since` accepts it (UTC, whole seconds), optionally moved
 * back by a look-back window.
 */
export function apiTime(position: string | undefined, minusMs = 0): string | undefined {
  if (!position) return undefined;
  const date = parseRfc3339(position);
  return date ? toApiTime(new Date(date.getTime() - minusMs)) : undefined;
}

export function laterOf(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return a >= b ? a : b;
}

/**
 * A Pipedrive table. Subclasses declare what (endpoint, keys, cursor, shaping);
 * this base and the runner do how (paging, schemas, coercion, deletes, state).
 */
export abstract class PipedriveStream extends AirbyteStreamBase {
  private preparedSchema?: JsonSchema;
  private coerce?: (row: Row) => Row;
  protected customFieldPlan?: CustomFieldPlan;

  constructor(protected readonly services: StreamServices) {
    super(services.logger);
  }

  abstract override get name(): string;
  abstract override get primaryKey(): string | string[];

  /** Cursor field for incremental streams; none for full-refresh-only streams. */
  override get cursorField(): string | string[] {
    return [];
  }

  /** The entity whose custom fields become columns of this stream. */
  get customFieldEntity(): CustomFieldEntity | undefined {
    return undefined;
  }

  /** Root streams return undefined; child streams name the stream they derive from. */
  get parentName(): string | undefined {
    return undefined;
  }

  get isIncremental(): boolean {
    const cursor = this.cursorField;
    return Array.isArray(cursor) ? cursor.length > 0 : Boolean(cursor);
  }

  /** Keys of this stream's state that hold RFC 3339 positions. */
  get stateKeys(): string[] {
    return this.isIncremental ? ['update_time'] : [];
  }

  /**
   * The state to checkpoint for an incremental read: `position` is how far the read got,
   * `startState` where this run began, `finished` whether the stream completed. Streams that
   * must remember something about an unfinished pass (deals_flow) add it here.
   */
  checkpointState(
    position: StreamState,
    _startState: StreamState,
    _finished: boolean,
  ): StreamState {
    return position;
  }

  override getJsonSchema(): JsonSchema {
    return this.preparedSchema ?? loadStaticSchema(this.name);
  }

  /** Loads custom fields (when the stream has them) and compiles the record coercer. */
  async prepare(): Promise<JsonSchema> {
    if (this.preparedSchema) return this.preparedSchema;
    const schema = loadStaticSchema(this.name);
    schema.properties[DELETED_AT] = { type: ['null', 'string'], format: 'date-time' };
    const entity = this.customFieldEntity;
    if (entity) {
      const definitions = await this.services.fields.definitions(entity, this.name);
      this.customFieldPlan = planCustomFields(
        definitions as any,
        Object.keys(schema.properties),
        this.services.config.custom_field_names,
      );
      Object.assign(schema.properties, this.customFieldPlan.properties);
    }
    this.preparedSchema = schema;
    this.coerce = compileSchemaCoercer(schema);
    return schema;
  }

  /** Turns one API object into this stream's row: stream shaping, custom fields, types, deletes. */
  protected finish(row: Row): Row {
    // A fresh copy: rows made by `{ ...raw, … }` get slow to extend (see ownedCopy).
    return this.finishOwned(ownedCopy(row));
  }

  /** `finish` for a row this stream made itself with `ownedCopy`: coerced in place. */
  protected finishOwned(row: Row): Row {
    const coerced = this.coerce ? this.coerce(row) : row;
    if (coerced.is_deleted === true) {
      coerced[DELETED_AT] = coerced.update_time ?? coerced[DELETED_AT] ?? null;
    } else {
      coerced[DELETED_AT] = null;
    }
    return coerced;
  }

  /** Root streams read pages of finished rows. */
  abstract readPages(request: ReadRequest): AsyncGenerator<StreamPage>;

  /** The CDK's contract, kept for compatibility: rows without paging or state. */
  async *readRecords(
    syncMode: SyncMode,
    _cursorField?: string[],
    _streamSlice?: Record<string, any>,
    streamState?: Record<string, any>,
  ): AsyncGenerator<Row> {
    await this.prepare();
    const mode = syncMode === SyncMode.INCREMENTAL ? 'incremental' : 'full_refresh';
    for await (const page of this.readPages({ syncMode: mode, state: streamState })) {
      yield* page.records;
    }
  }

  /** Start of an incremental read: saved cursor, else start_date, else all history. */
  protected startingPoint(state: StreamState | undefined, key = 'update_time'): string | undefined {
    const saved = state?.[key];
    if (typeof saved === 'string' && parseRfc3339(saved)) return saved;
    return this.services.config.start_date;
  }

  protected log(level: LogLevel, message: string): void {
    this.services.log(level, `[${this.name}] ${message}`);
  }
}

/** A stream whose rows are derived from another stream's rows (persons → persons_emails). */
export abstract class ChildStream extends PipedriveStream {
  abstract override get parentName(): string;

  /**
   * Rows of this stream for one page of parent rows. `startState` is this
   * stream's state when the run began (fan-out streams skip unchanged parents).
   */
  abstract deriveRows(parentRows: Row[], startState: StreamState): Promise<Row[]> | Row[];

  override get cursorField(): string | string[] {
    return [];
  }

  // eslint-disable-next-line require-yield
  async *readPages(): AsyncGenerator<StreamPage> {
    throw new Error(`${this.name} is read through its parent ${this.parentName}`);
  }

  protected finishAll(rows: Row[]): Row[] {
    return rows.map((row) => this.finish(row));
  }
}

/** Options of the generic list streams. */
export interface ListOptions {
  /** Extra query parameters on every call. */
  query?: Query;
}

/** The state key that records when the rows at position `stateKey` were listed. */
export function listedAtKey(stateKey: string): string {
  return `${stateKey}_listed_at`;
}

/** Max of a field over rows (RFC 3339 strings compare lexically). */
export function maxOf(rows: Row[], field: string, start?: string): string | undefined {
  let max = start;
  for (const row of rows) {
    const value = row[field];
    if (typeof value === 'string' && (!max || value > max)) max = value;
  }
  return max;
}

/**
 * A v2 list endpoint (cursor paging). Incremental streams read
 * `updated_since=<cursor>` sorted by update_time ascending, so a checkpoint
 * after each page never skips a record.
 */
export abstract class V2ListStream extends PipedriveStream {
  abstract get path(): string;

  /**
   * Renames and seed aliases, before coercion. `row` is this stream's own copy of the API
   * object (see ownedCopy): add to it and return it rather than spreading it again.
   */
  protected shape(row: Row): Row {
    return row;
  }

  protected extraQuery(_request: ReadRequest): Query {
    return {};
  }

  protected shapeAll(records: Row[]): Row[] {
    const plan = this.customFieldPlan;
    return records.map((raw) => {
      const row = this.shape(ownedCopy(raw));
      // The raw object is not emitted (its values become columns). Undefined, not `delete`:
      // JSON leaves it out, and `delete` would turn the row into a slow dictionary object.
      row.custom_fields = undefined;
      if (plan) plan.applyV2(raw.custom_fields as Record<string, unknown>, row);
      return this.finishOwned(row);
    });
  }

  async *readPages(request: ReadRequest): AsyncGenerator<StreamPage> {
    yield* this.readList(this.path, request, 'update_time', this.extraQuery(request));
  }

  protected async *readList(
    path: string,
    request: ReadRequest,
    stateKey: string,
    extra: Query,
  ): AsyncGenerator<StreamPage> {
    const incremental = request.syncMode === 'incremental' && this.isIncremental;
    const since = incremental ? this.sinceFor(request.state, stateKey) : undefined;
    const query: Query = incremental
      ? { sort_by: 'update_time', sort_direction: 'asc', updated_since: since, ...extra }
      : { sort_by: 'id', sort_direction: 'asc', ...extra };
    let position = incremental ? (request.state?.[stateKey] as string | undefined) : undefined;
    const listedKey = listedAtKey(stateKey);
    let listedAt = this.tracksListingTime ? request.state?.[listedKey] : undefined;
    let listedInThisRun: string | undefined;
    const size = this.rowsPerCheckpoint;
    for await (const page of this.services.client.paginateV2(path, query, this.name)) {
      const rows = this.shapeAll(page.records);
      // Rows come sorted by update_time, so every slice end is a safe checkpoint.
      for (let start = 0; start === 0 || start < rows.length; start += size) {
        const slice = size >= rows.length ? rows : rows.slice(start, start + size);
        const sliceMax = incremental ? maxOf(slice, 'update_time') : undefined;
        if (sliceMax && (!position || sliceMax >= position)) {
          // When Pipedrive first listed the rows of the position's second in this run (the
          // earliest page holding them): if that was after the second ended, no row of that
          // second can have changed unseen.
          if (sliceMax !== position || listedInThisRun !== sliceMax) listedAt = page.serverTime;
          position = sliceMax;
          listedInThisRun = sliceMax;
        }
        const state: StreamState | undefined =
          incremental && position ? { [stateKey]: position } : undefined;
        // Mid-pass, rows of the position's second may still follow (ties across a page or
        // slice end): the second is not complete, so any earlier listing time is cleared.
        if (state && this.tracksListingTime) state[listedKey] = null;
        yield { records: slice, position: state };
      }
    }
    if (incremental && position && this.tracksListingTime) {
      // The pass is complete: every row of the position's second has been handled.
      yield {
        records: [],
        position: {
          [stateKey]: position,
          [listedKey]: typeof listedAt === 'string' ? listedAt : null,
        },
      };
    }
  }

  /**
   * Whether the position also records when Pipedrive listed its rows (`<key>_listed_at`), so
   * that work keyed on "changed since the position" can skip the position's own second when
   * it was already complete (deals → per-deal calls).
   */
  protected get tracksListingTime(): boolean {
    return false;
  }

  /**
   * Rows per checkpoint. A page is one checkpoint unless its rows fan out into costly
   * per-row calls (deals → flow): then a smaller slice bounds the work, and the API tokens,
   * that a stop (daily budget, outage, kill) makes the next run repeat.
   */
  protected get rowsPerCheckpoint(): number {
    return Infinity;
  }

  /** updated_since for this read; streams with a look-back override it. */
  protected sinceFor(state: StreamState | undefined, stateKey: string): string | undefined {
    return this.startingPoint(state, stateKey);
  }
}

/** A v1 list endpoint (offset paging), full refresh unless a subclass adds a cursor. */
export abstract class V1ListStream extends PipedriveStream {
  abstract get path(): string;

  /** Renames and seed aliases on this stream's own copy of the API object (see V2ListStream). */
  protected shape(row: Row): Row {
    return row;
  }

  protected query(_request: ReadRequest): Query {
    return {};
  }

  async *readPages(request: ReadRequest): AsyncGenerator<StreamPage> {
    const incremental = request.syncMode === 'incremental' && this.isIncremental;
    let position = incremental ? (request.state?.update_time as string | undefined) : undefined;
    for await (const page of this.services.client.paginateV1(
      this.path,
      this.query(request),
      this.name,
    )) {
      const rows = page.records.map((raw) => this.finishOwned(this.shape(ownedCopy(raw))));
      if (incremental) position = laterOf(position, maxOf(rows, 'update_time'));
      yield { records: rows, position: position ? { update_time: position } : undefined };
    }
  }
}
