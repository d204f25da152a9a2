/**
 * Delete detection for lists that do not return deleted records (persons, organizations,
 * activities, products, notes, leads, files, projects, tasks; deals beyond their 30 days of
 * `status=deleted`).
 *
 * A stream's state keeps the ids the destination holds (`known_ids`: every id alive at the last
 * check plus every id emitted since) and when the last check completed (`deletes_checked_at`).
 * A check, when due, is one id-only pass over the list in id order; an id known but no longer
 * listed was deleted (or merged away, or hidden from the token's user) and gets a tombstone.
 * A check that does not complete tombstones nothing and leaves the state as it was, so the next
 * sync runs it again.
 *
 * The id set is stored compactly: integer ids as runs of consecutive ids (Pipedrive's ids grow
 * one by one per company, so 100,000 ids with scattered deletes take a few thousand runs, about
 * 3 bytes each), other ids (lead UUIDs, hex ids) at about 17 bytes each.
 */
import type { DeleteDetection } from '../config';

export const KNOWN_IDS = 'known_ids';
export const DELETES_CHECKED_AT = 'deletes_checked_at';

const INTERVAL_MS: Record<DeleteDetection, number> = {
  every_sync: 0,
  daily: 86_400_000,
  weekly: 7 * 86_400_000,
  off: Infinity,
};

