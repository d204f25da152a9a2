import { badRequest } from '../http/errors';
import {
  cursorPage,
  CursorState,
  decodeCursor,
  encodeCursor,
  MatchCache,
  offsetPage,
  OrderedView,
  SortDirection,
} from '../store/query';
import { FakeStore, TableName } from '../store/store';
import { EntityTable, RecordFlag, SortValue } from '../store/table';
import { parseLenientTimestamp, parseStrictRfc3339 } from '../time';
import { JsonObject } from '../types';

/** The endpoint registry's building blocks: what a handler gets and returns, plus list helpers. */

export type ApiVersion = 'v1' | 'v2';

export interface EndpointControls {
  legacyTeamsGone: boolean;
  companyDomain: string;
}

export interface EndpointContext {
  store: FakeStore;
  query: Record<string, string>;
  params: Record<string, string>;
  controls: EndpointControls;
  nowSeconds: number;
  matchCache: MatchCache;
}

export interface EndpointResult {
  status?: number;
  body: JsonObject;
}

export interface Endpoint {
  version: ApiVersion;
  /** Path template below `/api/{version}`, e.g. `/deals/{id}/flow`. */
  path: string;
  /** API tokens charged per call: the operation's `x-token-cost` in the OpenAPI files. */
  cost: number;
  handle(context: EndpointContext): EndpointResult;
}

export const V2_MAX_LIMIT = 500;
export const DEFAULT_LIMIT = 100;

export function ok(data: unknown, additionalData?: JsonObject): EndpointResult {
  const body: JsonObject = { success: true, data };
  if (additionalData !== undefined) body.additional_data = additionalData;
  return { body };
}

// ---- parameter parsing ------------------------------------------------------------------------

function parseInteger(name: string, text: string): number {
  if (!/^-?\d+$/.test(text)) throw badRequest(`Parameter '${name}' must be an integer`);
  return Number(text);
}

export function optionalInteger(query: Record<string, string>, name: string): number | undefined {
  const text = query[name];
  return text === undefined || text === '' ? undefined : parseInteger(name, text);
}

/** v2 validates strictly: a limit above 500 is a 400, not silently clamped. */
export function v2Limit(query: Record<string, string>): number {
  const limit = optionalInteger(query, 'limit') ?? DEFAULT_LIMIT;
  if (limit < 1 || limit > V2_MAX_LIMIT) {
    throw badRequest(`Parameter 'limit' must be between 1 and ${V2_MAX_LIMIT}`);
  }
  return limit;
}

/** v1 is lenient: a limit above 500 is served as 500 (and `pagination.limit` says so). */
export function v1Limit(query: Record<string, string>): number {
  const limit = optionalInteger(query, 'limit') ?? DEFAULT_LIMIT;
  if (limit < 1) throw badRequest(`Parameter 'limit' must be a positive integer`);
  return Math.min(limit, V2_MAX_LIMIT);
}

export function v1Start(query: Record<string, string>): number {
  const start = optionalInteger(query, 'start') ?? 0;
  if (start < 0) throw badRequest(`Parameter 'start' must not be negative`);
  return start;
}

export function oneOf<T extends string>(
  query: Record<string, string>,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const value = query[name];
  if (value === undefined || value === '') return fallback;
  if (!allowed.includes(value as T)) {
    throw badRequest(`Parameter '${name}' must be one of: ${allowed.join(', ')}`);
  }
  return value as T;
}

export function commaList(query: Record<string, string>, name: string): string[] | undefined {
  const value = query[name];
  if (value === undefined || value === '') return undefined;
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

export function idList(
  query: Record<string, string>,
  name: string,
  max = 100,
): number[] | undefined {
  const parts = commaList(query, name);
  if (!parts) return undefined;
  if (parts.length > max) throw badRequest(`Parameter '${name}' accepts at most ${max} ids`);
  return parts.map((part) => parseInteger(name, part));
}

/** `updated_since`/`updated_until` of v2: RFC 3339 without fractional seconds, else 400. */
export function strictTime(query: Record<string, string>, name: string): number | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  const seconds = parseStrictRfc3339(value);
  if (seconds === null) {
    throw badRequest(
      `Parameter '${name}' must be an RFC 3339 date-time without fractional seconds, e.g. 2025-01-01T10:20:00Z`,
    );
  }
  return seconds;
}

export function lenientTime(query: Record<string, string>, name: string): number | undefined {
  const value = query[name];
  if (value === undefined || value === '') return undefined;
  const seconds = parseLenientTimestamp(value);
  if (seconds === null) throw badRequest(`Parameter '${name}' is not a valid date-time`);
  return seconds;
}

export function booleanParam(query: Record<string, string>, name: string): boolean | undefined {
  const value = query[name];
  if (value === undefined || value === '') return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw badRequest(`Parameter '${name}' must be a boolean`);
}

// ---- ordering -----------------------------------------------------------------------------------

