import { hashParts, mixHashes, Rng } from '../random';
import { RecordKeys, TableSource } from '../store/table';
import { SECONDS_PER_DAY } from '../time';
import { FieldEntity, JsonObject, Sizes } from '../types';
import { customValueV2, FieldCatalog, ReferenceRanges } from './fields';

/** Everything the record generators share: seed, sizes, time line, reference ranges. */
export interface GenerationContext {
  seed: number;
  sizes: Sizes;
  /** The clock at construction; generated history ends just before it. */
  createdAt: number;
  timeline: Timeline;
  fields: FieldCatalog;
  refs: ReferenceRanges;
  stages: StageInfo[];
  activityTypeKeys: string[];
  leadLabelIds: string[];
  companyDomain: string;
}

export interface StageInfo {
  id: number;
  pipelineId: number;
  orderNr: number;
  probability: number;
}

/**
 * Base update times grow with the row number, so generated data already comes sorted by
 * update_time (the common incremental query stays cheap). Every 7th row repeats its
 * predecessor's second: equal update times are common in real accounts and a connector that
 * resumes with `>` instead of `>=` loses records on them.
 */
export class Timeline {
  constructor(
    readonly start: number,
    readonly end: number,
  ) {}

  at(slot: number, count: number): number {
    const position = slot % 7 === 6 ? slot - 1 : slot;
    return this.start + Math.floor((position * (this.end - this.start)) / Math.max(1, count));
  }

  static endingAt(now: number, years = 2): Timeline {
    return new Timeline(now - Math.round(years * 365 * SECONDS_PER_DAY), now - 3600);
  }
}

/** Custom field values for a record: one RNG per (entity, record, field). */
export function customFieldsFor(
  context: GenerationContext,
  entity: FieldEntity,
  recordKey: number | string,
  baseTime: number,
  rngTag: string = entity,
): JsonObject {
  const values: JsonObject = {};
  const recordHash = hashParts(context.seed, rngTag, recordKey);
  for (const field of context.fields.activeCustom(entity)) {
    const rng = new Rng(mixHashes(recordHash, field.hash));
    values[field.key] = customValueV2(field, rng, context.refs, baseTime);
  }
  return values;
}

/** Marks `count` evenly spread rows of `mask` with `value` (skipping rows already marked). */
export function markEvenlySpread(mask: Uint8Array, count: number, value: number, phase: number) {
  const total = mask.length;
  for (let index = 0; index < Math.min(count, total); index++) {
    let slot = Math.floor(((index + phase) * total) / count);
    while (mask[slot] !== 0) slot = (slot + 1) % total;
    mask[slot] = value;
  }
}

/** A small, eagerly built collection (users, stages, …) behind the same table interface. */
export function arraySource<T extends JsonObject>(
  records: T[],
  keysOf: (record: T) => RecordKeys,
  idAt?: (slot: number) => string,
): TableSource<T> {
  return {
    baseCount: records.length,
    baseKeys: (slot) => keysOf(records[slot]),
    // Beyond the end (inserts), an existing row serves as the template of the new one.
    generate: (slot) => structuredClone(records[slot % Math.max(1, records.length)] ?? ({} as T)),
    keysOf,
    idAt: idAt ?? undefined,
  };
}
