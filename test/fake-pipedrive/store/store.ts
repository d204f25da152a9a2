import { FakeClock } from '../clock';
import {
  buildActivityTypes,
  buildCurrencies,
  buildLeadLabels,
  buildPipelines,
  buildStages,
  buildTeams,
  buildUsers,
  keysFromTimes,
  stageInfo,
  userKeys,
} from '../data/account';
import { activitySource, noteSource } from '../data/activities';
import { organizationSource, personSource } from '../data/contacts';
import { arraySource, GenerationContext, Timeline } from '../data/context';
import {
  dealProductSum,
  dealSlotOfGeneratedProduct,
  dealSource,
  generateDealProducts,
  generateFlow,
  planDealKinds,
  totalDealSlots,
} from '../data/deals';
import { CustomFieldSpec, FieldCatalog } from '../data/fields';
import { leadIdAt, leadSource, totalLeadSlots } from '../data/leads';
import { productName, productSource } from '../data/products';
import { SECONDS_PER_DAY, toIsoMillis, toV1Time, toV2Time } from '../time';
import {
  CollectionName,
  FieldDefinition,
  FieldEntity,
  FlowItem,
  JsonObject,
  RecordId,
  Sizes,
} from '../types';
import { Mailbox } from './mailbox';
import { ProjectStore } from './projects';
import { SubresourceStore } from './subresources';
import { EntityTable, RecordFlag, TableSource } from './table';
import {
  createWorkspace,
  presentWorkspaceRecord,
  WORKSPACE_BEHAVIOUR,
  WORKSPACE_INSERT_DEFAULTS,
} from './workspace';

/**
 * All collections of the fake account plus the mutations tests use to simulate users at work.
 * Mutations follow Pipedrive: they stamp the update time with the fake clock, deletes are soft
 * (deals keep answering `status=deleted`), and changing a deal writes its flow.
 */

export type TableName = Exclude<CollectionName, 'dealProducts'>;

export type TimeStyle = 'v2' | 'v1' | 'isoMillis' | 'none';

export interface TableBehaviour {
  timeStyle: TimeStyle;
  /** The field a change stamps with "now" (null: the collection has none). */
  updateField: string | null;
  addField: string | null;
  /** What `remove()` does; 'purge' makes the record vanish like a hard delete. */
  removal: JsonObject | 'purge';
}

const V2_REMOVAL = { is_deleted: true };

const BEHAVIOUR: Record<TableName, TableBehaviour> = {
  deals: {
    timeStyle: 'v2',
    updateField: 'update_time',
    addField: 'add_time',
    removal: { status: 'deleted', is_deleted: true },
  },
  persons: {
    timeStyle: 'v2',
    updateField: 'update_time',
    addField: 'add_time',
    removal: V2_REMOVAL,
  },
  organizations: {
    timeStyle: 'v2',
    updateField: 'update_time',
    addField: 'add_time',
    removal: V2_REMOVAL,
  },
  activities: {
    timeStyle: 'v2',
    updateField: 'update_time',
    addField: 'add_time',
    removal: V2_REMOVAL,
  },
  products: {
    timeStyle: 'v2',
    updateField: 'update_time',
    addField: 'add_time',
    removal: V2_REMOVAL,
  },
  pipelines: {
    timeStyle: 'v2',
    updateField: 'update_time',
    addField: 'add_time',
    removal: V2_REMOVAL,
  },
  stages: {
    timeStyle: 'v2',
    updateField: 'update_time',
    addField: 'add_time',
    removal: V2_REMOVAL,
  },
  notes: {
    timeStyle: 'v1',
    updateField: 'update_time',
    addField: 'add_time',
    removal: { active_flag: false },
  },
  users: {
    timeStyle: 'v1',
    updateField: 'modified',
    addField: 'created',
    removal: { active_flag: false },
  },
  activityTypes: {
    timeStyle: 'v1',
    updateField: 'update_time',
    addField: 'add_time',
    removal: { active_flag: false },
  },
  teams: {
    timeStyle: 'v1',
    updateField: null,
    addField: 'add_time',
    removal: { active_flag: 0, deleted_flag: 1 },
  },
  leads: {
    timeStyle: 'isoMillis',
    updateField: 'update_time',
    addField: 'add_time',
    removal: 'purge',
  },
  leadLabels: {
    timeStyle: 'isoMillis',
    updateField: 'update_time',
    addField: 'add_time',
    removal: 'purge',
  },
  currencies: {
    timeStyle: 'none',
    updateField: null,
    addField: null,
    removal: { active_flag: false },
  },
  ...WORKSPACE_BEHAVIOUR,
};

