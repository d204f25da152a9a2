import { badRequest } from '../http/errors';
import { decodeCursor } from '../store/query';
import { DEFAULT_LIMIT, optionalInteger, SortRequest, V2_MAX_LIMIT } from './common';

/**
 * Paging of the cursor endpoints that document no sort parameters (followers, variations,
 * projects, tasks): ascending ids, `limit` 1–500, cursors that only this order issued.
 */
export function idCursorSort(
  query: Record<string, string>,
  defaultLimit = DEFAULT_LIMIT,
): SortRequest {
  const limit = optionalInteger(query, 'limit') ?? defaultLimit;
  if (limit < 1 || limit > V2_MAX_LIMIT) {
    throw badRequest(`Parameter 'limit' must be between 1 and ${V2_MAX_LIMIT}`);
  }
  if (query.cursor === undefined || query.cursor === '') {
    return { field: 'id', direction: 'asc', after: null, limit };
  }
  const after = decodeCursor(query.cursor);
  if (!after || after.field !== 'id' || after.sortDirection !== 'asc') {
    throw badRequest(`Parameter 'cursor' is not a valid cursor`);
  }
  return { field: 'id', direction: 'asc', after, limit };
}

/** A numeric path id; anything else is the caller's mistake (400), not an unknown record. */
export function pathId(params: Record<string, string>, name = 'id'): number {
  const text = params[name] ?? '';
  if (!/^\d+$/.test(text)) throw badRequest(`Path parameter '${name}' must be an integer`);
  return Number(text);
}
