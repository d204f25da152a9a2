import { generateDealProducts } from '../data/deals';
import {
  FollowedTable,
  generateDealParticipants,
  generateFollowers,
  generateInstallments,
  generateVariations,
  installmentsAllowed,
} from '../data/subresources';
import { toDateOnly } from '../time';
import { JsonObject } from '../types';
import type { FakeStore } from './store';

/**
 * Followers, deal participants, deal installments and product variations. A parent's list is
 * generated until it first changes; then the changed list lives in an overlay, like deal
 * products. None of these changes moves the parent's update_time: they are records of their
 * own with their own endpoints (and change logs), not fields of the parent.
 */

type Kind = 'followers' | 'participants' | 'installments' | 'variations';

export class SubresourceStore {
  private readonly overlays = new Map<string, JsonObject[]>();
  private readonly nextIds = new Map<Kind, number>();

  constructor(private readonly store: FakeStore) {}

  // ---- followers (v2) ---------------------------------------------------------------------------

  /** undefined: no such parent. */
  followersOf(table: FollowedTable, id: number): JsonObject[] | undefined {
    const slot = this.parentSlot(table, id);
    if (slot === undefined) return undefined;
    return this.current(`followers:${table}:${slot}`, () =>
      slot < this.generatedParents(table)
        ? generateFollowers(this.store.context, table, slot, this.baseParent(table, slot))
        : [],
    );
  }

  addFollower(table: FollowedTable, id: number, userId: number): JsonObject {
    const followers = this.requireList(this.followersOf(table, id), table, id);
    if (!this.store.find('users', userId)) throw new Error(`No users record with id ${userId}`);
    if (followers.some((follower) => follower.user_id === userId)) {
      throw new Error(`User ${userId} already follows ${table} ${id}`);
    }
    const follower = { user_id: userId, add_time: this.store.stamp('v2') };
    this.replace(`followers:${table}:${this.parentSlot(table, id)}`, [...followers, follower]);
    return structuredClone(follower);
  }

  removeFollower(table: FollowedTable, id: number, userId: number): void {
    const followers = this.requireList(this.followersOf(table, id), table, id);
    if (!followers.some((follower) => follower.user_id === userId)) {
      throw new Error(`User ${userId} does not follow ${table} ${id}`);
    }
    this.replace(
      `followers:${table}:${this.parentSlot(table, id)}`,
      followers.filter((follower) => follower.user_id !== userId),
    );
  }

  // ---- deal participants (v1) ---------------------------------------------------------------------

  /** Stored rows `{id, deal_id, person_id, add_time, added_by_user_id}`; undefined: no such deal. */
  dealParticipantsOf(dealId: number): JsonObject[] | undefined {
    const slot = this.parentSlot('deals', dealId);
    if (slot === undefined) return undefined;
    return this.current(`participants:${slot}`, () =>
      slot < this.generatedParents('deals')
        ? generateDealParticipants(this.store.context, slot, this.baseParent('deals', slot))
        : [],
    );
  }

  addDealParticipant(dealId: number, personId: number, addedByUserId = 1): JsonObject {
    const participants = this.requireList(this.dealParticipantsOf(dealId), 'deals', dealId);
    if (!this.store.find('persons', personId)) {
      throw new Error(`No persons record with id ${personId}`);
    }
    if (participants.some((participant) => participant.person_id === personId)) {
      throw new Error(`Person ${personId} already participates in deal ${dealId}`);
    }
    const participant = {
      id: this.allocate(
        'participants',
        'deals',
        this.store.context.sizes.dealParticipantsPerDealMax,
      ),
      deal_id: dealId,
      person_id: personId,
      add_time: this.store.stamp('v1'),
      added_by_user_id: addedByUserId,
    };
    this.replace(`participants:${this.parentSlot('deals', dealId)}`, [
      ...participants,
      participant,
    ]);
    return structuredClone(participant);
  }

  removeDealParticipant(dealId: number, participantId: number): void {
    const participants = this.requireList(this.dealParticipantsOf(dealId), 'deals', dealId);
    this.replace(
      `participants:${this.parentSlot('deals', dealId)}`,
      this.without(participants, participantId, `deal ${dealId} participant`),
    );
  }

  // ---- deal installments (v2) -------------------------------------------------------------------

  /** Unknown deals have none (the batch endpoint ignores them, like deal products). */
  installmentsOf(dealId: number): JsonObject[] {
    const slot = this.parentSlot('deals', dealId);
    if (slot === undefined) return [];
    return this.current(`installments:${slot}`, () => {
      if (slot >= this.generatedParents('deals')) return [];
      const deal = this.baseParent('deals', slot);
      const lines = generateDealProducts(this.store.context, slot, deal);
      return generateInstallments(this.store.context, slot, deal, lines);
    });
  }