export function sortValueOf(value: unknown): SortValue {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value === null || value === undefined ? '' : String(value);
}

/** An ordered view of a table, by (field, id); times come from the compact arrays. */
export function tableView(table: EntityTable<JsonObject>, field: string): OrderedView {
  const valueOf = (slot: number): SortValue =>
    field === 'update_time'
      ? table.updateTime(slot)
      : field === 'add_time'
        ? table.addTime(slot)
        : field === 'id'
          ? sortValueOf(table.idAt(slot))
          : sortValueOf(table.record(slot)[field]);
  const order = table.orderBy(field, valueOf);
  const cache = new Map<number, SortValue>();
  return {
    length: table.size,
    slotAt: order ? (position) => order[position] : (position) => position,
    sortValue(slot) {
      // Materialising a record is the slow path; binary searches revisit the same rows.
      if (field === 'update_time' || field === 'add_time' || field === 'id') return valueOf(slot);
      let value = cache.get(slot);
      if (value === undefined) cache.set(slot, (value = valueOf(slot)));
      return value;
    },
    idOf: (slot) => slot + 1,
  };
}

/** An ordered view of an in-memory array of records with numeric ids (deal products). */
export function arrayView(records: JsonObject[], field: string): OrderedView {
  const sorted = records
    .map((record, index) => ({ index, value: sortValueOf(record[field]), id: record.id as number }))
    .sort((left, right) => compare(left.value, right.value) || left.id - right.id);
  return {
    length: sorted.length,
    slotAt: (position) => sorted[position].index,
    sortValue: (slot) => sortValueOf(records[slot][field]),
    idOf: (slot) => records[slot].id as number,
  };
}

function compare(left: SortValue, right: SortValue): number {
  if (typeof left === 'number' && typeof right === 'number') return left - right;
  return String(left) < String(right) ? -1 : String(left) > String(right) ? 1 : 0;
}

// ---- v2 cursor lists ------------------------------------------------------------------------------

export interface SortRequest {
  field: string;
  direction: SortDirection;
  after: CursorState | null;
  limit: number;
}

export function v2Sort(query: Record<string, string>, sortFields: readonly string[]): SortRequest {
  const field = oneOf(query, 'sort_by', sortFields, 'id');
  const direction = oneOf(query, 'sort_direction', ['asc', 'desc'] as const, 'asc');
  const limit = v2Limit(query);
  let after: CursorState | null = null;
  if (query.cursor !== undefined && query.cursor !== '') {
    after = decodeCursor(query.cursor);
    if (!after) throw badRequest(`Parameter 'cursor' is not a valid cursor`);
    if (after.field !== field || after.sortDirection !== direction) {
      throw badRequest(`Parameter 'cursor' was issued for a different sort_by/sort_direction`);
    }
  }
  return { field, direction, after, limit };
}

export interface V2ListOptions {
  table: TableName;
  sortFields: readonly string[];
  /** Whether `updated_since`/`updated_until` are accepted (400 otherwise, like pipelines). */
  updatedFilters: boolean;
  /** Query parameter → record field, compared for equality (materialises rows: slow path). */
  equalityFilters?: Record<string, string>;
  /** Row visibility from the compact keys (default: not deleted). */
  visible?(table: EntityTable<JsonObject>, slot: number): boolean;
  /** Extra `include_fields` handling etc. */
  present?(record: JsonObject): JsonObject;
  /** Whether the `custom_fields` parameter (≤ 15 keys) applies. */
  customFieldsParam?: boolean;
}

export function notDeleted(table: EntityTable<JsonObject>, slot: number): boolean {
  return (table.flags(slot) & RecordFlag.deleted) === 0;
}

export function v2List(context: EndpointContext, options: V2ListOptions): EndpointResult {
  const { query, store } = context;
  const table = store.table(options.table);
  const sort = v2Sort(query, options.sortFields);
  if (!options.updatedFilters) {
    for (const name of ['updated_since', 'updated_until']) {
      if (query[name] !== undefined) throw badRequest(`Parameter '${name}' is not allowed here`);
    }
  }
  const since = options.updatedFilters ? strictTime(query, 'updated_since') : undefined;
  const until = options.updatedFilters ? strictTime(query, 'updated_until') : undefined;
  const ids = idList(query, 'ids');
  const idSet = ids ? new Set(ids) : null;
  const equality = Object.entries(options.equalityFilters ?? {})
    .filter(([param]) => query[param] !== undefined && query[param] !== '')
    .map(([param, field]) => [field, query[param]] as const);
  const customKeys = options.customFieldsParam ? commaList(query, 'custom_fields') : undefined;
  if (customKeys && customKeys.length > 15) {
    throw badRequest(`Parameter 'custom_fields' accepts at most 15 keys`);
  }
  const visible = options.visible ?? notDeleted;

  const page = cursorPage(tableView(table, sort.field), {
    ...sort,
    include(slot) {
      if (table.flags(slot) & RecordFlag.purged || !visible(table, slot)) return false;
      const updated = table.updateTime(slot);
      if (since !== undefined && updated < since) return false;
      if (until !== undefined && updated >= until) return false;
      if (idSet && !idSet.has(slot + 1)) return false;
      if (equality.length === 0) return true;
      const record = table.record(slot);
      return equality.every(([field, value]) => String(record[field]) === value);
    },
  });
  const data = page.slots.map((slot) => {
    let record = store.present(options.table, table.record(slot));
    if (options.present) record = options.present(record);
    if (customKeys && record.custom_fields) {
      const all = record.custom_fields as JsonObject;
      record = {
        ...record,
        custom_fields: Object.fromEntries(
          customKeys.filter((key) => key in all).map((key) => [key, all[key]]),
        ),
      };
    }
    return record;
  });
  return ok(data, { next_cursor: page.next ? encodeCursor(page.next) : null });
}