/** Deal fields whose changes Pipedrive logs in the deal's flow. */
const FLOW_LOGGED_DEAL_FIELDS = [
  'title',
  'value',
  'currency',
  'stage_id',
  'pipeline_id',
  'status',
  'owner_id',
  'person_id',
  'org_id',
  'expected_close_date',
  'lost_reason',
];

export class FakeStore {
  readonly context: GenerationContext;
  readonly fields: FieldCatalog;
  readonly tables: Record<TableName, EntityTable<JsonObject>>;
  readonly mailbox: Mailbox;
  private readonly dealProductOverlay = new Map<number, JsonObject[]>();
  private readonly addedDealProductDeal = new Map<number, number>();
  private nextDealProductId: number;
  private readonly addedFlow = new Map<number, FlowItem[]>();
  /** Values of deactivated fields in changed records, by `table:key` and slot, for reactivation. */
  private readonly hiddenValues = new Map<string, Map<number, JsonObject>>();
  private nextFlowId = 2_000_000_000;
  /** Boards, phases, projects and tasks of the Projects add-on, built on first use. */
  readonly projects = new ProjectStore(this);
  /** Followers, deal participants, installments and product variations, per parent. */
  readonly subresources = new SubresourceStore(this);

  constructor(
    seed: number,
    readonly sizes: Sizes,
    private readonly clock: FakeClock,
    companyDomain: string,
  ) {
    const createdAt = clock.nowSeconds();
    this.fields = new FieldCatalog(seed, createdAt - 3 * 365 * SECONDS_PER_DAY);
    const users = buildUsers(seed, sizes, createdAt, companyDomain);
    const stages = buildStages(seed, sizes, createdAt);
    const activityTypes = buildActivityTypes(seed, createdAt);
    const leadLabels = buildLeadLabels(seed, sizes, createdAt);
    const dealKinds = planDealKinds(sizes);
    const totalDeals = totalDealSlots(sizes);
    const totalLeads = totalLeadSlots(sizes);
    this.nextDealProductId = totalDeals * Math.max(1, sizes.productsPerDealMax) + 1;

    this.context = {
      seed,
      sizes,
      createdAt,
      timeline: Timeline.endingAt(createdAt),
      fields: this.fields,
      refs: {
        users: sizes.users,
        organizations: sizes.organizations,
        persons: sizes.persons,
        deals: totalDeals,
        stageIds: stages.map((stage) => stage.id as number),
        leadIdAt: (slot) => leadIdAt(seed, slot),
        leads: totalLeads,
      },
      stages: stageInfo(stages),
      activityTypeKeys: activityTypes
        .filter((type) => type.active_flag === true)
        .map((type) => type.key_string as string),
      leadLabelIds: leadLabels.map((label) => label.id as string),
      companyDomain,
    };

    const workspace = createWorkspace(this.context, users, activityTypes, clock);
    this.mailbox = workspace.mailbox;
    const byTimes = (record: JsonObject) => keysFromTimes(record);
    const uuidAt = (records: JsonObject[]) => (slot: number) =>
      slot < records.length ? (records[slot].id as string) : leadIdAt(seed, 1_000_000 + slot);
    const sources: Record<TableName, TableSource<JsonObject>> = {
      deals: dealSource(this.context, dealKinds),
      persons: personSource(this.context),
      organizations: organizationSource(this.context),
      activities: activitySource(this.context, totalDeals),
      products: productSource(this.context),
      pipelines: arraySource(buildPipelines(seed, sizes, createdAt), byTimes),
      stages: arraySource(stages, byTimes),
      notes: noteSource(this.context, totalDeals),
      users: arraySource(users, userKeys),
      activityTypes: arraySource(activityTypes, byTimes),
      leads: leadSource(this.context),
      leadLabels: arraySource(leadLabels, byTimes, uuidAt(leadLabels)),
      currencies: arraySource(buildCurrencies(), () => ({
        addTime: 0,
        updateTime: 0,
        flags: 0,
        category: 0,
      })),
      teams: arraySource(buildTeams(seed, sizes, createdAt), byTimes),
      ...workspace.sources,
    };
    this.tables = Object.fromEntries(
      Object.entries(sources).map(([name, source]) => [name, new EntityTable(name, source)]),
    ) as Record<TableName, EntityTable<JsonObject>>;
  }

