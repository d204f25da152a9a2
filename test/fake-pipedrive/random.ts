/**
 * Seeded, allocation-light randomness. Every generated record gets its own RNG derived from
 * (seed, table, slot), so a record can be rebuilt on demand without generating its neighbours:
 * that is what lets the fake serve a million deals without keeping them in memory.
 */

// Module-level aliases: inside jest's vm sandbox every global lookup (Math, String) goes
// through the context's interceptors, which made these hot loops five times slower.
const imul = Math.imul;
const floor = Math.floor;

/** 32-bit hash of a mix of numbers and strings (FNV-1a over the parts, then a murmur finaliser). */
export function hashParts(...parts: Array<number | string>): number {
  let hash = 0x811c9dc5;
  for (const part of parts) {
    const text = typeof part === 'number' ? `${part}` : part;
    for (let index = 0; index < text.length; index++) {
      hash ^= text.charCodeAt(index);
      hash = imul(hash, 0x01000193);
    }
    // Separator, so ('ab', 'c') and ('a', 'bc') differ.
    hash ^= 0xff;
    hash = imul(hash, 0x01000193);
  }
  return finalise(hash);
}

/** Combines two 32-bit hashes into a new one (cheaper than hashing strings again). */
export function mixHashes(left: number, right: number): number {
  return finalise(imul(left ^ 0x9e3779b9, 0x85ebca6b) ^ right);
}

function finalise(value: number): number {
  let hash = value >>> 0;
  hash ^= hash >>> 16;
  hash = imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** Mulberry32: tiny state, good enough statistics for fake data, very fast. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  static for(...parts: Array<number | string>): Rng {
    return new Rng(hashParts(...parts));
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let value = this.state;
    value = imul(value ^ (value >>> 15), value | 1);
    value ^= value + imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[floor(this.next() * items.length)];
  }

  /** Money-like amount with two decimals. */
  amount(min: number, max: number): number {
    return Math.round((min + this.next() * (max - min)) * 100) / 100;
  }

  hex(length: number): string {
    let text = '';
    while (text.length < length) text += (this.int(0, 0xffff) | 0x10000).toString(16).slice(1);
    return text.slice(0, length);
  }

  /** RFC 4122-looking version 4 UUID. */
  uuid(): string {
    const hex = this.hex(32);
    const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }
}