export function cursorPageOfRecords(
  records: JsonObject[],
  sort: SortRequest,
): { data: JsonObject[]; nextCursor: string | null } {
  const page = cursorPage(arrayView(records, sort.field), { ...sort, include: () => true });
  return {
    data: page.slots.map((index) => records[index]),
    nextCursor: page.next ? encodeCursor(page.next) : null,
  };
}

// ---- v1 offset lists ------------------------------------------------------------------------------

export interface V1ListOptions {
  table: TableName;
  sortFields: readonly string[];
  defaultSort: string;
  /** Row visibility (default: not deleted). */
  visible?(table: EntityTable<JsonObject>, slot: number): boolean;
  equalityFilters?: Record<string, string>;
  /** Whether `updated_since` (inclusive, any RFC 3339) is accepted. */
  updatedSince: boolean;
  extraFilter?(record: JsonObject): boolean;
  /** Old v1 endpoints answer `data: null` for an empty page; newer ones `[]`. */
  emptyAsNull: boolean;
  /** Cache key prefix: the endpoint path. */
  cacheKey: string;
}

/** Parses v1 `sort` ("update_time ASC, id DESC"); only the first key orders, id breaks ties. */
export function v1Sort(
  query: Record<string, string>,
  sortFields: readonly string[],
  defaultSort: string,
): { field: string; direction: SortDirection } {
  const first = (query.sort ?? '').split(',')[0].trim();
  if (first === '') return { field: defaultSort, direction: 'asc' };
  const [field, direction = 'ASC'] = first.split(/\s+/);
  if (!sortFields.includes(field) || !/^(asc|desc)$/i.test(direction)) {
    throw badRequest(
      `Parameter 'sort' must be '<field> ASC|DESC' with one of: ${sortFields.join(', ')}`,
    );
  }
  return { field, direction: direction.toLowerCase() as SortDirection };
}

export function v1List(context: EndpointContext, options: V1ListOptions): EndpointResult {
  const { query, store } = context;
  const table = store.table(options.table);
  const start = v1Start(query);
  const limit = v1Limit(query);
  const sort = v1Sort(query, options.sortFields, options.defaultSort);
  const since = options.updatedSince ? lenientTime(query, 'updated_since') : undefined;
  const equality = Object.entries(options.equalityFilters ?? {})
    .filter(([param]) => query[param] !== undefined && query[param] !== '')
    .map(([param, field]) => [field, query[param]] as const);
  const visible = options.visible ?? notDeleted;
  const { start: _start, limit: _limit, ...rest } = query;
  const cacheKey = `${options.cacheKey}?${JSON.stringify(Object.entries(rest).sort())}`;

  const matching = context.matchCache.get(cacheKey, table.version, () => {
    const view = tableView(table, sort.field);
    const slots: number[] = [];
    for (let index = 0; index < view.length; index++) {
      const position = sort.direction === 'asc' ? index : view.length - 1 - index;
      const slot = view.slotAt(position);
      if (table.flags(slot) & RecordFlag.purged || !visible(table, slot)) continue;
      if (since !== undefined && table.updateTime(slot) < since) continue;
      if (equality.length > 0 || options.extraFilter) {
        const record = table.record(slot);
        if (!equality.every(([field, value]) => String(record[field]) === value)) continue;
        if (options.extraFilter && !options.extraFilter(record)) continue;
      }
      slots.push(slot);
    }
    return Int32Array.from(slots);
  });
  const page = offsetPage(matching, start, limit);
  const data = page.items.map((slot) => store.present(options.table, table.record(slot)));
  return ok(data.length === 0 && options.emptyAsNull ? null : data, {
    pagination: page.pagination,
  });
}

/** Offset paging over an in-memory list (fields, flow). */
export function v1ArrayPage<T>(
  context: EndpointContext,
  items: T[],
  emptyAsNull: boolean,
): EndpointResult {
  const page = offsetPage(items, v1Start(context.query), v1Limit(context.query));
  return ok(page.items.length === 0 && emptyAsNull ? null : page.items, {
    pagination: page.pagination,
  });
}