  table(name: TableName): EntityTable<JsonObject> {
    const table = this.tables[name];
    if (!table) throw new Error(`Unknown collection '${name}'`);
    return table;
  }

  /** The record as the API shows it (notes get their joined sub-objects). */
  present(name: TableName, record: JsonObject): JsonObject {
    return name === 'notes' ? this.presentNote(record) : presentWorkspaceRecord(this, name, record);
  }

  find(name: TableName, id: RecordId): { slot: number; record: JsonObject } | undefined {
    const table = this.table(name);
    const slot = table.slotOf(id);
    if (slot === undefined || table.flags(slot) & RecordFlag.purged) return undefined;
    return { slot, record: table.record(slot) };
  }

  /** Every record that still exists (soft-deleted and archived included), in id order. */
  *iterate(name: TableName): IterableIterator<JsonObject> {
    const table = this.table(name);
    for (let slot = 0; slot < table.size; slot++) {
      if (table.flags(slot) & RecordFlag.purged) continue;
      yield this.present(name, table.record(slot));
    }
  }

  // ---- mutations ------------------------------------------------------------------------------

  update(name: TableName, id: RecordId, patch: JsonObject): JsonObject {
    const found = this.require(name, id);
    const before = found.record;
    const after: JsonObject = { ...before, ...patch, id: before.id };
    if (isObject(before.custom_fields) && isObject(patch.custom_fields)) {
      after.custom_fields = { ...before.custom_fields, ...patch.custom_fields };
    }
    const behaviour = BEHAVIOUR[name];
    if (behaviour.updateField && !(behaviour.updateField in patch)) {
      after[behaviour.updateField] = this.stamp(behaviour.timeStyle);
    }
    if (name === 'deals') this.applyDealSideEffects(before, after, patch);
    this.table(name).put(found.slot, after);
    return structuredClone(this.present(name, after));
  }

  insert(name: TableName, partial: JsonObject): JsonObject {
    const behaviour = BEHAVIOUR[name];
    const table = this.table(name);
    const record = table.append((slot, id) => {
      // The generator's row for the new slot supplies realistic values for what `partial` omits.
      const now = this.stamp(behaviour.timeStyle);
      const record: JsonObject = { ...table.baseRecord(slot), ...INSERT_DEFAULTS[name], id };
      if (behaviour.addField) record[behaviour.addField] = now;
      if (behaviour.updateField) record[behaviour.updateField] = now;
      return { ...record, ...partial, id };
    });
    return structuredClone(this.present(name, record));
  }

  remove(name: TableName, id: RecordId): JsonObject | null {
    const found = this.require(name, id);
    const behaviour = BEHAVIOUR[name];
    if (behaviour.removal === 'purge') {
      const table = this.table(name);
      table.setFlags(found.slot, table.flags(found.slot) | RecordFlag.purged);
      return null;
    }
    return this.update(name, id, { ...behaviour.removal });
  }

  archive(name: 'deals' | 'leads', id: RecordId): JsonObject {
    const patch: JsonObject = { is_archived: true };
    if (name === 'deals') patch.archive_time = this.stamp('v2');
    return this.update(name, id, patch);
  }

  addCustomField(entity: FieldEntity, spec: CustomFieldSpec): FieldDefinition {
    const definition = this.fields.addCustomField(entity, spec);
    // Records changed earlier keep a full `custom_fields` object, like fresh ones.
    const table = this.table(TABLE_OF_FIELD_ENTITY[entity]);
    for (let slot = 0; slot < table.size; slot++) {
      if (!table.isMutated(slot)) continue;
      const record = table.record(slot);
      if (isObject(record.custom_fields)) record.custom_fields[definition.key] = null;
    }
    return definition;
  }

  renameCustomField(entity: FieldEntity, key: string, name: string): FieldDefinition {
    return this.fields.rename(entity, key, name, this.clock.nowSeconds());
  }