  addInstallment(dealId: number, partial: JsonObject = {}): JsonObject {
    if (this.parentSlot('deals', dealId) === undefined) {
      throw new Error(`No deals record with id ${dealId}`);
    }
    // Pipedrive refuses (400) installments on deals with recurring products or none at all.
    if (!installmentsAllowed(this.store.dealProductsOf(dealId))) {
      throw new Error(`Deal ${dealId} needs one-time products only to take installments`);
    }
    const installment: JsonObject = {
      id: this.allocate('installments', 'deals', this.store.context.sizes.installmentsPerDealMax),
      amount: 100,
      billing_date: toDateOnly(this.store.nowSeconds()),
      description: 'Installment',
      ...partial,
      deal_id: dealId,
    };
    const slot = this.parentSlot('deals', dealId);
    this.replace(`installments:${slot}`, [...this.installmentsOf(dealId), installment]);
    return structuredClone(installment);
  }

  updateInstallment(dealId: number, id: number, patch: JsonObject): JsonObject {
    const installments = this.installmentsOf(dealId);
    const index = installments.findIndex((installment) => installment.id === id);
    if (index < 0) throw new Error(`No installment ${id} on deal ${dealId}`);
    const updated = { ...installments[index], ...patch, id, deal_id: dealId };
    const copy = [...installments];
    copy[index] = updated;
    this.replace(`installments:${this.parentSlot('deals', dealId)}`, copy);
    return structuredClone(updated);
  }

  removeInstallment(dealId: number, id: number): void {
    this.replace(
      `installments:${this.parentSlot('deals', dealId)}`,
      this.without(this.installmentsOf(dealId), id, `deal ${dealId} installment`),
    );
  }

  // ---- product variations (v2) --------------------------------------------------------------------

  /** undefined: no such product. */
  variationsOf(productId: number): JsonObject[] | undefined {
    const slot = this.parentSlot('products', productId);
    if (slot === undefined) return undefined;
    return this.current(`variations:${slot}`, () =>
      slot < this.generatedParents('products')
        ? generateVariations(this.store.context, slot, this.baseParent('products', slot))
        : [],
    );
  }

  addVariation(productId: number, partial: JsonObject = {}): JsonObject {
    const variations = this.requireList(this.variationsOf(productId), 'products', productId);
    const id = this.allocate(
      'variations',
      'products',
      this.store.context.sizes.variationsPerProductMax,
    );
    const variation = this.withPrices({
      name: `Variation ${id}`,
      ...partial,
      id,
      product_id: productId,
    });
    this.replace(`variations:${this.parentSlot('products', productId)}`, [
      ...variations,
      variation,
    ]);
    return structuredClone(variation);
  }

  updateVariation(productId: number, id: number, patch: JsonObject): JsonObject {
    const variations = this.requireList(this.variationsOf(productId), 'products', productId);
    const index = variations.findIndex((variation) => variation.id === id);
    if (index < 0) throw new Error(`No variation ${id} of product ${productId}`);
    const updated = this.withPrices({ ...variations[index], ...patch, id, product_id: productId });
    const copy = [...variations];
    copy[index] = updated;
    this.replace(`variations:${this.parentSlot('products', productId)}`, copy);
    return structuredClone(updated);
  }

  removeVariation(productId: number, id: number): void {
    const variations = this.requireList(this.variationsOf(productId), 'products', productId);
    this.replace(
      `variations:${this.parentSlot('products', productId)}`,
      this.without(variations, id, `product ${productId} variation`),
    );
  }

  // ---- helpers --------------------------------------------------------------------------------------

  private parentSlot(table: FollowedTable, id: number): number | undefined {
    return this.store.find(table, id)?.slot;
  }

  /** Parents beyond these rows were inserted by a test and start without children. */
  private generatedParents(table: FollowedTable): number {
    const { refs, sizes } = this.store.context;
    return table === 'deals' ? refs.deals : sizes[table];
  }

  /** Children hang off the generated parent, so they do not change when the parent is edited. */
  private baseParent(table: FollowedTable, slot: number): JsonObject {
    return this.store.table(table).baseRecord(slot);
  }

  private current(key: string, generate: () => JsonObject[]): JsonObject[] {
    return this.overlays.get(key) ?? generate();
  }

  private replace(key: string, list: JsonObject[]): void {
    this.overlays.set(key, list);
  }

  private requireList(
    list: JsonObject[] | undefined,
    table: FollowedTable,
    id: number,
  ): JsonObject[] {
    if (!list) throw new Error(`No ${table} record with id ${id}`);
    return list;
  }

  private without(list: JsonObject[], id: number, what: string): JsonObject[] {
    if (!list.some((item) => item.id === id)) throw new Error(`No ${what} with id ${id}`);
    return list.filter((item) => item.id !== id);
  }

  /** Ids of added children start above every generated one of their kind. */
  private allocate(kind: Kind, parents: FollowedTable, perParent: number): number {
    const next =
      this.nextIds.get(kind) ?? this.generatedParents(parents) * Math.max(1, perParent) + 1;
    this.nextIds.set(kind, next + 1);
    return next;
  }

  /** Without prices Pipedrive gives a variation one free price in the default currency. */
  private withPrices(variation: JsonObject): JsonObject {
    const prices = Array.isArray(variation.prices)
      ? (variation.prices as JsonObject[])
      : [{ currency: 'EUR', price: 0, cost: 0, direct_cost: 0, notes: '' }];
    return {
      ...variation,
      prices: prices.map((price) => ({
        cost: 0,
        direct_cost: null,
        notes: '',
        ...price,
        product_variation_id: variation.id,
      })),
    };
  }
}
