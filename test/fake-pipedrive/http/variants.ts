import { ApiVersion, EndpointResult } from '../endpoints/common';
import { parseLenientTimestamp, parseRecordTime } from '../time';
import { FaultKind, JsonObject, TargetedFault } from '../types';

/**
 * Answers that are real but not what the documentation promises: seen from older servers,
 * OpenAPI-generated mocks and proxies. Unlike the replacing faults, they start from what the
 * endpoint answered, so they are charged like it.
 */

export type AnswerVariant =
  | 'noPagination'
  | 'stuckPagination'
  | 'cursorCycle'
  | 'staleRecords'
  | 'deletedNullTime'
  | 'deletedBadTime'
  | 'missingId';

const VARIANTS: ReadonlySet<FaultKind> = new Set<AnswerVariant>([
  'noPagination',
  'stuckPagination',
  'cursorCycle',
  'staleRecords',
  'deletedNullTime',
  'deletedBadTime',
  'missingId',
]);

export function isAnswerVariant(fault: TargetedFault | null): fault is AnswerVariant {
  return typeof fault === 'string' && VARIANTS.has(fault as FaultKind);
}

/** How many records older than `updated_since` a 'staleRecords' answer slips in. */
const STALE_RECORDS = 2;
const MAX_REMEMBERED_CURSORS = 100_000;

/**
 * For each cursor the fake issued, the cursor of the request it answered (null on a pass's
 * first page), per endpoint: what lets a 'cursorCycle' point back into the same pass.
 */
export class CursorMemory {
  private readonly issuedAfter = new Map<string, string | null>();

  remember(endpoint: string, requestCursor: string | undefined, result: EndpointResult): void {
    const next = (result.body.additional_data as JsonObject | undefined)?.next_cursor;
    if (typeof next !== 'string') return;
    // Cursors are keyset positions, so a long run reissues the same strings: a bound is enough.
    if (this.issuedAfter.size >= MAX_REMEMBERED_CURSORS) this.issuedAfter.clear();
    this.issuedAfter.set(`${endpoint} ${next}`, requestCursor || null);
  }

  /** The cursor issued one page before `requestCursor`, if this pass has one. */
  before(endpoint: string, requestCursor: string | undefined): string | null {
    if (!requestCursor) return null;
    return this.issuedAfter.get(`${endpoint} ${requestCursor}`) ?? null;
  }
}

export interface VariantRequest {
  version: ApiVersion;
  /** Canonical templated path: the key of the cursor memory. */
  endpoint: string;
  query: Record<string, string>;
  cursors: CursorMemory;
  /** Runs the endpoint again with another query (for the records a variant borrows). */
  serve(query: Record<string, string>): EndpointResult;
}

/** Whether the variant can change this request's answer (otherwise its rule waits). */
export function variantApplies(variant: AnswerVariant, request: VariantRequest): boolean {
  switch (variant) {
    case 'stuckPagination':
      return request.version === 'v1';
    case 'cursorCycle':
      return request.cursors.before(request.endpoint, request.query.cursor) !== null;
    case 'staleRecords':
      return parseLenientTimestamp(request.query.updated_since ?? '') !== null;
    default:
      return true;
  }
}

/** The query the endpoint really runs with. */
export function variantQuery(
  variant: AnswerVariant | null,
  query: Record<string, string>,
): Record<string, string> {
  // The mock served its one canned page whatever was asked.
  return variant === 'stuckPagination' ? { ...query, start: '0' } : query;
}

export function applyVariant(
  variant: AnswerVariant,
  result: EndpointResult,
  request: VariantRequest,
): EndpointResult {
  if ((result.status ?? 200) !== 200) return result;
  const body: JsonObject = { ...result.body };
  const additional = isObject(body.additional_data) ? { ...body.additional_data } : undefined;
  const data = Array.isArray(body.data) ? [...(body.data as JsonObject[])] : undefined;
  switch (variant) {
    case 'noPagination':
      if (additional) {
        delete additional.pagination;
        delete additional.next_cursor;
        if (Object.keys(additional).length === 0) delete body.additional_data;
        else body.additional_data = additional;
      }
      break;
    case 'stuckPagination': {
      const pagination = additional?.pagination as JsonObject | undefined;
      if (!additional || !pagination) break;
      const start = Number(request.query.start ?? 0) || 0;
      additional.pagination = {
        start,
        limit: pagination.limit,
        more_items_in_collection: true,
        next_start: start + 1,
      };
      body.additional_data = additional;
      break;
    }
    case 'cursorCycle':
      if (!additional) break;
      additional.next_cursor = request.cursors.before(request.endpoint, request.query.cursor);
      body.additional_data = additional;
      break;
    case 'staleRecords':
      if (data) body.data = [...staleRecords(request), ...data];
      break;
    default:
      if (data && data.length > 0) {
        data[data.length - 1] = brokenRecord(variant, data[data.length - 1]);
        body.data = data;
      }
  }
  return { ...result, body };
}

/** The oldest records the endpoint has that are older than the requested `updated_since`. */
function staleRecords(request: VariantRequest): JsonObject[] {
  const since = parseLenientTimestamp(request.query.updated_since ?? '');
  if (since === null) return [];
  const {
    updated_since: _since,
    updated_until: _until,
    cursor: _cursor,
    start: _start,
    ...rest
  } = request.query;
  const oldestFirst =
    request.version === 'v2'
      ? { ...rest, sort_by: 'update_time', sort_direction: 'asc', limit: '50' }
      : { ...rest, sort: 'update_time ASC', limit: '50' };
  const answer = request.serve(oldestFirst);
  const records = Array.isArray(answer.body.data) ? (answer.body.data as JsonObject[]) : [];
  return records
    .filter((record) => (parseRecordTime(record.update_time) ?? Infinity) < since)
    .slice(0, STALE_RECORDS);
}

function brokenRecord(variant: AnswerVariant, record: JsonObject): JsonObject {
  if (variant === 'missingId') {
    const { id: _id, ...rest } = record;
    return rest;
  }
  const broken: JsonObject = {
    ...record,
    is_deleted: true,
    update_time: variant === 'deletedNullTime' ? null : '0000-00-00 00:00:00',
  };
  // Keep the record's own deletion markers consistent with the flag.
  if ('active_flag' in record) broken.active_flag = false;
  if ('status' in record && record.status !== undefined) broken.status = 'deleted';
  return broken;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
