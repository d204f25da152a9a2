import { createHash } from 'node:crypto';

import { hashParts, Rng } from '../random';
import { toDateOnly, toTimeOfDay, toV1Time } from '../time';
import { FieldDefinition, FieldEntity, FieldOption, JsonObject } from '../types';
import { ADDRESSES, DEAL_CURRENCIES, formatAddress } from './words';

/**
 * Field definitions (`/v1/{entity}Fields`) and custom-field values in both API dialects.
 *
 * The custom fields are chosen to be awkward: every custom field type Pipedrive documents, two
 * names that collide once snake_cased, a custom field named like a standard one ("Value"),
 * diacritics, a name of punctuation only, a name starting with a digit and an inactive field.
 */

export interface CustomFieldSpec {
  name: string;
  type: string;
  options?: string[];
  active?: boolean;
}

export const CUSTOM_FIELD_SPECS: Record<FieldEntity, CustomFieldSpec[]> = {
  deal: [
    { name: 'Deal Source', type: 'enum', options: ['Inbound', 'Outbound', 'Partner', 'Event'] },
    // Same snake_case name as "Deal Source": the connector has to disambiguate.
    { name: 'deal source', type: 'varchar' },
    { name: 'Número de série', type: 'varchar' },
    { name: '!!!', type: 'text' },
    { name: '2nd Contact', type: 'people' },
    { name: 'Contract Value', type: 'monetary' },
    { name: 'Seats', type: 'int' },
    { name: 'Is Renewal', type: 'boolean' },
    {
      name: 'Industries',
      type: 'set',
      options: ['Retail', 'Finance', 'Healthcare', 'Manufacturing', 'Education', 'Public sector'],
    },
    { name: 'Go-live Date', type: 'date' },
    { name: 'Contract Period', type: 'daterange' },
    { name: 'Billing Address', type: 'address' },
    { name: 'Account Manager', type: 'user' },
    // Same display name as the standard `value` field.
    { name: 'Value', type: 'double' },
    { name: 'Target Stage', type: 'stage' },
    { name: 'Legacy Score', type: 'double', active: false },
  ],
  organization: [
    { name: 'Employees', type: 'int' },
    { name: 'Tier', type: 'varchar_options', options: ['Gold', 'Silver', 'Bronze'] },
    { name: 'Region', type: 'varchar_auto' },
    { name: 'Support Phone', type: 'phone' },
    { name: 'Parent Company', type: 'org' },
    { name: 'Integration Payload', type: 'json' },
    { name: 'Customer Since', type: 'date' },
  ],
  person: [
    { name: 'Preferred Call Time', type: 'time' },
    { name: 'Meeting Window', type: 'timerange' },
    { name: 'Related Lead', type: 'lead' },
    { name: 'Linked Deal', type: 'deal' },
    { name: 'Previous Status', type: 'status' },
    { name: 'Lifetime Value', type: 'monetary' },
  ],
  product: [
    { name: 'SKU Group', type: 'enum', options: ['Software', 'Services', 'Hardware'] },
    { name: 'Launch Date', type: 'date' },
    { name: 'Visibility Override', type: 'visible_to' },
    { name: 'Warranty (years)', type: 'double' },
    { name: 'Logo', type: 'picture' },
  ],
  activity: [
    { name: 'Outcome', type: 'enum', options: ['Connected', 'Voicemail', 'No answer'] },
    { name: 'Call Rating', type: 'int' },
    { name: 'Follow-up Topics', type: 'set', options: ['Pricing', 'Security', 'Integrations'] },
  ],
};

type StandardFieldSpec = [key: string, name: string, type: string, options?: string[]];

const VISIBLE_TO_OPTIONS = ['Owner & followers', 'Entire company'];

