import fs from 'node:fs';
import path from 'node:path';

import { AirbyteLogger, AirbyteStreamBase, SyncMode } from '../cdk';
import type { PipedriveConfig } from '../config';
import {
  type CustomFieldPlan,
  isCustomFieldKey,
  pinnedColumns,
  planCustomFields,
} from '../custom-fields';
import { PermissionError } from '../errors';
import { compileSchemaCoercer, toApiTime, toTimestamp } from '../normalize';
import type { PipedriveClient, Query } from '../pipedrive/client';
import type { LogLevel } from '../protocol/output';
import { DELETES_CHECKED_AT, KNOWN_IDS } from './deletes';
import type { ProgressSequence } from './progress';

export type JsonSchema = Record<string, any>;
export type StreamState = Record<string, unknown>;
export type Row = Record<string, any>;
export type CustomFieldEntity = 'deal' | 'person' | 'organization' | 'product' | 'activity';
/** Entities with a field-definitions endpoint: notes have one, but no custom-field columns. */
export type FieldEntity = CustomFieldEntity | 'note';
export type SyncModeName = 'full_refresh' | 'incremental';

const SCHEMA_DIR = path.resolve(__dirname, '..', '..', 'resources', 'schemas');

export const DELETED_AT = '_ab_cdc_deleted_at';
/** Every incremental root's cursor. */
export const UPDATE_TIME = 'update_time';

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

  definitions(entity: FieldEntity, scope: string): Promise<Row[]> {
    let pending = this.cache.get(entity);
    if (!pending) {
      pending = (async () => {
        const rows: Row[] = [];
        // The OpenAPI file gives /noteFields no paging: a missing block must not be a failure.
        const paged = entity === 'note' ? 'optional' : true;
        for await (const page of this.client.paginateV1(`/${entity}Fields`, {}, scope, {
          paged,
        })) {
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

/** Epoch ms of an RFC 3339 position (NaN when it is not one). */
export function positionMs(position: string): number {
  return Date.parse(position);
}

/**
 * An RFC 3339 position as `updated_since` accepts it (UTC, whole seconds), optionally moved
 * back by a look-back window.
 */
export function apiTime(position: string | undefined, minusMs = 0): string | undefined {
  if (!position) return undefined;
  const ms = positionMs(position);
  return Number.isNaN(ms) ? undefined : toApiTime(new Date(ms - minusMs));
}

/** Max of a field over rows (RFC 3339 UTC strings compare lexically). */
export function maxOf(rows: Row[], field: string, start?: string): string | undefined {
  let max = start;
  for (const row of rows) {
    const value = row[field];
    if (typeof value === 'string' && (!max || value > max)) max = value;
  }
  return max;
}

/** Features an account may lack (an add-on, an admin right): the stream completes empty. */
export interface OptionalAccess {
  /** Statuses that mean "not available to this account". */
  statuses: number[];
  /** What is missing, for the one warning ("the Projects add-on", "admin rights"). */
  missing: string;
}

/** What every stream declares. */
export interface StreamDeclaration {
  name: string;
  primaryKey: string | string[];
  /** The cursor of an incremental stream; none for full-refresh-only streams. */
  cursor?: string;
  /** The entity whose custom fields become columns of this stream. */
  customFields?: CustomFieldEntity;
  optional?: OptionalAccess;
}

/**
 * A Pipedrive table. Declarations say what (endpoint, keys, cursor, shaping); this base and the
 * runner do how (paging, schemas, coercion, deletes, state).
 */
export abstract class PipedriveStream extends AirbyteStreamBase {
  private preparedSchema?: JsonSchema;
  private coerce?: (row: Row) => Row;
  protected customFieldPlan?: CustomFieldPlan;
  /** Rows dropped because they lack their primary key (one warning per stream at the end). */
  rowsWithoutKey = 0;
  private readonly keyColumns: string[];

  constructor(
    protected readonly services: StreamServices,
    readonly declaration: StreamDeclaration,
  ) {
    super(services.logger);
    const key = declaration.primaryKey;
    this.keyColumns = Array.isArray(key) ? key : [key];
  }

  override get name(): string {
    return this.declaration.name;
  }

  override get primaryKey(): string | string[] {
    return this.declaration.primaryKey;
  }

  override get cursorField(): string | string[] {
    return this.declaration.cursor ?? [];
  }

  get customFieldEntity(): CustomFieldEntity | undefined {
    return this.declaration.customFields;
  }

  /** Root streams return undefined; child streams name the stream they derive from. */
  get parentName(): string | undefined {
    return undefined;
  }

  get isIncremental(): boolean {
    return this.declaration.cursor !== undefined;
  }

  /** Keys of this stream's state that hold RFC 3339 positions. */
  abstract get positionKeys(): string[];

  /** Keys of this stream's state that are not positions (e.g. fan-out memory). */
  get extraStateKeys(): string[] {
    return [];
  }

  /**
   * The state to checkpoint: `state` is what the runner tracked (positions, memory),
   * `startState` where this run began, `finished` whether the stream completed. Streams that
   * must remember something about an unfinished pass (deals_flow) add it here.
   */
  checkpointState(state: StreamState, _startState: StreamState, _finished: boolean): StreamState {
    return state;
  }

  override getJsonSchema(): JsonSchema {
    return this.preparedSchema ?? loadStaticSchema(this.name);
  }

  /**
   * Loads custom fields (when the stream has them) and compiles the record coercer. With the
   * configured catalog's schema, custom columns are the catalog's (mapped by field key); a
   * catalog without properties (hand-written) gets today's fields.
   */
  async prepare(catalogSchema?: JsonSchema): Promise<JsonSchema> {
    if (this.preparedSchema) return this.preparedSchema;
    const schema = loadStaticSchema(this.name);
    schema.properties[DELETED_AT] = { type: ['null', 'string'], format: 'date-time' };
    const entity = this.customFieldEntity;
    if (entity) {
      let definitions: Row[] = [];
      try {
        definitions = await this.services.fields.definitions(entity, this.name);
      } catch (error) {
        // Without permission to read field definitions the stream still reads, without custom
        // columns (as discover shows it).
        if (!(error instanceof PermissionError)) throw error;
        this.log('WARN', `custom fields unavailable (${error.message}); read without them.`);
      }
      const pins = catalogSchema ? pinnedColumns(catalogSchema) : undefined;
      const hasCatalogProperties =
        catalogSchema !== undefined && Object.keys(catalogSchema.properties ?? {}).length > 0;
      this.customFieldPlan = planCustomFields(
        definitions as any,
        Object.keys(schema.properties),
        this.services.config.custom_field_names,
        hasCatalogProperties ? pins : undefined,
      );
      this.reportCatalogDrift(this.customFieldPlan);
      Object.assign(schema.properties, this.customFieldPlan.properties);
    }
    this.preparedSchema = schema;
    this.coerce = compileSchemaCoercer(schema);
    return schema;
  }

  private reportCatalogDrift(plan: CustomFieldPlan): void {
    if (plan.unknown.length > 0) {
      const names = plan.unknown.map((field) => `"${field.name}" (${field.key})`).join(', ');
      this.log(
        'INFO',
        `Pipedrive has custom field(s) the configured catalog does not: ${names}. They are not emitted; refresh the source schema in Airbyte to get them.`,
      );
    }
    for (const { key, column } of plan.missing) {
      this.log(
        'WARN',
        `column ${column} holds Pipedrive custom field ${key}, which Pipedrive no longer has (deleted or hidden from this token): it stays null. Refresh the source schema in Airbyte to drop it.`,
      );
    }
  }

  /** `finish` for a row this stream made itself with `ownedCopy`: coerced in place. */
  protected finishOwned(row: Row): Row {
    const coerced = this.coerce ? this.coerce(row) : row;
    if (coerced.is_deleted === true) {
      // A destination drops a key only when its deletion time is set: never leave it null.
      coerced[DELETED_AT] =
        toTimestamp(coerced.update_time) ??
        toTimestamp(coerced[DELETED_AT]) ??
        toApiTime(this.services.syncStartedAt);
    } else {
      coerced[DELETED_AT] = null;
    }
    return coerced;
  }

  /** Turns one API object into this stream's row (a copy: the input is not changed). */
  protected finish(row: Row): Row {
    return this.finishOwned(ownedCopy(row));
  }

  /** Rows that have their primary key; the others are counted and left out. */
  keepKeyed(rows: Row[]): Row[] {
    const keys = this.keyColumns;
    let kept: Row[] | undefined;
    for (let index = 0; index < rows.length; index++) {
      const row = rows[index];
      let keyed = true;
      for (const key of keys) {
        const value = row[key];
        if (value === null || value === undefined || value === '') keyed = false;
      }
      if (!keyed) {
        this.rowsWithoutKey++;
        kept ??= rows.slice(0, index);
      } else if (kept) {
        kept.push(row);
      }
    }
    return kept ?? rows;
  }

  /** The CDK's contract, kept for compatibility: the runner reads streams, not this. */
  // eslint-disable-next-line require-yield
  async *readRecords(
    _syncMode: SyncMode,
    _cursorField?: string[],
    _streamSlice?: Record<string, any>,
    _streamState?: Record<string, any>,
  ): AsyncGenerator<Row> {
    throw new Error(`${this.name} is read by the connector's runner (src/read.ts)`);
  }

  log(level: LogLevel, message: string): void {
    this.services.log(level, `[${this.name}] ${message}`);
  }
}

// ---- root streams ---------------------------------------------------------------------------

/** How one endpoint of a root stream is read. */
export type PassReader =
  /** v2 cursor list; incremental with updated_since, sorted by update_time, in windows. */
  | 'v2'
  /** v1 offset list, full refresh. */
  | 'v1'
  /** v1 list sorted by update_time, paged by moving updated_since (notes, leads). */
  | 'v1-updated-since'
  /** v1 list sorted newest first, read until older than the cursor (files). */
  | 'v1-newest-first'
  /** v1 list with cursor paging (projects, tasks), read whole. */
  | 'v1-cursor';

/** One endpoint of a root stream, with its own position in the state. */
export interface PassSpec {
  /** The state key of this pass's position. */
  key: string;
  reader: PassReader;
  path: string;
  query?: Query;
  /** v2: whether updated_since/updated_until are accepted (windows, incremental filter). */
  timeFilters?: boolean;
  /** v2: whether sort_by=update_time is accepted (false: id order, full refresh only). */
  sortsByUpdateTime?: boolean;
  /** v1: whether the list pages (false: one answer without paging block; see paginateV1). */
  paged?: boolean | 'optional';
  /** v1: the page size when the endpoint allows less than 500 (files 100, call logs 50). */
  limit?: number;
  /** Marks the rows of this pass (archived deals and leads). */
  mark?: (row: Row) => void;
}

export interface RootDeclaration extends StreamDeclaration {
  passes: PassSpec[];
  /**
   * Renames and seed aliases, before coercion, on this stream's own copy of the API object
   * (see ownedCopy): add to it and return it rather than spreading it again.
   */
  shape?: (row: Row, stream: RootStream) => Row;
  /** Custom-field values: v2 `custom_fields` object (default) or v1 keys at the root (leads). */
  customFieldsAt?: 'v2' | 'v1';
  /** How far before a saved position each incremental run re-reads (late writes), ms. */
  lookbackMs?: (config: PipedriveConfig) => number;
  /** A reader of its own, for the rare table no pass reader fits (field definitions). */
  read?: (stream: RootStream, pass: PassSpec, request: PassRequest) => Promise<void>;
  /** The list does not return deleted records: detect deletes with id-only passes. */
  deletes?: DeleteDeclaration;
}

/** How a stream's deletes are detected (see src/streams/deletes.ts). */
export interface DeleteDeclaration {
  /** Query of a pass's id-only listing, if it differs (deals: only open, won and lost). */
  idQuery?: (pass: PassSpec) => Query;
  /**
   * The endpoint of one record (v2 `/persons/{id}`): a deleted record Pipedrive still keeps
   * (30 days) gives its children's keys, so they get tombstones too.
   */
  item?: (id: unknown) => string;
}

/** A stream read from its own endpoint(s), in passes. */
export class RootStream extends PipedriveStream {
  constructor(
    services: StreamServices,
    override readonly declaration: RootDeclaration,
  ) {
    super(services, declaration);
  }

  /**
   * Resolves once this stream and the members of its group are prepared (field definitions
   * loaded, custom-field plans made). The runner starts the passes meanwhile: their first
   * requests go out at once, and the readers shape rows only after this (one round trip less
   * before the first rows on a slow network).
   */
  ready: Promise<void> = Promise.resolve();

  get passes(): PassSpec[] {
    return this.declaration.passes;
  }

  /** Whether deletes are detected for this stream (id-only passes; see deletes.ts). */
  get detectsDeletes(): boolean {
    return this.isIncremental && this.declaration.deletes !== undefined;
  }

  override get extraStateKeys(): string[] {
    return this.detectsDeletes ? [KNOWN_IDS, DELETES_CHECKED_AT] : [];
  }

  get positionKeys(): string[] {
    return this.isIncremental ? this.passes.map((pass) => pass.key) : [];
  }

  get lookbackMs(): number {
    return this.declaration.lookbackMs?.(this.services.config) ?? 0;
  }

  get client(): PipedriveClient {
    return this.services.client;
  }

  get config(): PipedriveConfig {
    return this.services.config;
  }

  get fields(): FieldDefinitionCache {
    return this.services.fields;
  }

  /**
   * The rows of a freshly parsed list page that nobody reads afterwards, once the stream is
   * ready (see `ready`): each record becomes its row itself. That is the fast way: V8 adds the
   * columns to a parsed object along one shared chain of shapes and serialises it about 1.5x
   * faster than a copy (and the copy's own cost is gone).
   */
  async shapePage(records: Row[], pass: PassSpec): Promise<Row[]> {
    await this.ready;
    return this.shapeRows(records, pass, true);
  }

  /**
   * Rows of one page: shaped, custom fields as columns, coerced, keyed; each a copy, the input
   * is kept (cached field definitions, raw ids a reader still needs). `inPlace`: see shapePage.
   */
  shapeRows(records: Row[], pass: PassSpec, inPlace = false): Row[] {
    const plan = this.customFieldPlan;
    const shape = this.declaration.shape;
    const v1Fields = this.declaration.customFieldsAt === 'v1';
    const rows: Row[] = new Array(records.length);
    for (let index = 0; index < records.length; index++) {
      const raw = records[index];
      let row = inPlace ? raw : ownedCopy(raw);
      if (plan) {
        if (v1Fields) {
          plan.applyV1(raw, row);
          dropUnplannedCustomKeys(row, plan.properties);
        } else {
          const customFields = raw.custom_fields as Record<string, unknown>;
          // The raw object is not emitted (its values become columns). Undefined, not
          // `delete`: JSON leaves it out, and `delete` would make the row a slow dictionary.
          row.custom_fields = undefined;
          plan.applyV2(customFields, row);
        }
      }
      if (shape) row = shape(row, this);
      pass.mark?.(row);
      rows[index] = this.finishOwned(row);
    }
    return this.keepKeyed(rows);
  }
}

/**
 * Custom values at a v1 record's root (`<key>`, `<key>_currency`, …) that no planned column
 * took, because their field's definition could not be read (a 403 on /v1/dealFields) or is
 * hidden from this token: left there they would be emitted as columns under raw hash keys
 * that the stream's schema does not have. Undefined, not `delete` (see shapeRows).
 */
function dropUnplannedCustomKeys(row: Row, planned: Record<string, unknown>): void {
  for (const key in row) {
    if (key.length < 40 || row[key] === undefined || key in planned) continue;
    if (key.length > 40 && key.charCodeAt(40) !== 95 /* _ */) continue;
    if (isCustomFieldKey(key.slice(0, 40))) row[key] = undefined;
  }
}

/** A v2 list with update_time: incremental, partitionable in updated_since/until windows. */
export function v2Table(
  declaration: Omit<RootDeclaration, 'passes'> & { path: string; query?: Query },
): RootDeclaration {
  const { path: listPath, query, ...rest } = declaration;
  return {
    cursor: UPDATE_TIME,
    // v2 lists never return deleted records; the record itself stays readable for 30 days.
    deletes: { item: (id) => `${listPath}/${String(id)}` },
    ...rest,
    passes: [{ key: UPDATE_TIME, reader: 'v2', path: listPath, query }],
  };
}

/** A v1 list read whole every time (users, activity types, …). */
export function v1Table(
  declaration: Omit<RootDeclaration, 'passes'> &
    Pick<PassSpec, 'path' | 'query' | 'paged' | 'limit'>,
): RootDeclaration {
  const { path: listPath, query, paged, limit, ...rest } = declaration;
  return {
    ...rest,
    passes: [{ key: UPDATE_TIME, reader: 'v1', path: listPath, query, paged, limit }],
  };
}

// ---- child streams --------------------------------------------------------------------------

export interface ChildDeclaration extends StreamDeclaration {
  parent: string;
}

/** A stream whose rows come with, or from, another stream's rows (its parent). */
export abstract class ChildStream extends PipedriveStream {
  constructor(
    services: StreamServices,
    override readonly declaration: ChildDeclaration,
  ) {
    super(services, declaration);
  }

  override get parentName(): string {
    return this.declaration.parent;
  }

  /** A child's positions are its parent's passes: both advance with the same pages. */
  parentPositionKeys: string[] = [];

  get positionKeys(): string[] {
    return this.isIncremental ? this.parentPositionKeys : [];
  }
}

export interface ArrayChildDeclaration extends ChildDeclaration {
  /** The rows of one parent row (unfinished: the base coerces them). */
  rows: (parent: Row) => Row[];
  /**
   * `cursor` is the column that carries the parent's update_time (`person_update_time`);
   * none for children of full-refresh parents.
   */
}

/**
 * A child table made of an array inside each parent row (persons → persons_emails, products →
 * products_prices, fields → options): no extra calls. Children of an incremental parent are
 * incremental too: their cursor is `<parent>_update_time`, the parent's update_time copied into
 * each row. Children of a deleted parent carry its `_ab_cdc_deleted_at`, so a destination drops
 * them with the parent.
 */
export class ArrayChildStream extends ChildStream {
  constructor(
    services: StreamServices,
    override readonly declaration: ArrayChildDeclaration,
  ) {
    super(services, declaration);
  }

  deriveRows(parents: Row[]): Row[] {
    const cursor = this.declaration.cursor;
    const rows: Row[] = [];
    for (const parent of parents) {
      const deletedAt = parent[DELETED_AT] ?? null;
      for (const raw of this.declaration.rows(parent)) {
        if (cursor) raw[cursor] = parent.update_time ?? null;
        const row = this.finishOwned(raw);
        row[DELETED_AT] = deletedAt;
        rows.push(row);
      }
    }
    return this.keepKeyed(rows);
  }
}

/**
 * Entries of an array of objects, once per `key` value: entries without one are dropped (the
 * key is part of the child's primary key), and duplicates keep the first entry.
 */
export function uniqueBy(items: unknown, key: string): Row[] {
  if (!Array.isArray(items)) return [];
  const seen = new Set<string>();
  const result: Row[] = [];
  for (const item of items) {
    if (!item || typeof item !== 'object' || Array.isArray(item)) continue;
    const value = (item as Row)[key];
    if (value === null || value === undefined || value === '') continue;
    const id = String(value);
    if (seen.has(id)) continue;
    seen.add(id);
    result.push(item as Row);
  }
  return result;
}

/** A page of rows handed to the runner by a pass reader. */
export interface PassPage {
  rows: Row[];
  /** The page's place in the pass order; the runner adds its slices and closes it. */
  node: ProgressSequence;
  /** Lower bound of Pipedrive's clock when it read this page (epoch ms). */
  listedAfterMs?: number;
  /**
   * Whether the rows' update_time may serve as checkpoint positions (rows in ascending
   * update_time); false for lists in another order, whose position is set when they end.
   */
  positioned: boolean;
  /**
   * Called once the page's own rows are written, while its fan-out may still run: the reader
   * lets go of what it holds for a page being written (its parsed-page place).
   */
  written?: () => void;
}

/** What the runner asks of a pass reader. */
export interface PassRequest {
  mode: SyncModeName;
  /** Incremental: updated_since (inclusive), already moved back by look-backs. */
  since?: string;
  progress: ProgressSequence;
  onPage(page: PassPage): Promise<void>;
  /** The group stopped (failure, budget): readers stop at the next page. */
  stopped(): boolean;
  /** Upper end of the data for window splits: the sync's start on Pipedrive's clock (ms). */
  nowMs: number;
}
