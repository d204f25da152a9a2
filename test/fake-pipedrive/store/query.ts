import { compareSortValues, SortValue } from './table';

/**
 * Paging over ordered views. v2 cursors are keyset cursors: they carry the last row's sort value
 * and id, so a page starts exactly after the previous one even if rows were added, changed or
 * moved in between (offset paging, used by v1, does not have that property; see `offsetPage`).
 */

export type SortDirection = 'asc' | 'desc';

/** Shaped like Pipedrive's own cursors (base64url JSON), but clients must treat it as opaque. */
export interface CursorState {
  field: string;
  fieldValue: SortValue;
  sortDirection: SortDirection;
  id: number;
}

export function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

export function decodeCursor(text: string): CursorState | null {
  try {
    const state = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as CursorState;
    const valid =
      typeof state.field === 'string' &&
      (typeof state.fieldValue === 'number' || typeof state.fieldValue === 'string') &&
      (state.sortDirection === 'asc' || state.sortDirection === 'desc') &&
      typeof state.id === 'number';
    return valid ? state : null;
  } catch {
    return null;
  }
}

/** Rows in ascending (sort value, id) order, addressed by position. */
export interface OrderedView {
  length: number;
  slotAt(position: number): number;
  sortValue(slot: number): SortValue;
  idOf(slot: number): number;
}

export interface CursorPageRequest {
  field: string;
  direction: SortDirection;
  after: CursorState | null;
  limit: number;
  include(slot: number): boolean;
}

export interface CursorPage {
  slots: number[];
  next: CursorState | null;
}

export function cursorPage(view: OrderedView, request: CursorPageRequest): CursorPage {
  const ascending = request.direction === 'asc';
  const step = ascending ? 1 : -1;
  let position = request.after
    ? firstPositionAfter(view, request.after, ascending)
    : ascending
      ? 0
      : view.length - 1;
  const slots: number[] = [];
  let more = false;
  for (; position >= 0 && position < view.length; position += step) {
    const slot = view.slotAt(position);
    if (!request.include(slot)) continue;
    if (slots.length === request.limit) {
      more = true;
      break;
    }
    slots.push(slot);
  }
  const last = slots[slots.length - 1];
  const next =
    more && last !== undefined
      ? {
          field: request.field,
          fieldValue: view.sortValue(last),
          sortDirection: request.direction,
          id: view.idOf(last),
        }
      : null;
  return { slots, next };
}

/** Binary search for the first position strictly beyond the cursor in the walking direction. */
function firstPositionAfter(view: OrderedView, after: CursorState, ascending: boolean): number {
  const compareAt = (position: number) => {
    const slot = view.slotAt(position);
    return compareSortValues(view.sortValue(slot), after.fieldValue) || view.idOf(slot) - after.id;
  };
  if (ascending) {
    // First position with (value, id) > cursor.
    let low = 0;
    let high = view.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareAt(middle) <= 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }
  // Last position with (value, id) < cursor.
  let low = 0;
  let high = view.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareAt(middle) < 0) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

export interface OffsetPagination {
  start: number;
  limit: number;
  more_items_in_collection: boolean;
  next_start?: number;
}

export function offsetPage<T>(
  matching: ArrayLike<T>,
  start: number,
  limit: number,
): { items: T[]; pagination: OffsetPagination } {
  const items: T[] = [];
  for (let index = start; index < Math.min(matching.length, start + limit); index++) {
    items.push(matching[index]);
  }
  const more = start + limit < matching.length;
  const pagination: OffsetPagination = { start, limit, more_items_in_collection: more };
  if (more) pagination.next_start = start + limit;
  return { items, pagination };
}

/**
 * v1 offset lists recompute their filtered, sorted row list only when the data or the query
 * changes; paging through a million notes then costs one pass, not one pass per page.
 */
export class MatchCache {
  private readonly entries = new Map<string, { version: number; slots: Int32Array }>();

  constructor(private readonly capacity = 16) {}

  get(key: string, version: number, compute: () => Int32Array): Int32Array {
    const cached = this.entries.get(key);
    if (cached && cached.version === version) return cached.slots;
    const slots = compute();
    this.entries.delete(key);
    this.entries.set(key, { version, slots });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return slots;
  }
}