const STANDARD_FIELD_SPECS: Record<FieldEntity, StandardFieldSpec[]> = {
  deal: [
    ['id', 'ID', 'int'],
    ['title', 'Title', 'varchar'],
    ['creator_user_id', 'Creator', 'user'],
    ['user_id', 'Owner', 'user'],
    ['value', 'Value', 'monetary'],
    ['currency', 'Currency', 'varchar'],
    ['weighted_value', 'Weighted value', 'monetary'],
    ['probability', 'Probability', 'double'],
    ['org_id', 'Organization', 'org'],
    ['pipeline', 'Pipeline', 'double'],
    ['person_id', 'Contact person', 'people'],
    ['stage_id', 'Stage', 'stage'],
    ['status', 'Status', 'status', ['Open', 'Won', 'Lost', 'Deleted']],
    ['add_time', 'Deal created', 'date'],
    ['update_time', 'Update time', 'date'],
    ['stage_change_time', 'Last stage change', 'date'],
    ['won_time', 'Won time', 'date'],
    ['lost_time', 'Lost time', 'date'],
    ['close_time', 'Deal closed on', 'date'],
    ['lost_reason', 'Lost reason', 'varchar'],
    ['visible_to', 'Visible to', 'visible_to', VISIBLE_TO_OPTIONS],
    ['expected_close_date', 'Expected close date', 'date'],
    ['label', 'Label', 'set', ['Hot', 'Warm', 'Cold']],
    ['origin', 'Source origin', 'varchar'],
    ['channel', 'Source channel', 'enum', ['Web', 'Referral', 'Paid ads']],
  ],
  person: [
    ['id', 'ID', 'int'],
    ['name', 'Name', 'varchar'],
    ['first_name', 'First name', 'varchar'],
    ['last_name', 'Last name', 'varchar'],
    ['owner_id', 'Owner', 'user'],
    ['org_id', 'Organization', 'org'],
    ['email', 'Email', 'varchar'],
    ['phone', 'Phone', 'phone'],
    ['label', 'Label', 'set', ['Customer', 'Hot lead', 'Cold lead']],
    ['visible_to', 'Visible to', 'visible_to', VISIBLE_TO_OPTIONS],
    ['postal_address', 'Postal address', 'address'],
    ['add_time', 'Person created', 'date'],
    ['update_time', 'Update time', 'date'],
  ],
  organization: [
    ['id', 'ID', 'int'],
    ['name', 'Name', 'varchar'],
    ['owner_id', 'Owner', 'user'],
    ['address', 'Address', 'address'],
    ['label', 'Label', 'set', ['Customer', 'Partner', 'Competitor']],
    ['visible_to', 'Visible to', 'visible_to', VISIBLE_TO_OPTIONS],
    ['people_count', 'People', 'int'],
    ['add_time', 'Organization created', 'date'],
    ['update_time', 'Update time', 'date'],
  ],
  product: [
    ['id', 'ID', 'int'],
    ['name', 'Name', 'varchar'],
    ['code', 'Product code', 'varchar'],
    ['description', 'Description', 'text'],
    ['unit', 'Unit', 'varchar'],
    ['tax', 'Tax', 'double'],
    ['category', 'Category', 'enum', ['Licenses', 'Services', 'Hardware']],
    ['owner_id', 'Owner', 'user'],
    ['prices', 'Price', 'price_list'],
    ['billing_frequency', 'Billing frequency', 'billing_frequency'],
    ['visible_to', 'Visible to', 'visible_to', VISIBLE_TO_OPTIONS],
    ['add_time', 'Product created', 'date'],
    ['update_time', 'Update time', 'date'],
  ],
  activity: [
    ['id', 'ID', 'int'],
    ['subject', 'Subject', 'varchar'],
    ['type', 'Type', 'varchar'],
    ['due_date', 'Due date', 'date'],
    ['due_time', 'Due time', 'time'],
    ['duration', 'Duration', 'time'],
    ['deal_id', 'Deal', 'deal'],
    ['lead_id', 'Lead', 'lead'],
    ['person_id', 'Contact person', 'people'],
    ['org_id', 'Organization', 'org'],
    ['user_id', 'Assigned to user', 'user'],
    ['done', 'Done', 'boolean'],
    ['busy_flag', 'Free/busy', 'boolean'],
    ['note', 'Note', 'text'],
    ['public_description', 'Public description', 'text'],
    ['location', 'Location', 'address'],
    ['add_time', 'Add time', 'date'],
    ['update_time', 'Update time', 'date'],
    ['marked_as_done_time', 'Marked as done time', 'date'],
  ],
};

const ADDRESS_PARTS = [
  'subpremise',
  'street_number',
  'route',
  'sublocality',
  'locality',
  'admin_area_level_1',
  'admin_area_level_2',
  'country',
  'postal_code',
  'formatted_address',
] as const;

