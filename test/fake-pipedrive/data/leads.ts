import { Rng } from '../random';
import { RecordFlag, RecordKeys, TableSource } from '../store/table';
import { parseRecordTime, SECONDS_PER_DAY, toDateOnly, toIsoMillis } from '../time';
import { JsonObject, Sizes } from '../types';
import { organizationName } from './contacts';
import { customFieldsFor, GenerationContext, markEvenlySpread } from './context';
import { flattenCustomFieldsV1 } from './fields';
import { DEAL_CURRENCIES, DEAL_TOPICS } from './words';

/**
 * Leads (v1 shape): UUID ids, ISO timestamps with milliseconds, the deal custom fields flat at
 * the root (only those with a value). The last `archivedLeads` rows are archived.
 */

const DAY = SECONDS_PER_DAY;

export function totalLeadSlots(sizes: Sizes): number {
  return sizes.leads + sizes.archivedLeads;
}

export function leadIdAt(seed: number, slot: number): string {
  return Rng.for(seed, 'lead-id', slot).uuid();
}

export function leadKeysOf(record: JsonObject): RecordKeys {
  const addTime = parseRecordTime(record.add_time) ?? 0;
  return {
    addTime,
    updateTime: parseRecordTime(record.update_time) ?? addTime,
    flags: record.is_archived === true ? RecordFlag.archived : 0,
    category: 0,
  };
}

export function leadSource(context: GenerationContext): TableSource<JsonObject> {
  const count = totalLeadSlots(context.sizes);
  // Leads are young: the inbox covers the last ~90 days.
  const start = context.createdAt - 90 * DAY;
  const timeAt = (slot: number) =>
    start + Math.floor((slot * (context.createdAt - 3600 - start)) / Math.max(1, count));
  const archivedMask = new Uint8Array(count);
  markEvenlySpread(archivedMask, context.sizes.archivedLeads, 1, 0.5);
  const isArchived = (slot: number) => archivedMask[slot] === 1;
  const baseKeys = (slot: number): RecordKeys => {
    const updateTime = timeAt(slot);
    const rng = Rng.for(context.seed, 'lead-keys', slot);
    return {
      addTime: updateTime - rng.int(0, 20 * DAY),
      updateTime,
      flags: isArchived(slot) ? RecordFlag.archived : 0,
      category: 0,
    };
  };
  return {
    baseCount: count,
    baseKeys,
    keysOf: leadKeysOf,
    idAt: (slot) => leadIdAt(context.seed, slot),
    generate(slot) {
      const keys = baseKeys(slot);
      const rng = Rng.for(context.seed, 'lead', slot);
      const orgId = rng.chance(0.7) ? rng.int(1, Math.max(1, context.sizes.organizations)) : null;
      const personId =
        orgId === null || rng.chance(0.6) ? rng.int(1, Math.max(1, context.sizes.persons)) : null;
      const fields = context.fields.activeCustom('deal');
      const custom = customFieldsFor(context, 'deal', slot, keys.updateTime, 'lead');
      const viaApi = rng.chance(0.3);
      return {
        id: leadIdAt(context.seed, slot),
        title: `${orgId !== null ? organizationName(context.seed, orgId) : 'Inbound'} ${rng.pick(DEAL_TOPICS)} lead`,
        owner_id: rng.int(1, context.sizes.users),
        creator_id: rng.int(1, context.sizes.users),
        label_ids: context.leadLabelIds.filter(() => rng.chance(0.3)),
        person_id: personId,
        organization_id: orgId,
        source_name: viaApi ? 'API' : 'Manually created',
        origin: viaApi ? 'API' : 'ManuallyCreated',
        origin_id: null,
        channel: null,
        channel_id: null,
        is_archived: isArchived(slot),
        was_seen: rng.chance(0.6),
        value: rng.chance(0.6)
          ? { amount: rng.amount(100, 50_000), currency: rng.pick(DEAL_CURRENCIES) }
          : null,
        expected_close_date: rng.chance(0.4)
          ? toDateOnly(keys.updateTime + rng.int(10, 90) * DAY)
          : null,
        next_activity_id: null,
        add_time: toIsoMillis(keys.addTime, rng.int(0, 999)),
        update_time: toIsoMillis(keys.updateTime, rng.int(0, 999)),
        visible_to: rng.pick(['3', '3', '7']),
        cc_email: `${context.companyDomain}+lead${slot + 1}@pipedrivemail.com`,
        ...flattenCustomFieldsV1(fields, custom),
      };
    },
  };
}