  /**
   * Generated records follow the catalog by themselves; changed ones hold their values, so they
   * are fixed here: a deactivated field's values are put aside and come back on reactivation
   * (Pipedrive keeps the data of an inactive field).
   */
  setCustomFieldActive(entity: FieldEntity, key: string, active: boolean): FieldDefinition {
    const wasActive = this.fields.customField(entity, key)?.active;
    const definition = this.fields.setActive(entity, key, active, this.clock.nowSeconds());
    if (wasActive === active) return definition;
    for (const holder of this.changedValueHolders(entity)) {
      const stashKey = `${holder.tableName}:${key}`;
      const stash = this.hiddenValues.get(stashKey) ?? new Map<number, JsonObject>();
      this.hiddenValues.set(stashKey, stash);
      if (!active) {
        stash.set(holder.slot, takeValues(holder.record, key, holder.flat));
      } else {
        const kept = stash.get(holder.slot) ?? this.generatedValues(holder, key);
        putValues(holder.record, key, kept, holder.flat);
      }
    }
    if (active) this.forgetHiddenValues(entity, key);
    return definition;
  }

  deleteCustomField(entity: FieldEntity, key: string): void {
    this.fields.remove(entity, key);
    for (const holder of this.changedValueHolders(entity)) {
      takeValues(holder.record, key, holder.flat);
    }
    this.forgetHiddenValues(entity, key);
  }

  moveField(entity: FieldEntity, key: string, position: number): void {
    this.fields.move(entity, key, position);
  }

  // ---- deal products --------------------------------------------------------------------------

  dealProductsOf(dealId: number): JsonObject[] {
    const deals = this.table('deals');
    const slot = deals.slotOf(dealId);
    if (slot === undefined) return [];
    const overlay = this.dealProductOverlay.get(slot);
    if (overlay) return overlay;
    if (slot >= this.context.refs.deals) return [];
    return generateDealProducts(this.context, slot, deals.baseRecord(slot));
  }

  *iterateDealProducts(): IterableIterator<JsonObject> {
    const deals = this.table('deals');
    for (let slot = 0; slot < deals.size; slot++) {
      if (deals.flags(slot) & RecordFlag.purged) continue;
      yield* this.dealProductsOf(slot + 1);
    }
  }

  addDealProduct(dealId: number, partial: JsonObject = {}): JsonObject {
    const deal = this.require('deals', dealId).record;
    const lines = [...this.dealProductsOf(dealId)];
    const products = this.table('products');
    const productId =
      (partial.product_id as number | undefined) ?? 1 + (lines.length % Math.max(1, products.size));
    const product = this.find('products', productId)?.record;
    const price = (product?.prices as JsonObject[] | undefined)?.[0]?.price as number | undefined;
    const now = this.stamp('v2');
    const line: JsonObject = {
      id: this.nextDealProductId++,
      deal_id: dealId,
      product_id: productId,
      product_variation_id: null,
      name: (product?.name as string | undefined) ?? productName(this.context.seed, productId),
      order_nr: lines.length + 1,
      item_price: price ?? 100,
      quantity: 1,
      sum: 0,
      tax: 0,
      tax_method: 'exclusive',
      currency: deal.currency,
      discount: 0,
      discount_type: 'percentage',
      is_enabled: true,
      add_time: now,
      update_time: now,
      comments: '',
      billing_frequency: 'one-time',
      billing_frequency_cycles: null,
      billing_start_date: null,
      ...partial,
    };
    line.sum = dealProductSum(line);
    lines.push(line);
    this.dealProductOverlay.set(dealId - 1, lines);
    this.addedDealProductDeal.set(line.id as number, dealId);
    this.touchDeal(dealId);
    return structuredClone(line);
  }

  updateDealProduct(id: number, patch: JsonObject): JsonObject {
    const { dealId, lines, index } = this.locateDealProduct(id);
    const line: JsonObject = { ...lines[index], ...patch, id, update_time: this.stamp('v2') };
    line.sum = dealProductSum(line);
    const copy = [...lines];
    copy[index] = line;
    this.dealProductOverlay.set(dealId - 1, copy);
    this.touchDeal(dealId);
    return structuredClone(line);
  }

  removeDealProduct(id: number): void {
    const { dealId, lines, index } = this.locateDealProduct(id);
    this.dealProductOverlay.set(
      dealId - 1,
      lines.filter((_, position) => position !== index),
    );
    this.touchDeal(dealId);
  }

  // ---- flow -----------------------------------------------------------------------------------