/** A custom field as the generators need it: definition plus parsed options. */
export interface CustomField {
  key: string;
  /** The name at creation: values derive from it, so renaming a field keeps its values. */
  name: string;
  type: string;
  options: FieldOption[] | null;
  active: boolean;
  /** False for fields added at runtime: records generated earlier have no value for them. */
  generated: boolean;
  /** Hash of the key, mixed into each record's RNG seed for this field. */
  hash: number;
}

export interface ReferenceRanges {
  users: number;
  organizations: number;
  persons: number;
  /** Number of deal slots (ids 1..deals). */
  deals: number;
  stageIds: number[];
  leadIdAt: (slot: number) => string;
  leads: number;
}

/** 40 lowercase hex characters, stable per (seed, entity, name) like a real account's keys. */
export function customFieldKey(seed: number, entity: FieldEntity, name: string): string {
  return createHash('sha1').update(`${seed}:${entity}:${name}`).digest('hex');
}

export class FieldCatalog {
  readonly definitions: Record<FieldEntity, FieldDefinition[]>;
  readonly custom: Record<FieldEntity, CustomField[]>;
  private readonly activeCache: Partial<Record<FieldEntity, CustomField[]>> = {};
  /** Pipedrive never reuses a key, not even a deleted field's. */
  private readonly usedKeys = new Set<string>();
  private readonly historyKeys: Record<FieldEntity, string[]>;
  private nextFieldId = 12_400;
  private nextOptionId = 100;

  constructor(
    private readonly seed: number,
    private readonly createdAt: number,
  ) {
    this.definitions = { deal: [], person: [], organization: [], product: [], activity: [] };
    this.custom = { deal: [], person: [], organization: [], product: [], activity: [] };
    for (const entity of Object.keys(STANDARD_FIELD_SPECS) as FieldEntity[]) {
      for (const [key, name, type, options] of STANDARD_FIELD_SPECS[entity]) {
        this.definitions[entity].push(this.standardDefinition(entity, key, name, type, options));
      }
      for (const spec of CUSTOM_FIELD_SPECS[entity]) this.addCustomField(entity, spec, true);
    }
    this.historyKeys = { deal: [], person: [], organization: [], product: [], activity: [] };
    for (const entity of Object.keys(this.custom) as FieldEntity[]) {
      this.historyKeys[entity] = this.activeCustom(entity).map((field) => field.key);
    }
  }

  /** A field with the name of an existing one gets a key of its own, as in Pipedrive. */
  addCustomField(entity: FieldEntity, spec: CustomFieldSpec, generated = false): FieldDefinition {
    let key = customFieldKey(this.seed, entity, spec.name);
    for (let copy = 2; this.usedKeys.has(key); copy++) {
      key = customFieldKey(this.seed, entity, `${spec.name}#${copy}`);
    }
    this.usedKeys.add(key);
    const options = spec.options ? this.makeOptions(spec.options) : null;
    const field: CustomField = {
      key,
      name: spec.name,
      type: spec.type,
      options,
      active: spec.active ?? true,
      generated,
      hash: hashParts(key),
    };
    this.custom[entity].push(field);
    delete this.activeCache[entity];
    const definition = this.baseDefinition(entity, key, spec.name, spec.type, options);
    Object.assign(definition, {
      last_updated_by_user_id: 1,
      created_by_user_id: 1,
      active_flag: field.active,
      edit_flag: true,
      important_flag: spec.type === 'monetary',
      json_column_flag: spec.type === 'json',
    });
    const subfields = subfieldsOf(key, spec.name, spec.type);
    if (subfields) definition.subfields = subfields;
    this.definitions[entity].push(definition);
    return definition;
  }

  /** Fields whose values records carry (inactive ones keep their values hidden, like Pipedrive). */
  activeCustom(entity: FieldEntity): CustomField[] {
    return (this.activeCache[entity] ??= this.custom[entity].filter((field) => field.active));
  }

  /**
   * The custom fields generated history (deal flow) refers to: frozen at creation, so changing
   * fields later does not rewrite the past.
   */
  historyFieldKeys(entity: FieldEntity): string[] {
    return this.historyKeys[entity];
  }

  customField(entity: FieldEntity, key: string): CustomField | undefined {
    return this.custom[entity].find((field) => field.key === key);
  }

  /** Renames a custom field: same key, same values, new name (and subfield names). */
  rename(entity: FieldEntity, key: string, name: string, at: number): FieldDefinition {
    const { field, definition } = this.requireCustom(entity, key);
    definition.name = name;
    const subfields = subfieldsOf(key, name, field.type);
    if (subfields) definition.subfields = subfields;
    return this.touch(definition, at);
  }

