import { Rng } from '../random';
import { RecordFlag, RecordKeys, TableSource } from '../store/table';
import { parseRecordTime, SECONDS_PER_DAY, toDateOnly, toV1Time, toV2Time } from '../time';
import { FlowItem, JsonObject, Sizes } from '../types';
import { organizationName, personName } from './contacts';
import { customFieldsFor, GenerationContext, markEvenlySpread } from './context';
import { productName, standardOptionIds } from './products';
import {
  ACTIVITY_SUBJECTS,
  DEAL_CURRENCIES,
  DEAL_TOPICS,
  LOST_REASONS,
  NOTE_SNIPPETS,
} from './words';

/**
 * Deals (v2 shape) with their products and flow. Rows 0..N-1 mix active, archived and deleted
 * deals at fixed, evenly spread positions; everything else is derived from (seed, slot).
 */

const DAY = SECONDS_PER_DAY;

export const DEAL_STATUSES = ['open', 'won', 'lost', 'deleted'] as const;
export type DealStatus = (typeof DEAL_STATUSES)[number];

const ARCHIVED = 1;
const DELETED = 2;

export function totalDealSlots(sizes: Sizes): number {
  return sizes.deals + sizes.archivedDeals + sizes.deletedDeals;
}

/** Which rows are archived or deleted: evenly spread, so every page of ids has a few. */
export function planDealKinds(sizes: Sizes): Uint8Array {
  const total = totalDealSlots(sizes);
  const kinds = new Uint8Array(total);
  markEvenlySpread(kinds, sizes.deletedDeals, DELETED, 0.5);
  markEvenlySpread(kinds, sizes.archivedDeals, ARCHIVED, 0.25);
  return kinds;
}

export function dealKeysOf(record: JsonObject): RecordKeys {
  const addTime = parseRecordTime(record.add_time) ?? 0;
  return {
    addTime,
    updateTime: parseRecordTime(record.update_time) ?? addTime,
    flags:
      (record.is_deleted === true ? RecordFlag.deleted : 0) |
      (record.is_archived === true ? RecordFlag.archived : 0),
    category: Math.max(0, DEAL_STATUSES.indexOf(record.status as DealStatus)),
  };
}

interface DealSkeleton extends RecordKeys {
  status: DealStatus;
  kind: number;
}

export function dealSource(context: GenerationContext, kinds: Uint8Array): TableSource<JsonObject> {
  const total = kinds.length;
  const labels = standardOptionIds(context, 'deal', 'label');
  const channels = standardOptionIds(context, 'deal', 'channel');

  const skeleton = (slot: number): DealSkeleton => {
    const rng = Rng.for(context.seed, 'deal-keys', slot);
    const kind = kinds[slot];
    const onTimeline = context.timeline.at(slot, total);
    const addTime = onTimeline - rng.int(0, 120 * DAY);
    const roll = rng.next();
    let status: DealStatus = roll < 0.6 ? 'open' : roll < 0.85 ? 'won' : 'lost';
    if (kind === ARCHIVED) status = roll < 0.6 ? 'won' : 'lost';
    if (kind === DELETED) status = 'deleted';
    // Deleted deals were deleted recently: older ones are purged by Pipedrive after 30 days.
    const deletedAt = context.createdAt - rng.int(3600, 29 * DAY);
    const updateTime = kind === DELETED ? Math.max(addTime, deletedAt) : onTimeline;
    const flags =
      (kind === DELETED ? RecordFlag.deleted : 0) | (kind === ARCHIVED ? RecordFlag.archived : 0);
    return { addTime, updateTime, flags, category: DEAL_STATUSES.indexOf(status), status, kind };
  };

  return {
    baseCount: total,
    baseKeys: skeleton,
    keysOf: dealKeysOf,
    generate(slot) {
      const id = slot + 1;
      const base = skeleton(slot);
      const rng = Rng.for(context.seed, 'deal', slot);
      const stage = rng.pick(context.stages);
      const personId = rng.chance(0.85) ? rng.int(1, Math.max(1, context.sizes.persons)) : null;
      const orgId = rng.chance(0.8) ? rng.int(1, Math.max(1, context.sizes.organizations)) : null;
      const counterpart =
        orgId !== null
          ? organizationName(context.seed, orgId)
          : personId !== null
            ? personName(context.seed, personId).last
            : 'Unknown';
      const closed = base.status === 'won' || base.status === 'lost' || base.kind === ARCHIVED;
      const closeTime = closed
        ? Math.max(base.addTime, base.updateTime - rng.int(0, 20 * DAY))
        : null;
      const won = base.status === 'won' && closeTime !== null ? closeTime : null;
      const lost = base.status === 'lost' && closeTime !== null ? closeTime : null;
      const stageChange = base.addTime + Math.floor(rng.next() * (base.updateTime - base.addTime));
      return {
        id,
        title: `${counterpart} ${rng.pick(DEAL_TOPICS)}`,
        creator_user_id: rng.int(1, context.sizes.users),
        owner_id: rng.int(1, context.sizes.users),
        value: rng.chance(0.05) ? 0 : rng.amount(500, 250_000),
        person_id: personId,
        org_id: orgId,
        stage_id: stage.id,
        pipeline_id: stage.pipelineId,
        currency: rng.pick(DEAL_CURRENCIES),
        archive_time:
          base.kind === ARCHIVED
            ? toV2Time(Math.max(base.addTime, base.updateTime - rng.int(0, 3 * DAY)))
            : null,
        add_time: toV2Time(base.addTime),
        update_time: toV2Time(base.updateTime),
        stage_change_time: rng.chance(0.7) ? toV2Time(stageChange) : null,
        status: base.status,
        is_archived: base.kind === ARCHIVED,
        is_deleted: base.kind === DELETED,
        probability: rng.chance(0.2) ? rng.int(10, 90) : null,
        lost_reason: lost !== null ? rng.pick(LOST_REASONS) : null,
        visible_to: rng.pick([3, 3, 7]),
        close_time: closeTime !== null ? toV2Time(closeTime) : null,
        won_time: won !== null ? toV2Time(won) : null,
        lost_time: lost !== null ? toV2Time(lost) : null,
        local_won_date: won !== null ? toDateOnly(won) : null,
        local_lost_date: lost !== null ? toDateOnly(lost) : null,
        local_close_date: closeTime !== null ? toDateOnly(closeTime) : null,
        expected_close_date: rng.chance(0.7)
          ? toDateOnly(base.addTime + rng.int(10, 180) * DAY)
          : null,
        label_ids: labels.filter(() => rng.chance(0.2)),
        origin: rng.pick(['ManuallyCreated', 'ManuallyCreated', 'API', 'WebForms', 'Import']),
        origin_id: null,
        channel: rng.chance(0.3) ? rng.pick(channels) : null,
        channel_id: null,
        acv: null,
        arr: null,
        mrr: null,
        custom_fields: customFieldsFor(context, 'deal', id, base.updateTime),
      };
    },
  };
}

