import { JsonObject, RecordId } from '../types';

/**
 * One collection of records, designed for a million rows:
 * - base records are never stored: `generate(slot)` rebuilds them deterministically on demand;
 * - what queries need (times, flags, status) lives in compact typed arrays, 18 bytes per row;
 * - mutated and inserted records are kept whole in an overlay map.
 * A slot is a row number; numeric ids are `slot + 1`.
 */

export const RecordFlag = {
  /** Soft-deleted: hidden from list endpoints (deals still answer `status=deleted`). */
  deleted: 1,
  archived: 2,
  /** Hard-deleted: gone from the API and from `fake.list()`. */
  purged: 4,
} as const;

export interface RecordKeys {
  addTime: number;
  updateTime: number;
  flags: number;
  /** Free small integer per collection (deals: status code). */
  category: number;
}

export interface TableSource<T extends JsonObject> {
  /** Number of generated rows. */
  baseCount: number;
  baseKeys(slot: number): RecordKeys;
  generate(slot: number): T;
  /** Recomputes the compact keys of a mutated record. */
  keysOf(record: T): RecordKeys;
  /** Ids other than `slot + 1` (leads use UUIDs). */
  idAt?(slot: number): RecordId;
}

/** A typed array that grows by doubling, for collections that get inserts. */
class GrowableArray<A extends Float64Array | Uint8Array> {
  constructor(
    public values: A,
    private readonly create: (length: number) => A,
  ) {}

  set(index: number, value: number): void {
    if (index >= this.values.length) {
      const bigger = this.create(Math.max(16, this.values.length * 2, index + 1));
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[index] = value;
  }
}

export type SortValue = number | string;

export class EntityTable<T extends JsonObject> {
  private slotCount: number;
  private readonly addTimes: GrowableArray<Float64Array>;
  private readonly updateTimes: GrowableArray<Float64Array>;
  private readonly flagValues: GrowableArray<Uint8Array>;
  private readonly categories: GrowableArray<Uint8Array>;
  private readonly overlay = new Map<number, T>();
  private readonly sortCache = new Map<string, { version: number; order: Int32Array }>();
  private slotById: Map<RecordId, number> | null = null;
  /** Bumped by every mutation; caches of derived orderings compare against it. */
  version = 0;

  constructor(
    readonly name: string,
    private readonly source: TableSource<T>,
  ) {
    const count = source.baseCount;
    this.slotCount = count;
    this.addTimes = new GrowableArray(new Float64Array(count), (n) => new Float64Array(n));
    this.updateTimes = new GrowableArray(new Float64Array(count), (n) => new Float64Array(n));
    this.flagValues = new GrowableArray(new Uint8Array(count), (n) => new Uint8Array(n));
    this.categories = new GrowableArray(new Uint8Array(count), (n) => new Uint8Array(n));
    for (let slot = 0; slot < count; slot++) this.storeKeys(slot, source.baseKeys(slot));
  }

  get size(): number {
    return this.slotCount;
  }

  idAt(slot: number): RecordId {
    return this.source.idAt ? this.source.idAt(slot) : slot + 1;
  }

  slotOf(id: RecordId): number | undefined {
    let slot: number | undefined;
    if (!this.source.idAt) {
      const numeric = typeof id === 'number' ? id : Number(id);
      slot = Number.isInteger(numeric) ? numeric - 1 : undefined;
    } else {
      if (!this.slotById) {
        this.slotById = new Map();
        for (let index = 0; index < this.slotCount; index++)
          this.slotById.set(this.idAt(index), index);
      }
      slot = this.slotById.get(id);
    }
    if (slot === undefined || slot < 0 || slot >= this.slotCount) return undefined;
    return slot;
  }

  /** The record at a slot. Callers must not mutate it (overlay records are shared). */
  record(slot: number): T {
    return this.overlay.get(slot) ?? this.source.generate(slot);
  }

  /** The generated record of a slot, ignoring later changes (generated children hang off it). */
  baseRecord(slot: number): T {
    return this.source.generate(slot);
  }

  updateTime(slot: number): number {
    return this.updateTimes.values[slot];
  }

  addTime(slot: number): number {
    return this.addTimes.values[slot];
  }

  flags(slot: number): number {
    return this.flagValues.values[slot];
  }

  category(slot: number): number {
    return this.categories.values[slot];
  }

  isMutated(slot: number): boolean {
    return this.overlay.has(slot);
  }

  /** Replaces a record (the caller built a new object) and refreshes its compact keys. */
  put(slot: number, record: T): void {
    this.overlay.set(slot, record);
    this.storeKeys(slot, this.source.keysOf(record));
    this.version++;
  }

  /** Appends a record; `build` receives the new slot to derive its id from. */
  append(build: (slot: number, id: RecordId) => T): T {
    const slot = this.slotCount++;
    if (this.slotById) this.slotById.set(this.idAt(slot), slot);
    const record = build(slot, this.idAt(slot));
    this.put(slot, record);
    return record;
  }

  setFlags(slot: number, flags: number): void {
    this.flagValues.set(slot, flags);
    this.version++;
  }

  /**
   * Slots ordered by (key, id) ascending. Numeric ids need no index (slots are in id order);
   * times use a packed numeric sort, anything else a comparator over materialised values.
   */
  orderBy(key: string, valueOf: (slot: number) => SortValue): Int32Array | null {
    if (key === 'id' && !this.source.idAt) return null;
    const cached = this.sortCache.get(key);
    if (cached && cached.version === this.version) return cached.order;
    const order =
      key === 'update_time' || key === 'add_time'
        ? this.sortByTime(key === 'update_time' ? this.updateTimes.values : this.addTimes.values)
        : this.sortByValue(valueOf);
    this.sortCache.set(key, { version: this.version, order });
    return order;
  }

  private sortByTime(times: Float64Array): Int32Array {
    const count = this.slotCount;
    const order = new Int32Array(count);
    // Packing (time, slot) into one double lets the engine's native numeric sort do the work:
    // exact while time < 2^31 s and slot < 2^22, i.e. up to 4 million rows.
    if (count < 1 << 22) {
      const packed = new Float64Array(count);
      for (let slot = 0; slot < count; slot++) packed[slot] = times[slot] * 4194304 + slot;
      packed.sort();
      for (let index = 0; index < count; index++) order[index] = packed[index] % 4194304;
      return order;
    }
    for (let slot = 0; slot < count; slot++) order[slot] = slot;
    return order.sort((left, right) => times[left] - times[right] || left - right);
  }

  private sortByValue(valueOf: (slot: number) => SortValue): Int32Array {
    const values: SortValue[] = new Array(this.slotCount);
    const order = new Int32Array(this.slotCount);
    for (let slot = 0; slot < this.slotCount; slot++) {
      values[slot] = valueOf(slot);
      order[slot] = slot;
    }
    return order.sort(
      (left, right) => compareSortValues(values[left], values[right]) || left - right,
    );
  }

  private storeKeys(slot: number, keys: RecordKeys): void {
    this.addTimes.set(slot, keys.addTime);
    this.updateTimes.set(slot, keys.updateTime);
    this.flagValues.set(slot, keys.flags);
    this.categories.set(slot, keys.category);
  }
}

export function compareSortValues(left: SortValue, right: SortValue): number {
  if (typeof left === 'number' && typeof right === 'number') return left - right;
  const a = String(left);
  const b = String(right);
  return a < b ? -1 : a > b ? 1 : 0;
}