/** Whether a check is due for a stream last checked at `checkedAt` (RFC 3339, or none). */
export function checkDue(mode: DeleteDetection, checkedAt: unknown, nowMs: number): boolean {
  if (mode === 'off') return false;
  if (typeof checkedAt !== 'string') return true;
  const last = Date.parse(checkedAt);
  // A small allowance: a daily sync that starts a minute earlier than yesterday still checks.
  return Number.isNaN(last) || nowMs - last >= INTERVAL_MS[mode] - 15 * 60_000;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX32 = /^[0-9a-f]{32}$/;

/** A set of record ids: a bitmap for non-negative integers, a set for the rest. */
export class IdSet {
  private bits = new Uint8Array(0);
  private intCount = 0;
  private readonly others = new Set<string>();
  /** Grows with every change: callers cache the encoding by it. */
  version = 0;

  get size(): number {
    return this.intCount + this.others.size;
  }

  add(id: unknown): void {
    if (isSmallInt(id)) {
      this.grow(id);
      const byte = id >> 3;
      const mask = 1 << (id & 7);
      if ((this.bits[byte] & mask) === 0) {
        this.bits[byte] |= mask;
        this.intCount++;
        this.version++;
      }
    } else if (id !== null && id !== undefined && id !== '') {
      const before = this.others.size;
      this.others.add(String(id));
      if (this.others.size !== before) this.version++;
    }
  }

  delete(id: unknown): void {
    if (isSmallInt(id)) {
      const byte = id >> 3;
      const mask = 1 << (id & 7);
      if (byte < this.bits.length && (this.bits[byte] & mask) !== 0) {
        this.bits[byte] &= ~mask;
        this.intCount--;
        this.version++;
      }
    } else if (id !== null && id !== undefined && this.others.delete(String(id))) {
      this.version++;
    }
  }

  has(id: unknown): boolean {
    if (isSmallInt(id)) {
      const byte = id >> 3;
      return byte < this.bits.length && (this.bits[byte] & (1 << (id & 7))) !== 0;
    }
    return this.others.has(String(id));
  }

  /** The ids of this set that `other` lacks, integers as numbers. */
  *without(other: IdSet): IterableIterator<number | string> {
    for (let byte = 0; byte < this.bits.length; byte++) {
      const value = this.bits[byte];
      if (value === 0) continue;
      for (let bit = 0; bit < 8; bit++) {
        if ((value & (1 << bit)) === 0) continue;
        const id = byte * 8 + bit;
        if (!other.has(id)) yield id;
      }
    }
    for (const id of this.others) if (!other.others.has(id)) yield id;
  }

  /** `<runs>;<others>`, each base64url: see the module comment. */
  encode(): string {
    const runs = new VarintWriter();
    let previousEnd = 0;
    let id = 0;
    const limit = this.bits.length * 8;
    while (id < limit) {
      // Skip whole empty bytes fast: most of a sparse bitmap is zero.
      if ((id & 7) === 0 && this.bits[id >> 3] === 0) {
        id += 8;
        continue;
      }
      if (!this.hasInt(id)) {
        id++;
        continue;
      }
      const start = id;
      while (id < limit && this.hasInt(id)) id++;
      runs.write(start - previousEnd);
      runs.write(id - start);
      previousEnd = id;
    }
    const others = new VarintWriter();
    for (const value of [...this.others].sort()) others.writeId(value);
    return `${runs.base64()};${others.base64()}`;
  }

  /** The set of a state value; undefined when it is missing or unreadable (no baseline). */
  static decode(encoded: unknown): IdSet | undefined {
    if (typeof encoded !== 'string') return undefined;
    const [runs, others, extra] = encoded.split(';');
    if (runs === undefined || others === undefined || extra !== undefined) return undefined;
    try {
      const set = new IdSet();
      const reader = new VarintReader(Buffer.from(runs, 'base64url'));
      let position = 0;
      while (!reader.done) {
        const start = position + reader.read();
        const length = reader.read();
        for (let id = start; id < start + length; id++) set.add(id);
        position = start + length;
      }
      const strings = new VarintReader(Buffer.from(others, 'base64url'));
      while (!strings.done) set.add(strings.readId());
      return set;
    } catch {
      return undefined;
    }
  }

  private hasInt(id: number): boolean {
    return (this.bits[id >> 3] & (1 << (id & 7))) !== 0;
  }

  private grow(id: number): void {
    const needed = (id >> 3) + 1;
    if (needed <= this.bits.length) return;
    const next = new Uint8Array(Math.max(needed, this.bits.length * 2, 1024));
    next.set(this.bits);
    this.bits = next;
  }
}

function isSmallInt(id: unknown): id is number {
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < 2 ** 31;
}

class VarintWriter {
  private readonly bytes: number[] = [];

  write(value: number): void {
    let rest = value;
    while (rest >= 0x80) {
      this.bytes.push((rest & 0x7f) | 0x80);
      rest = Math.floor(rest / 128);
    }
    this.bytes.push(rest);
  }

  /** A string id: a UUID or 32-hex id as 16 bytes, anything else as its UTF-8 bytes. */
  writeId(id: string): void {
    if (UUID.test(id) || HEX32.test(id)) {
      this.bytes.push(UUID.test(id) ? 1 : 2);
      const hex = id.replace(/-/g, '');
      for (let i = 0; i < 32; i += 2) this.bytes.push(parseInt(hex.slice(i, i + 2), 16));
      return;
    }
    const utf8 = Buffer.from(id, 'utf8');
    this.bytes.push(0);
    this.write(utf8.length);
    for (const byte of utf8) this.bytes.push(byte);
  }

  base64(): string {
    return Buffer.from(this.bytes).toString('base64url');
  }
}

class VarintReader {
  private offset = 0;

  constructor(private readonly bytes: Buffer) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  read(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.offset >= this.bytes.length) throw new Error('truncated varint');
      const byte = this.bytes[this.offset++];
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
      scale *= 128;
    }
  }

  readId(): string {
    const kind = this.bytes[this.offset++];
    if (kind === 1 || kind === 2) {
      if (this.offset + 16 > this.bytes.length) throw new Error('truncated id');
      const hex = this.bytes.subarray(this.offset, this.offset + 16).toString('hex');
      this.offset += 16;
      if (kind === 2) return hex;
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }
    if (kind !== 0) throw new Error('unknown id kind');
    const length = this.read();
    if (this.offset + length > this.bytes.length) throw new Error('truncated id');
    const text = this.bytes.subarray(this.offset, this.offset + length).toString('utf8');
    this.offset += length;
    return text;
  }
}
