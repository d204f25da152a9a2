import { ChildStream, DELETED_AT, type Row } from './base';

/**
 * A child table made of an array inside each parent row (persons → persons_emails, products →
 * products_prices, fields → options). Every row carries the parent's key; children of an
 * incremental parent are incremental too: their cursor is `<parent>_update_time`, the
 * parent's update_time copied into each row, and their state is the parent's position (the
 * runner advances both with the same pages). Children of a deleted parent carry its
 * `_ab_cdc_deleted_at`, so a destination drops them with the parent.
 */
export abstract class ArrayChildStream extends ChildStream {
  /**
   * The column that carries the parent's update_time (`person_update_time`), which is this
   * stream's cursor; undefined for children of full-refresh parents.
   */
  protected abstract get parentCursorColumn(): string | undefined;

  /** The unfinished rows of one parent row. */
  protected abstract rowsOf(parent: Row): Row[];

  override get cursorField(): string | string[] {
    return this.parentCursorColumn ?? [];
  }

  deriveRows(parentRows: Row[]): Row[] {
    const cursor = this.parentCursorColumn;
    const rows: Row[] = [];
    for (const parent of parentRows) {
      const deletedAt = parent[DELETED_AT] ?? null;
      for (const raw of this.rowsOf(parent)) {
        if (cursor) raw[cursor] = parent.update_time ?? null;
        const row = this.finish(raw);
        row[DELETED_AT] = deletedAt;
        rows.push(row);
      }
    }
    return rows;
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