/** Deal product ids are `slot * productsPerDealMax + k + 1`: unique without an index. */
export function dealSlotOfGeneratedProduct(sizes: Sizes, dealProductId: number): number {
  return Math.floor((dealProductId - 1) / Math.max(1, sizes.productsPerDealMax));
}

export function generatedDealProductCount(context: GenerationContext, dealSlot: number): number {
  const max = context.sizes.productsPerDealMax;
  if (max <= 0 || context.sizes.products <= 0) return 0;
  const rng = Rng.for(context.seed, 'deal-products', dealSlot);
  return rng.chance(0.4) ? 0 : rng.int(1, max);
}

export function dealProductSum(line: JsonObject): number {
  const gross = (line.item_price as number) * (line.quantity as number);
  const discount = line.discount as number;
  const discounted =
    line.discount_type === 'percentage' ? gross * (1 - discount / 100) : gross - discount;
  const taxed =
    line.tax_method === 'exclusive' ? discounted * (1 + (line.tax as number) / 100) : discounted;
  return Math.round(taxed * 100) / 100;
}

export function generateDealProducts(
  context: GenerationContext,
  dealSlot: number,
  deal: JsonObject,
): JsonObject[] {
  const count = generatedDealProductCount(context, dealSlot);
  const rng = Rng.for(context.seed, 'deal-product-lines', dealSlot);
  const addTime = parseRecordTime(deal.add_time) ?? 0;
  const updateTime = parseRecordTime(deal.update_time) ?? addTime;
  const lines: JsonObject[] = [];
  for (let index = 0; index < count; index++) {
    const productId = rng.int(1, context.sizes.products);
    const added = addTime + Math.floor(rng.next() * (updateTime - addTime));
    const billing = rng.pick(['one-time', 'one-time', 'monthly', 'annually']);
    const line: JsonObject = {
      id: dealSlot * context.sizes.productsPerDealMax + index + 1,
      deal_id: dealSlot + 1,
      // A hard-deleted catalogue product leaves its deal lines behind with product_id null.
      product_id: rng.chance(0.01) ? null : productId,
      product_variation_id: null,
      name: productName(context.seed, productId),
      order_nr: index + 1,
      item_price: rng.amount(10, 2000),
      quantity: rng.int(1, 20),
      sum: 0,
      tax: rng.pick([0, 9, 20]),
      tax_method: rng.pick(['exclusive', 'inclusive', 'none']),
      currency: deal.currency,
      discount: rng.chance(0.7) ? 0 : rng.int(1, 15),
      discount_type: rng.pick(['percentage', 'amount']),
      is_enabled: true,
      add_time: toV2Time(added),
      update_time: toV2Time(added + Math.floor(rng.next() * (updateTime - added))),
      comments: rng.chance(0.2) ? 'Price agreed on the call' : '',
      billing_frequency: billing,
      billing_frequency_cycles: billing === 'one-time' ? null : rng.pick([null, 12]),
      billing_start_date: billing === 'one-time' ? null : toDateOnly(added),
    };
    line.sum = dealProductSum(line);
    lines.push(line);
  }
  return lines;
}