  setActive(entity: FieldEntity, key: string, active: boolean, at: number): FieldDefinition {
    const { field, definition } = this.requireCustom(entity, key);
    field.active = active;
    definition.active_flag = active;
    delete this.activeCache[entity];
    return this.touch(definition, at);
  }

  /** Gone from the definitions and from every record; its key is never handed out again. */
  remove(entity: FieldEntity, key: string): void {
    this.requireCustom(entity, key);
    const custom = this.custom[entity];
    custom.splice(
      custom.findIndex((field) => field.key === key),
      1,
    );
    const definitions = this.definitions[entity];
    definitions.splice(
      definitions.findIndex((field) => field.key === key),
      1,
    );
    delete this.activeCache[entity];
  }

  /** Moves a field (standard or custom) to a 0-based position; `order_nr` follows the list. */
  move(entity: FieldEntity, key: string, position: number): void {
    const list = this.definitions[entity];
    const index = list.findIndex((field) => field.key === key);
    if (index < 0) throw new Error(`No ${entity} field with key ${key}`);
    const [definition] = list.splice(index, 1);
    list.splice(Math.max(0, Math.min(position, list.length)), 0, definition);
    list.forEach((field, at) => {
      field.order_nr = at + 1;
    });
  }

  private requireCustom(
    entity: FieldEntity,
    key: string,
  ): { field: CustomField; definition: FieldDefinition } {
    const field = this.customField(entity, key);
    const definition = this.definitions[entity].find((candidate) => candidate.key === key);
    if (!field || !definition) throw new Error(`No custom ${entity} field with key ${key}`);
    return { field, definition };
  }

  private touch(definition: FieldDefinition, at: number): FieldDefinition {
    definition.update_time = toV1Time(at);
    definition.last_updated_by_user_id = 1;
    return definition;
  }

  private standardDefinition(
    entity: FieldEntity,
    key: string,
    name: string,
    type: string,
    options?: string[],
  ): FieldDefinition {
    return this.baseDefinition(entity, key, name, type, options ? this.makeOptions(options) : null);
  }

  private baseDefinition(
    entity: FieldEntity,
    key: string,
    name: string,
    type: string,
    options: FieldOption[] | null,
  ): FieldDefinition {
    const id = this.nextFieldId++;
    const rng = Rng.for(this.seed, 'field', entity, key);
    const addTime = this.createdAt + rng.int(0, 86_400 * 30);
    return {
      id,
      key,
      name,
      order_nr:
        1 + this.definitions[entity].reduce((max, field) => Math.max(max, field.order_nr), 0),
      field_type: type,
      add_time: toV1Time(addTime),
      update_time: toV1Time(addTime + rng.int(0, 86_400 * 300)),
      last_updated_by_user_id: null,
      created_by_user_id: null,
      active_flag: true,
      edit_flag: false,
      index_visible_flag: true,
      details_visible_flag: true,
      add_visible_flag: rng.chance(0.5),
      important_flag: false,
      bulk_edit_allowed: true,
      searchable_flag: type === 'varchar' || type === 'text',
      filtering_allowed: true,
      sortable_flag: true,
      mandatory_flag: key === 'title' || key === 'name' || key === 'subject',
      options,
      json_column_flag: false,
    };
  }

  private makeOptions(labels: string[]): FieldOption[] {
    return labels.map((label) => ({ id: this.nextOptionId++, label }));
  }
}

function subfieldsOf(key: string, name: string, type: string): JsonObject[] | null {
  if (type === 'monetary') {
    return [{ key: `${key}_currency`, name: `Currency of ${name}`, field_type: 'varchar' }];
  }
  if (type === 'daterange' || type === 'timerange') {
    return [{ key: `${key}_until`, name: `End of ${name}`, field_type: type.replace('range', '') }];
  }
  if (type === 'address') {
    return ADDRESS_PARTS.map((part) => ({
      key: `${key}_${part}`,
      name: `${part.replace(/_/g, ' ')} of ${name}`,
      field_type: 'varchar',
    }));
  }
  return null;
}