  /** Flow of a deal, newest first; undefined for unknown deals. */
  flowOf(dealId: number): FlowItem[] | undefined {
    const deals = this.table('deals');
    const slot = deals.slotOf(dealId);
    if (slot === undefined || deals.flags(slot) & RecordFlag.purged) return undefined;
    const generated =
      slot < this.context.refs.deals
        ? generateFlow(this.context, slot, deals.baseRecord(slot))
        : [];
    const added = this.addedFlow.get(slot) ?? [];
    if (added.length === 0) return generated;
    return [...added, ...generated].sort(
      (left, right) =>
        compareText(right.timestamp, left.timestamp) ||
        Number(right.data.id ?? 0) - Number(left.data.id ?? 0),
    );
  }

  addFlowEvent(dealId: number, item: Partial<FlowItem> = {}): FlowItem {
    const slot = this.require('deals', dealId).slot;
    const timestamp = item.timestamp ?? this.stamp('v1');
    const object = item.object ?? 'dealChange';
    const id = this.nextFlowId++;
    const defaults: JsonObject =
      object === 'dealChange'
        ? {
            id,
            item_id: dealId,
            user_id: 1,
            field_key: 'value',
            old_value: null,
            new_value: null,
            is_bulk_update_flag: null,
            log_time: timestamp,
            change_source: 'api',
            change_source_user_agent: 'fake-pipedrive',
            origin: 'api',
            origin_id: null,
            additional_data: [],
          }
        : { id, deal_id: dealId, add_time: timestamp };
    const flowItem: FlowItem = { object, timestamp, data: { ...defaults, ...(item.data ?? {}) } };
    this.addedFlow.set(slot, [...(this.addedFlow.get(slot) ?? []), flowItem]);
    return structuredClone(flowItem);
  }

  // ---- helpers --------------------------------------------------------------------------------

  /** Tables whose records carry the entity's custom values (leads carry the deal fields, flat). */
  private valueTables(entity: FieldEntity): TableName[] {
    const own = TABLE_OF_FIELD_ENTITY[entity];
    return entity === 'deal' ? [own, 'leads'] : [own];
  }

  private forgetHiddenValues(entity: FieldEntity, key: string): void {
    for (const tableName of this.valueTables(entity))
      this.hiddenValues.delete(`${tableName}:${key}`);
  }

  private *changedValueHolders(entity: FieldEntity): IterableIterator<ValueHolder> {
    for (const tableName of this.valueTables(entity)) {
      const table = this.table(tableName);
      for (let slot = 0; slot < table.size; slot++) {
        if (!table.isMutated(slot)) continue;
        yield { tableName, slot, record: table.record(slot), flat: tableName === 'leads' };
      }
    }
  }

  /** What the generator gives a changed record for `key` (the field must be active again). */
  private generatedValues(holder: ValueHolder, key: string): JsonObject {
    return takeValues(this.table(holder.tableName).baseRecord(holder.slot), key, holder.flat);
  }

  nowSeconds(): number {
    return this.clock.nowSeconds();
  }

  stamp(style: TimeStyle): string {
    const now = this.clock.nowSeconds();
    if (style === 'v1') return toV1Time(now);
    if (style === 'isoMillis') return toIsoMillis(now, 0);
    return toV2Time(now);
  }

  private require(name: TableName, id: RecordId): { slot: number; record: JsonObject } {
    const found = this.find(name, id);
    if (!found) throw new Error(`No ${name} record with id ${String(id)}`);
    return found;
  }

  private locateDealProduct(id: number): { dealId: number; lines: JsonObject[]; index: number } {
    const dealId =
      this.addedDealProductDeal.get(id) ?? dealSlotOfGeneratedProduct(this.sizes, id) + 1;
    const lines = this.dealProductsOf(dealId);
    const index = lines.findIndex((line) => line.id === id);
    if (index < 0) throw new Error(`No deal product with id ${id}`);
    return { dealId, lines, index };
  }

  /** Pipedrive bumps a deal's update_time when its products change. */
  private touchDeal(dealId: number): void {
    const found = this.require('deals', dealId);
    this.table('deals').put(found.slot, { ...found.record, update_time: this.stamp('v2') });
  }

