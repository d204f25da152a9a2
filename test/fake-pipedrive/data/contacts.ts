import { Rng } from '../random';
import { RecordKeys, TableSource } from '../store/table';
import { SECONDS_PER_DAY, toV2Time } from '../time';
import { JsonObject } from '../types';
import { keysFromTimes } from './account';
import { customFieldsFor, GenerationContext } from './context';
import { addressObject } from './fields';
import { asciiSlug, COMPANY_STEMS, COMPANY_SUFFIXES, FIRST_NAMES, LAST_NAMES } from './words';

/** Persons and organizations (v2 shapes), generated on demand from (seed, slot). */

const DAY = SECONDS_PER_DAY;

/** Keys of a row on the shared time line: created up to `maxAgeDays` before its last update. */
export function timelineKeys(
  context: GenerationContext,
  tag: string,
  slot: number,
  count: number,
  maxAgeDays: number,
): RecordKeys {
  const updateTime = context.timeline.at(slot, count);
  const rng = Rng.for(context.seed, tag, 'keys', slot);
  return { addTime: updateTime - rng.int(0, maxAgeDays * DAY), updateTime, flags: 0, category: 0 };
}

export function organizationName(seed: number, id: number): string {
  const rng = Rng.for(seed, 'organization-name', id);
  const base = `${rng.pick(COMPANY_STEMS)} ${rng.pick(COMPANY_SUFFIXES)}`;
  // Real accounts have duplicate-looking names; keep most unique but not all.
  return id % 10 === 0 ? base : `${base} ${id}`;
}

export function personName(seed: number, id: number): { first: string; last: string } {
  const rng = Rng.for(seed, 'person-name', id);
  return { first: rng.pick(FIRST_NAMES), last: rng.pick(LAST_NAMES) };
}

export function personEmail(seed: number, id: number): string {
  const { first, last } = personName(seed, id);
  return `${asciiSlug(first)}.${asciiSlug(last)}.${id}@example.org`;
}

export function organizationSource(context: GenerationContext): TableSource<JsonObject> {
  const count = context.sizes.organizations;
  const baseKeys = (slot: number) => timelineKeys(context, 'organization', slot, count, 400);
  return {
    baseCount: count,
    baseKeys,
    keysOf: (record) => keysFromTimes(record),
    generate(slot) {
      const id = slot + 1;
      const keys = baseKeys(slot);
      const rng = Rng.for(context.seed, 'organization', slot);
      return {
        id,
        name: organizationName(context.seed, id),
        owner_id: rng.int(1, context.sizes.users),
        add_time: toV2Time(keys.addTime),
        update_time: toV2Time(keys.updateTime),
        is_deleted: false,
        visible_to: rng.pick([3, 3, 7]),
        address: rng.chance(0.7) ? addressObject(rng) : null,
        label_ids: rng.chance(0.3) ? [rng.int(1, 3)] : [],
        custom_fields: customFieldsFor(context, 'organization', id, keys.updateTime),
      };
    },
  };
}

export function personSource(context: GenerationContext): TableSource<JsonObject> {
  const count = context.sizes.persons;
  const baseKeys = (slot: number) => timelineKeys(context, 'person', slot, count, 300);
  return {
    baseCount: count,
    baseKeys,
    keysOf: (record) => keysFromTimes(record),
    generate(slot) {
      const id = slot + 1;
      const keys = baseKeys(slot);
      const rng = Rng.for(context.seed, 'person', slot);
      const { first, last } = personName(context.seed, id);
      const emails = [{ value: personEmail(context.seed, id), primary: true, label: 'work' }];
      if (rng.chance(0.2)) {
        emails.push({
          value: `${asciiSlug(first)}${id}@mail.example`,
          primary: false,
          label: 'home',
        });
      }
      const phones = rng.chance(0.7)
        ? [
            {
              value: `+1 555 ${rng.int(100, 999)} ${rng.int(1000, 9999)}`,
              primary: true,
              label: 'mobile',
            },
          ]
        : [];
      return {
        id,
        name: `${first} ${last}`,
        first_name: first,
        last_name: last,
        owner_id: rng.int(1, context.sizes.users),
        org_id: rng.chance(0.85) ? rng.int(1, Math.max(1, context.sizes.organizations)) : null,
        add_time: toV2Time(keys.addTime),
        update_time: toV2Time(keys.updateTime),
        emails,
        phones,
        is_deleted: false,
        visible_to: rng.pick([3, 3, 7]),
        label_ids: rng.chance(0.25) ? [rng.int(1, 3)] : [],
        picture_id: rng.chance(0.1) ? rng.int(1, 999) : null,
        postal_address: rng.chance(0.2) ? addressObject(rng) : null,
        notes: rng.chance(0.1) ? 'Met at the trade fair.' : null,
        im: [],
        birthday: rng.chance(0.1)
          ? `19${rng.int(60, 99)}-0${rng.int(1, 9)}-1${rng.int(0, 9)}`
          : null,
        job_title: rng.chance(0.5) ? rng.pick(['CEO', 'CTO', 'Buyer', 'Head of Sales']) : null,
        custom_fields: customFieldsFor(context, 'person', id, keys.updateTime),
      };
    },
  };
}