/** An address object in v2 shape (`address`, `postal_address`, address custom fields). */
export function addressObject(rng: Rng): JsonObject {
  const parts = rng.pick(ADDRESSES);
  return {
    value: formatAddress(parts),
    country: parts.country,
    admin_area_level_1: parts.admin_area_level_1,
    admin_area_level_2: parts.admin_area_level_2,
    locality: parts.locality,
    sublocality: parts.sublocality,
    route: parts.route,
    street_number: parts.street_number,
    subpremise: rng.chance(0.3) ? `Suite ${rng.int(1, 40)}` : '',
    postal_code: parts.postal_code,
    formatted_address: formatAddress(parts),
  };
}

/**
 * A custom field value in v2 format, or null (unset). `baseTime` anchors date-ish values.
 * The RNG is per (record, field) so adding a field never changes the other fields' values.
 */
export function customValueV2(
  field: CustomField,
  rng: Rng,
  refs: ReferenceRanges,
  baseTime: number,
): unknown {
  if (!field.generated || rng.chance(0.3)) return null;
  const day = 86_400;
  switch (field.type) {
    case 'int':
      return rng.int(1, 5000);
    case 'double':
      return rng.amount(0, 1000);
    case 'monetary':
      return { value: rng.amount(100, 100_000), currency: rng.pick(DEAL_CURRENCIES) };
    case 'boolean':
      return rng.chance(0.5);
    case 'varchar':
    case 'varchar_auto':
      return `${field.name.slice(0, 3).toUpperCase()}-${rng.int(1000, 9999)}`;
    case 'text':
      return `Free text for ${field.name}\nwith a second line and "quotes".`;
    case 'phone':
      return `+372 5${rng.int(100_0000, 999_9999)}`;
    case 'varchar_options':
      return rng.pick(field.options ?? []).label;
    case 'enum':
      return rng.pick(field.options ?? []).id;
    case 'set':
      return (field.options ?? []).filter(() => rng.chance(0.4)).map((option) => option.id);
    case 'date':
      return toDateOnly(baseTime + rng.int(-200, 200) * day);
    case 'daterange': {
      const start = baseTime + rng.int(-100, 100) * day;
      return { value: toDateOnly(start), until: toDateOnly(start + rng.int(30, 365) * day) };
    }
    case 'time':
      return toTimeOfDay(rng.int(8, 17) * 3600 + rng.int(0, 3) * 900);
    case 'timerange': {
      const start = rng.int(8, 15) * 3600;
      return { value: toTimeOfDay(start), until: toTimeOfDay(start + rng.int(1, 3) * 3600) };
    }
    case 'address':
      return addressObject(rng);
    case 'user':
      return rng.int(1, refs.users);
    case 'org':
      return rng.int(1, Math.max(1, refs.organizations));
    case 'people':
      return rng.int(1, Math.max(1, refs.persons));
    case 'deal':
      return rng.int(1, Math.max(1, refs.deals));
    case 'lead':
      return refs.leads > 0 ? refs.leadIdAt(rng.int(0, refs.leads - 1)) : null;
    case 'stage':
      return rng.pick(refs.stageIds);
    case 'status':
      return rng.pick(['open', 'won', 'lost']);
    case 'visible_to':
      return rng.pick([3, 7]);
    case 'picture':
      return rng.int(1, 500);
    case 'json':
      return { source: 'erp', external_id: `ERP-${rng.int(1, 99_999)}`, tags: ['a', 'b'] };
    default:
      return null;
  }
}

/**
 * v1 dialect: values flat at the record root, composite types split into suffixed keys. Unset
 * fields are left out entirely (that is what `/v1/leads` does).
 */
export function flattenCustomFieldsV1(fields: CustomField[], values: JsonObject): JsonObject {
  const flat: JsonObject = {};
  for (const field of fields) {
    const value = values[field.key];
    if (value === null || value === undefined) continue;
    const key = field.key;
    const composite = value as JsonObject;
    switch (field.type) {
      case 'monetary':
        flat[key] = composite.value;
        flat[`${key}_currency`] = composite.currency;
        break;
      case 'enum':
        flat[key] = String(value);
        break;
      case 'set':
        flat[key] = (value as number[]).join(',');
        break;
      case 'daterange':
      case 'timerange':
        flat[key] = composite.value;
        flat[`${key}_until`] = composite.until;
        break;
      case 'address':
        flat[key] = composite.value;
        for (const part of ADDRESS_PARTS) flat[`${key}_${part}`] = composite[part];
        break;
      default:
        flat[key] = value;
    }
  }
  return flat;
}
