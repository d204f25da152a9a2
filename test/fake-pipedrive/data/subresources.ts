import { Rng } from '../random';
import { parseRecordTime, SECONDS_PER_DAY, toDateOnly, toV1Time, toV2Time } from '../time';
import { JsonObject } from '../types';
import { GenerationContext } from './context';

/**
 * Lists that hang off one parent record and have endpoints of their own: followers of deals,
 * persons, organizations and products (v2), deal participants (v1), deal installments and
 * product variations (v2). Generated from (seed, parent slot) and the parent's generated
 * record, like deal products, so they cost nothing until asked for.
 */

const DAY = SECONDS_PER_DAY;

export type FollowedTable = 'deals' | 'persons' | 'organizations' | 'products';

const VARIANT_NAMES = ['Starter', 'Standard', 'Premium', 'Large', 'Annual', 'Refill'];

function timesOf(parent: JsonObject, fallback: number): { added: number; updated: number } {
  const added = parseRecordTime(parent.add_time) ?? fallback;
  return { added, updated: Math.max(added, parseRecordTime(parent.update_time) ?? added) };
}

/** Distinct ids in 1..range, starting with `first` when given. */
function distinctIds(rng: Rng, count: number, range: number, first: number | null): number[] {
  const ids: number[] = [];
  const seen = new Set<number>();
  for (let index = 0; index < Math.min(count, range); index++) {
    let id = index === 0 && first !== null ? first : rng.int(1, range);
    while (seen.has(id)) id = (id % range) + 1;
    seen.add(id);
    ids.push(id);
  }
  return ids;
}

/** v2 followers `{user_id, add_time}`: the owner from the record's creation, then colleagues. */
export function generateFollowers(
  context: GenerationContext,
  table: FollowedTable,
  slot: number,
  parent: JsonObject,
): JsonObject[] {
  const rng = Rng.for(context.seed, 'followers', table, slot);
  const count = rng.int(0, Math.max(0, context.sizes.followersPerItemMax));
  const { added, updated } = timesOf(parent, context.createdAt);
  const owner = typeof parent.owner_id === 'number' ? parent.owner_id : null;
  // Pipedrive makes the owner a follower when the record is created.
  return distinctIds(rng, count, context.sizes.users, owner).map((userId, index) => ({
    user_id: userId,
    add_time: toV2Time(index === 0 ? added : added + Math.floor(rng.next() * (updated - added))),
  }));
}

/**
 * A deal's participants as stored: `{id, deal_id, person_id, add_time, added_by_user_id}`;
 * the endpoint joins the person, organization and user objects of the v1 answer. The deal's
 * contact person is its first participant (Pipedrive adds it with the deal).
 */
export function generateDealParticipants(
  context: GenerationContext,
  dealSlot: number,
  deal: JsonObject,
): JsonObject[] {
  const max = context.sizes.dealParticipantsPerDealMax;
  const contact = typeof deal.person_id === 'number' ? deal.person_id : null;
  if (max <= 0) return [];
  const rng = Rng.for(context.seed, 'deal-participants', dealSlot);
  const count = rng.int(contact !== null ? 1 : 0, max);
  const { added, updated } = timesOf(deal, context.createdAt);
  const addedBy = (deal.creator_user_id ?? deal.owner_id ?? 1) as number;
  return distinctIds(rng, count, context.sizes.persons, contact).map((personId, index) => ({
    id: dealSlot * max + index + 1,
    deal_id: dealSlot + 1,
    person_id: personId,
    add_time: toV1Time(index === 0 ? added : added + Math.floor(rng.next() * (updated - added))),
    added_by_user_id: index === 0 ? addedBy : rng.int(1, Math.max(1, context.sizes.users)),
  }));
}

/** Pipedrive allows installments only on deals whose products are all one-time (at least one). */
export function installmentsAllowed(dealProducts: JsonObject[]): boolean {
  return (
    dealProducts.length > 0 && dealProducts.every((line) => line.billing_frequency === 'one-time')
  );
}

/** Half of the eligible deals split the sum of their products into monthly installments. */
export function generateInstallments(
  context: GenerationContext,
  dealSlot: number,
  deal: JsonObject,
  dealProducts: JsonObject[],
): JsonObject[] {
  const max = context.sizes.installmentsPerDealMax;
  if (max <= 0 || !installmentsAllowed(dealProducts)) return [];
  const rng = Rng.for(context.seed, 'installments', dealSlot);
  if (!rng.chance(0.5)) return [];
  const count = rng.int(1, max);
  const totalCents = Math.round(
    dealProducts.reduce((sum, line) => sum + (line.sum as number), 0) * 100,
  );
  const share = Math.floor(totalCents / count);
  const first =
    parseRecordTime(deal.close_time) ?? parseRecordTime(deal.add_time) ?? context.createdAt;
  return Array.from({ length: count }, (_, index) => ({
    id: dealSlot * max + index + 1,
    // The last one takes the rounding remainder, so the installments add up to the products.
    amount: (index === count - 1 ? totalCents - share * (count - 1) : share) / 100,
    billing_date: toDateOnly(first + index * 30 * DAY),
    description:
      count === 1
        ? 'Full payment'
        : index === 0
          ? 'Down payment'
          : `Installment ${index + 1} of ${count}`,
    deal_id: dealSlot + 1,
  }));
}

/** A third of the products come in variations, priced in the product's currencies. */
export function generateVariations(
  context: GenerationContext,
  productSlot: number,
  product: JsonObject,
): JsonObject[] {
  const max = context.sizes.variationsPerProductMax;
  if (max <= 0) return [];
  const rng = Rng.for(context.seed, 'variations', productSlot);
  if (!rng.chance(0.35)) return [];
  const count = rng.int(1, max);
  const prices = (product.prices ?? []) as JsonObject[];
  const round = (value: number) => Math.round(value * 100) / 100;
  return Array.from({ length: count }, (_, index) => {
    const id = productSlot * max + index + 1;
    const factor = 1 + 0.15 * (index + 1);
    return {
      id,
      name: `${String(product.name)} ${VARIANT_NAMES[(productSlot + index) % VARIANT_NAMES.length]}`,
      product_id: productSlot + 1,
      prices: prices.map((price) => ({
        product_variation_id: id,
        currency: price.currency,
        price: round((price.price as number) * factor),
        cost: round((price.cost as number) * factor),
        direct_cost:
          price.direct_cost === null ? null : round((price.direct_cost as number) * factor),
        notes: '',
      })),
    };
  });
}