  private applyDealSideEffects(before: JsonObject, after: JsonObject, patch: JsonObject): void {
    const dealId = before.id as number;
    if (patch.stage_id !== undefined && patch.stage_id !== before.stage_id) {
      const stage = this.find('stages', patch.stage_id as number)?.record;
      if (stage && patch.pipeline_id === undefined) after.pipeline_id = stage.pipeline_id;
      if (!('stage_change_time' in patch)) after.stage_change_time = this.stamp('v2');
    }
    if (patch.status !== undefined && patch.status !== before.status) {
      const now = this.stamp('v2');
      const today = now.slice(0, 10);
      if (patch.status === 'won' && !('won_time' in patch)) {
        Object.assign(after, { won_time: now, close_time: now, local_won_date: today });
        Object.assign(after, { local_close_date: today });
      }
      if (patch.status === 'lost' && !('lost_time' in patch)) {
        Object.assign(after, { lost_time: now, close_time: now, local_lost_date: today });
        Object.assign(after, { local_close_date: today });
      }
      if (patch.status === 'deleted') after.is_deleted = true;
    }
    const changed = FLOW_LOGGED_DEAL_FIELDS.filter(
      (key) => key in patch && JSON.stringify(before[key]) !== JSON.stringify(after[key]),
    );
    const beforeCustom = (before.custom_fields ?? {}) as JsonObject;
    const afterCustom = (after.custom_fields ?? {}) as JsonObject;
    const changedCustom = Object.keys(
      isObject(patch.custom_fields) ? patch.custom_fields : {},
    ).filter((key) => JSON.stringify(beforeCustom[key]) !== JSON.stringify(afterCustom[key]));
    for (const key of changed) {
      const fieldKey = key === 'owner_id' ? 'user_id' : key;
      this.addFlowEvent(dealId, {
        data: { field_key: fieldKey, old_value: before[key], new_value: after[key] },
      });
    }
    for (const key of changedCustom) {
      this.addFlowEvent(dealId, {
        data: { field_key: key, old_value: beforeCustom[key], new_value: afterCustom[key] },
      });
    }
  }

  private presentNote(note: JsonObject): JsonObject {
    const deal = note.deal_id != null ? this.find('deals', note.deal_id as number) : undefined;
    const person =
      note.person_id != null ? this.find('persons', note.person_id as number) : undefined;
    const organization =
      note.org_id != null ? this.find('organizations', note.org_id as number) : undefined;
    const user = this.find('users', note.user_id as number)?.record;
    return {
      ...note,
      deal: deal ? { title: deal.record.title } : null,
      organization: organization ? { name: organization.record.name } : null,
      person: person ? { name: person.record.name } : null,
      project: null,
      user: user
        ? { email: user.email, icon_url: user.icon_url, is_you: user.is_you, name: user.name }
        : null,
    };
  }
}

const TABLE_OF_FIELD_ENTITY: Record<FieldEntity, TableName> = {
  deal: 'deals',
  person: 'persons',
  organization: 'organizations',
  product: 'products',
  activity: 'activities',
};

/** Values an inserted record starts with, before the caller's fields. */
const INSERT_DEFAULTS: Partial<Record<TableName, JsonObject>> = {
  deals: {
    status: 'open',
    is_deleted: false,
    is_archived: false,
    archive_time: null,
    close_time: null,
    won_time: null,
    lost_time: null,
    lost_reason: null,
    local_won_date: null,
    local_lost_date: null,
    local_close_date: null,
    stage_change_time: null,
  },
  persons: { is_deleted: false },
  organizations: { is_deleted: false },
  activities: { is_deleted: false, done: false, marked_as_done_time: null },
  products: { is_deleted: false },
  notes: { active_flag: true },
  // The template row may be the account owner; a new user is not.
  users: { is_you: false, has_created_company: false, is_admin: 0, active_flag: true },
  leads: { is_archived: false },
  ...WORKSPACE_INSERT_DEFAULTS,
};

interface ValueHolder {
  tableName: TableName;
  slot: number;
  /** The stored record itself: fixed in place, like `addCustomField` does. */
  record: JsonObject;
  /** v1 shape: the values sit at the root as `key` and `key_<part>`. */
  flat: boolean;
}

/** Removes one custom field's values from a record and returns them. */
function takeValues(record: JsonObject, key: string, flat: boolean): JsonObject {
  const taken: JsonObject = {};
  const holder = flat ? record : record.custom_fields;
  if (!isObject(holder)) return taken;
  for (const name of Object.keys(holder)) {
    if (name !== key && !(flat && name.startsWith(`${key}_`))) continue;
    taken[name] = holder[name];
    delete holder[name];
  }
  return taken;
}

function putValues(record: JsonObject, key: string, values: JsonObject, flat: boolean): void {
  if (flat) {
    Object.assign(record, values);
  } else if (isObject(record.custom_fields)) {
    // v2 lists every active field, unset ones as null.
    record.custom_fields[key] = values[key] ?? null;
  }
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function compareText(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}