type FlowEventKind = 'stage' | 'value' | 'owner' | 'custom' | 'activity' | 'note';

/** Flow items of a generated deal, newest first, ending in the deal's current stage. */
export function generateFlow(
  context: GenerationContext,
  dealSlot: number,
  deal: JsonObject,
): FlowItem[] {
  const max = context.sizes.flowEventsPerDealMax;
  const rng = Rng.for(context.seed, 'flow', dealSlot);
  const count = max > 0 ? rng.int(0, max) : 0;
  if (count === 0) return [];
  const dealId = dealSlot + 1;
  const addTime = parseRecordTime(deal.add_time) ?? 0;
  const updateTime = parseRecordTime(deal.update_time) ?? addTime;
  const times = Array.from({ length: count }, () =>
    Math.floor(addTime + rng.next() * (updateTime - addTime)),
  ).sort((left, right) => left - right);

  const pipelineStages = context.stages
    .filter((stage) => stage.pipelineId === deal.pipeline_id)
    .sort((left, right) => left.orderNr - right.orderNr);
  const currentStage = Math.max(
    0,
    pipelineStages.findIndex((stage) => stage.id === deal.stage_id),
  );
  const kinds: FlowEventKind[] = times.map(() =>
    rng.pick<FlowEventKind>(['stage', 'stage', 'value', 'owner', 'custom', 'activity', 'note']),
  );
  let stageChanges = kinds.filter((kind) => kind === 'stage').length;
  for (let index = kinds.length - 1; index >= 0 && stageChanges > currentStage; index--) {
    if (kinds[index] === 'stage') {
      kinds[index] = 'value';
      stageChanges--;
    }
  }
  let stagePosition = currentStage - stageChanges;
  const customKeys = context.fields.historyFieldKeys('deal');

  const items: FlowItem[] = times.map((time, index) => {
    const eventId = dealSlot * max + index + 1;
    const userId = rng.int(1, context.sizes.users);
    const change = (fieldKey: string, oldValue: unknown, newValue: unknown): FlowItem => ({
      object: 'dealChange',
      timestamp: toV1Time(time),
      data: {
        id: eventId,
        item_id: dealId,
        user_id: userId,
        field_key: fieldKey,
        old_value: oldValue,
        new_value: newValue,
        is_bulk_update_flag: null,
        log_time: toV1Time(time),
        change_source: rng.pick(['app', 'app', 'api', 'mobile']),
        change_source_user_agent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36',
        origin: 'app',
        origin_id: null,
        additional_data: [],
      },
    });
    switch (kinds[index]) {
      case 'stage': {
        const from = pipelineStages[stagePosition]?.id ?? deal.stage_id;
        const to = pipelineStages[stagePosition + 1]?.id ?? deal.stage_id;
        stagePosition++;
        return change('stage_id', from, to);
      }
      case 'value':
        return change('value', rng.amount(500, 100_000), rng.amount(500, 100_000));
      case 'owner':
        return change('user_id', rng.int(1, context.sizes.users), deal.owner_id);
      case 'custom':
        return change(rng.pick(customKeys), null, `${rng.int(1, 999)}`);
      case 'activity':
        return {
          object: 'activity',
          timestamp: toV1Time(time),
          data: {
            id: 900_000_000 + eventId,
            subject: rng.pick(ACTIVITY_SUBJECTS),
            type: rng.pick(context.activityTypeKeys),
            done: true,
            deal_id: dealId,
            user_id: userId,
            due_date: toDateOnly(time),
            add_time: toV1Time(time),
            marked_as_done_time: toV1Time(time),
          },
        };
      default:
        return {
          object: 'note',
          timestamp: toV1Time(time),
          data: {
            id: 800_000_000 + eventId,
            content: rng.pick(NOTE_SNIPPETS),
            deal_id: dealId,
            user_id: userId,
            add_time: toV1Time(time),
            update_time: toV1Time(time),
            active_flag: true,
          },
        };
    }
  });
  return items.reverse();
}
