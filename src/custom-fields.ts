/**
 * Custom fields: readable column names, JSON-schema types and per-record values.
 *
 * Pipedrive names custom fields by 40-character hashes and hides their values either in a v2
 * `custom_fields` object or flat at the root of v1 objects (leads), with type-dependent
 * companions (`<key>_currency`, `<key>_until`, `<key>_route`, …). `planCustomFields` turns the
 * field definitions into a plan once per stream; `applyV2`/`applyV1` then run per record as a
 * loop over precomputed fields, with no allocation beyond the values they write.
 */
import {
  isPlainObject,
  JsonSchema,
  toBoolean,
  toDate,
  toInteger,
  toNumber,
  toStringValue,
} from './normalize';

export interface FieldDefinition {
  id?: number;
  key: string;
  name: string;
  field_type: string;
  active_flag?: boolean | number;
  edit_flag?: boolean | number;
  options?: Array<{ id: number | string; label: string }> | null;
}

export type CustomFieldNaming = 'name' | 'key';

export interface CustomFieldPlan {
  /** JSON-schema properties to add to the stream schema (all nullable). */
  properties: Record<string, any>;
  /** key -> main column name */
  columns: Map<string, string>;
  /** Catalog columns whose field Pipedrive no longer has (their values stay null). */
  missing: Array<{ key: string; column: string }>;
  /** Active fields the catalog does not know (not emitted until the schema is refreshed). */
  unknown: Array<{ key: string; name: string }>;
  /** Copies values from a v2 record's `custom_fields` object into top-level columns of `out`. */
  applyV2(
    customFields: Record<string, unknown> | null | undefined,
    out: Record<string, unknown>,
  ): void;
  /**
   * Same for v1-shaped records (leads), where values sit flat at the object root (`key`,
   * `key_currency`, `key_until`, `key_formatted_address`, …): reads from `record`, writes named
   * columns into `out`, and deletes the raw hash keys (and their suffixed variants) from `out`.
   * `record` and `out` may be the same object.
   */
  applyV1(record: Record<string, unknown>, out: Record<string, unknown>): void;
}

const CUSTOM_FIELD_KEY_LENGTH = 40;
/** Clash suffixes use this many leading characters of the key: short, and unique in practice. */
const CLASH_SUFFIX_KEY_CHARS = 8;

/** Whether `key` is a custom field key: exactly 40 lowercase hexadecimal characters. */
export function isCustomFieldKey(key: string): boolean {
  if (typeof key !== 'string' || key.length !== CUSTOM_FIELD_KEY_LENGTH) return false;
  for (let index = 0; index < CUSTOM_FIELD_KEY_LENGTH; index++) {
    const code = key.charCodeAt(index);
    const isDigit = code >= 48 && code <= 57;
    const isLowerHexLetter = code >= 97 && code <= 102;
    if (!isDigit && !isLowerHexLetter) return false;
  }
  return true;
}

/**
 * A field name as a snake_case column name: Unicode NFKD with the combining marks (accents)
 * dropped, lowercase, every run of characters outside `[a-z0-9]` as one `_`, no `_` at either
 * end, and `custom_` in front of a leading digit (many destinations reject such identifiers).
 * Letters NFKD does not decompose (`ß`, `ø`, non-Latin scripts) count as "outside [a-z0-9]".
 * Returns '' when nothing is left; the caller falls back to the key.
 */
export function snakeCaseFieldName(name: string): string {
  const snake = String(name ?? '')
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  const firstCode = snake.charCodeAt(0);
  return firstCode >= 48 && firstCode <= 57 ? `custom_${snake}` : snake;
}

/** How a field's value is read and typed; one per group of Pipedrive field types. */
type ValueKind =
  | 'string'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'date'
  | 'enum'
  | 'set'
  | 'monetary'
  | 'daterange'
  | 'timerange'
  | 'address'
  | 'reference'
  | 'leadReference';

/** Field types not listed (varchar, text, phone, time, json, status, …) are strings. */
const VALUE_KIND_BY_FIELD_TYPE = new Map<string, ValueKind>([
  ['int', 'integer'],
  ['double', 'number'],
  ['boolean', 'boolean'],
  ['date', 'date'],
  ['enum', 'enum'],
  ['set', 'set'],
  ['monetary', 'monetary'],
  ['daterange', 'daterange'],
  ['timerange', 'timerange'],
  ['address', 'address'],
  // References to other Pipedrive objects, all with integer ids.
  ['user', 'reference'],
  ['org', 'reference'],
  ['people', 'reference'],
  ['deal', 'reference'],
  ['stage', 'reference'],
  ['pipeline', 'reference'],
  ['product', 'reference'],
  ['activity', 'reference'],
  ['project', 'reference'],
  ['projects_board', 'reference'],
  ['projects_phase', 'reference'],
  // Lead ids are UUIDs, not integers.
  ['lead', 'leadReference'],
]);

function valueKindOf(fieldType: string): ValueKind {
  return VALUE_KIND_BY_FIELD_TYPE.get(fieldType) ?? 'string';
}

const ADDRESS_PARTS = [
  'value',
  'country',
  'admin_area_level_1',
  'admin_area_level_2',
  'locality',
  'sublocality',
  'route',
  'street_number',
  'subpremise',
  'postal_code',
  'formatted_address',
] as const;

type AddressPart = (typeof ADDRESS_PARTS)[number];
type AddressParts = { [P in AddressPart]: string | null };
/** Where each address part is read from: v2 part names, or v1 root keys (`<key>_route`, …). */
type AddressSourceKeys = { readonly [P in AddressPart]: string };

const V2_ADDRESS_KEYS: AddressSourceKeys = Object.freeze(
  Object.fromEntries(ADDRESS_PARTS.map((part) => [part, part])) as AddressSourceKeys,
);

function v1AddressKeys(key: string): AddressSourceKeys {
  // v1 keeps the address as entered under the key itself and every other part as `<key>_<part>`.
  return Object.freeze(
    Object.fromEntries(
      ADDRESS_PARTS.map((part) => [part, part === 'value' ? key : `${key}_${part}`]),
    ) as AddressSourceKeys,
  );
}

/** Suffix of the column that accompanies the main one, per kind ('' when there is none). */
const COMPANION_SUFFIX: Readonly<Record<ValueKind, string>> = {
  string: '',
  integer: '',
  number: '',
  boolean: '',
  date: '',
  enum: '',
  set: '',
  monetary: '_currency',
  daterange: '_until',
  timerange: '_until',
  address: '_parts',
  reference: '',
  leadReference: '',
};

/** Suffixes of the v1 root keys that hold the rest of a value, per kind. */
function v1CompanionSuffixes(kind: ValueKind): string[] {
  switch (kind) {
    case 'monetary':
      return ['_currency'];
    case 'daterange':
    case 'timerange':
      return ['_until'];
    case 'address':
      return ADDRESS_PARTS.filter((part) => part !== 'value').map((part) => `_${part}`);
    default:
      return [];
  }
}

/** Every suffix any kind can add to a key in v1: reserved so that no column can collide. */
const ALL_V1_COMPANION_SUFFIXES = [
  ...new Set([
    ...v1CompanionSuffixes('monetary'),
    ...v1CompanionSuffixes('daterange'),
    ...v1CompanionSuffixes('address'),
    '_parts',
  ]),
];

interface PlannedField {
  readonly key: string;
  readonly kind: ValueKind;
  readonly column: string;
  /** `<column>_currency`, `_until` or `_parts`; '' when the kind has no companion. */
  readonly companionColumn: string;
  /** Option id (as number and as string) → label, for enum and set fields. */
  readonly optionLabels: ReadonlyMap<unknown, string> | null;
  /** v1 root key of the companion value (`<key>_currency`, `<key>_until`); '' when none. */
  readonly v1CompanionKey: string;
  readonly v1AddressKeys: AddressSourceKeys | null;
  /** Raw v1 keys to remove from `out`, minus those the columns overwrite anyway. */
  readonly v1KeysToDelete: readonly string[];
}

function isActive(definition: FieldDefinition): boolean {
  const flag = definition.active_flag;
  return flag === undefined || flag === null || toBoolean(flag) !== false;
}

function optionLabelMap(definition: FieldDefinition): Map<unknown, string> | null {
  const options = definition.options;
  if (!Array.isArray(options) || options.length === 0) return null;
  const labels = new Map<unknown, string>();
  for (const option of options) {
    if (!isPlainObject(option) || option.id === null || option.id === undefined) continue;
    const label = toStringValue(option.label) ?? '';
    // Values arrive as 123 (v2) or '123' (v1): keying both forms avoids converting per value.
    labels.set(option.id, label);
    labels.set(String(option.id), label);
    const numericId = toInteger(option.id);
    if (numericId !== null && String(numericId) === String(option.id)) {
      labels.set(numericId, label);
    }
  }
  return labels;
}

/**
 * The first free name among `base`, `base_<key[0:8]>`, `base_<key>`, `base_<key[0:8]>_2`, …,
 * where "free" covers the companion column too, so a field never half-clashes.
 */
function chooseColumnName(
  base: string,
  key: string,
  companionSuffix: string,
  taken: ReadonlySet<string>,
): string {
  const isFree = (column: string): boolean =>
    !taken.has(column) && (companionSuffix === '' || !taken.has(column + companionSuffix));
  if (isFree(base)) return base;
  const withShortKey = `${base}_${key.slice(0, CLASH_SUFFIX_KEY_CHARS)}`;
  if (isFree(withShortKey)) return withShortKey;
  const withFullKey = `${base}_${key}`;
  if (isFree(withFullKey)) return withFullKey;
  for (let counter = 2; ; counter++) {
    const numbered = `${withShortKey}_${counter}`;
    if (isFree(numbered)) return numbered;
  }
}

function nullable(type: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: ['null', type], ...extra };
}

function fieldDescription(definition: FieldDefinition): string {
  return `${definition.name} (Pipedrive custom field ${definition.key}, type ${definition.field_type})`;
}

/** The schema keyword that ties a column to its Pipedrive field, so read can map by key. */
export const FIELD_KEY_KEYWORD = 'x-pipedrive-field-key';
/** On companion columns: which part of the field they hold (currency, until, parts). */
export const FIELD_PART_KEYWORD = 'x-pipedrive-field-part';

function mainColumnSchema(kind: ValueKind, description: string, key: string): JsonSchema {
  return { ...mainColumnType(kind, description), [FIELD_KEY_KEYWORD]: key };
}

function mainColumnType(kind: ValueKind, description: string): JsonSchema {
  switch (kind) {
    case 'integer':
    case 'reference':
      return nullable('integer', { description });
    case 'number':
    case 'monetary':
      return nullable('number', { description });
    case 'boolean':
      return nullable('boolean', { description });
    case 'date':
    case 'daterange':
      return nullable('string', { format: 'date', description });
    case 'set':
      return nullable('array', { items: nullable('string'), description });
    default:
      return nullable('string', { description });
  }
}

function companionColumnSchema(kind: ValueKind, fieldName: string, key: string): JsonSchema {
  return {
    ...companionColumnType(kind, fieldName),
    [FIELD_KEY_KEYWORD]: key,
    [FIELD_PART_KEYWORD]: COMPANION_SUFFIX[kind].slice(1),
  };
}

function companionColumnType(kind: ValueKind, fieldName: string): JsonSchema {
  switch (kind) {
    case 'monetary':
      return nullable('string', { description: `Currency of ${fieldName}` });
    case 'daterange':
      return nullable('string', { format: 'date', description: `End of ${fieldName}` });
    case 'address':
      return nullable('object', {
        description: `Parts of ${fieldName}`,
        properties: Object.fromEntries(ADDRESS_PARTS.map((part) => [part, nullable('string')])),
      });
    default:
      return nullable('string', { description: `End of ${fieldName}` });
  }
}

/** A custom column of a configured catalog: the field it holds and its declared schema. */
interface PinnedColumn {
  column: string;
  schema: JsonSchema;
  companion?: { column: string; schema: JsonSchema };
}

const KIND_OF_PART: Record<string, ValueKind> = {
  currency: 'monetary',
  until: 'daterange',
  parts: 'address',
};

/**
 * The custom columns of a configured catalog's stream schema, by field key: from the
 * `x-pipedrive-field-key` keyword, or (catalogs discovered before it existed) from the key in
 * the column's description. Companions carry `x-pipedrive-field-part`, or are recognised by
 * their suffix.
 */
export function pinnedColumns(schema: JsonSchema | undefined): Map<string, PinnedColumn> {
  const pins = new Map<string, PinnedColumn>();
  const properties = (schema?.properties ?? {}) as Record<string, JsonSchema>;
  const companions: Array<[string, string, JsonSchema]> = [];
  for (const [column, property] of Object.entries(properties)) {
    if (!isPlainObject(property)) continue;
    const declared = property[FIELD_KEY_KEYWORD];
    const described = /Pipedrive custom field ([0-9a-f]{40})\b/.exec(
      typeof property.description === 'string' ? property.description : '',
    )?.[1];
    const key = typeof declared === 'string' ? declared : described;
    if (!key || !isCustomFieldKey(key)) continue;
    const isCompanion =
      typeof property[FIELD_PART_KEYWORD] === 'string' ||
      (typeof declared !== 'string' &&
        /^(Currency|End|Parts) of /.test(String(property.description)));
    if (isCompanion) companions.push([key, column, property]);
    else if (!pins.has(key)) pins.set(key, { column, schema: property });
  }
  for (const [key, column, schema] of companions) {
    const pin = pins.get(key);
    if (pin && !pin.companion) pin.companion = { column, schema };
  }
  // Catalogs discovered before the keywords: companions are `<column>_currency` and the like.
  for (const pin of pins.values()) {
    if (pin.companion) continue;
    for (const suffix of ['_currency', '_until', '_parts']) {
      const schema = properties[pin.column + suffix];
      if (isPlainObject(schema)) {
        pin.companion = { column: pin.column + suffix, schema };
        break;
      }
    }
  }
  return pins;
}

/**
 * Plans the columns for the custom fields among `definitions`: active fields with a 40-hex key,
 * oldest field (lowest id) first. With `naming: 'name'` a column that clashes with a standard
 * column, with another field's column or with a raw custom field key gets `_` and the first 8
 * characters of the key appended; the older field keeps the plain name, whatever order
 * Pipedrive lists them in.
 *
 * With `catalog` (the stream schema of a configured catalog that has custom columns) the
 * columns are the catalog's, mapped by field key: a field renamed in Pipedrive since discover
 * keeps its column, a field the catalog does not know is left out (`unknown`), and a catalog
 * column whose field is gone stays null (`missing`). Names change only when the user refreshes
 * the source schema.
 */
export function planCustomFields(
  definitions: FieldDefinition[],
  standardColumns: Iterable<string>,
  naming: CustomFieldNaming,
  catalog?: Map<string, PinnedColumn>,
): CustomFieldPlan {
  const customDefinitions: FieldDefinition[] = [];
  const seenKeys = new Set<string>();
  for (const definition of definitions ?? []) {
    if (!isPlainObject(definition) || !isCustomFieldKey(definition.key)) continue;
    // A definition listed twice (pages overlapping while fields change) is planned once.
    if (seenKeys.has(definition.key)) continue;
    seenKeys.add(definition.key);
    customDefinitions.push(definition);
  }
  // Stable, so fields without an id keep Pipedrive's order after the others.
  customDefinitions.sort((a, b) => fieldAge(a) - fieldAge(b));

  const taken = new Set<string>(standardColumns);
  if (naming === 'name') {
    // v1 records carry raw keys at the root; a column named like one would be deleted with them.
    for (const key of seenKeys) {
      taken.add(key);
      for (const suffix of ALL_V1_COMPANION_SUFFIXES) taken.add(key + suffix);
    }
  }

  const properties: Record<string, any> = {};
  const columns = new Map<string, string>();
  const fields: PlannedField[] = [];
  const inactiveV1Keys: string[] = [];
  const unknown: Array<{ key: string; name: string }> = [];
  const missing: Array<{ key: string; column: string }> = [];

  const plan = (
    definition: FieldDefinition,
    kind: ValueKind,
    column: string,
    companionColumn: string,
  ): void => {
    const key = definition.key;
    const companionSuffix = COMPANION_SUFFIX[kind];
    const v1RawKeys = [key, ...v1CompanionSuffixes(kind).map((suffix) => key + suffix)];
    columns.set(key, column);
    fields.push({
      key,
      kind,
      column,
      companionColumn,
      optionLabels: kind === 'enum' || kind === 'set' ? optionLabelMap(definition) : null,
      // v1 names currency and until companions like our columns; address parts differ.
      v1CompanionKey: companionSuffix === '' || kind === 'address' ? '' : key + companionSuffix,
      v1AddressKeys: kind === 'address' ? v1AddressKeys(key) : null,
      // With `naming: 'key'` the raw key is the column: overwriting beats delete-and-add.
      v1KeysToDelete: v1RawKeys.filter((raw) => raw !== column && raw !== companionColumn),
    });
  };

  const live = new Map<string, FieldDefinition>();
  for (const definition of customDefinitions) {
    const key = definition.key;
    const kind = valueKindOf(definition.field_type);
    const pinned = catalog?.has(key) ?? false;
    if (!pinned && (catalog || !isActive(definition))) {
      // Values of deactivated fields (or of fields the catalog does not know) may still come
      // with v1 records but have no column.
      inactiveV1Keys.push(key, ...v1CompanionSuffixes(kind).map((suffix) => key + suffix));
      if (catalog && isActive(definition)) unknown.push({ key, name: String(definition.name) });
      continue;
    }
    live.set(key, definition);
    if (catalog) continue;
    const companionSuffix = COMPANION_SUFFIX[kind];
    const column =
      naming === 'key'
        ? key
        : chooseColumnName(
            snakeCaseFieldName(definition.name) || `custom_${key}`,
            key,
            companionSuffix,
            taken,
          );
    const companionColumn = companionSuffix === '' ? '' : column + companionSuffix;
    taken.add(column);
    properties[column] = mainColumnSchema(kind, fieldDescription(definition), key);
    if (companionColumn !== '') {
      taken.add(companionColumn);
      properties[companionColumn] = companionColumnSchema(kind, definition.name, key);
    }
    plan(definition, kind, column, companionColumn);
  }

  for (const [key, pin] of catalog ?? []) {
    const definition = live.get(key);
    const part = pin.companion?.schema[FIELD_PART_KEYWORD];
    const kind = definition
      ? valueKindOf(definition.field_type)
      : (KIND_OF_PART[typeof part === 'string' ? part : ''] ?? 'string');
    if (!definition) missing.push({ key, column: pin.column });
    // A companion is written only where the catalog has one (a field whose type changed since
    // discover does not grow a column the destination does not expect).
    const companion = COMPANION_SUFFIX[kind] !== '' ? (pin.companion?.column ?? '') : '';
    properties[pin.column] = pin.schema;
    if (companion !== '') properties[companion] = pin.companion!.schema;
    plan(
      definition ?? { key, name: pin.column, field_type: 'varchar' },
      kind,
      pin.column,
      companion,
    );
  }

  return {
    properties,
    columns,
    missing,
    unknown,
    applyV2: compileApplier(fields, [], 'v2') ?? interpretedApplyV2(fields),
    applyV1:
      compileApplier(fields, inactiveV1Keys, 'v1') ?? interpretedApplyV1(fields, inactiveV1Keys),
  };
}

/** Older fields first: Pipedrive's ids grow with creation. */
function fieldAge(definition: FieldDefinition): number {
  const id = Number(definition.id);
  return Number.isFinite(id) ? id : Number.MAX_SAFE_INTEGER;
}

type Applier = (
  source: Record<string, unknown> | null | undefined,
  out: Record<string, unknown>,
) => void;

const EMPTY_SOURCE: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * Holds the companion value (currency, until, address parts) of the field `computeField` last
 * handled: returning it through a slot instead of a pair object keeps records allocation-free.
 */
const companionSlot: { value: unknown } = { value: null };

/**
 * Generates the applier as straight-line code with one `out["column"] = …` per column.
 *
 * Why: V8 turns an object into a slow hash-table ("dictionary mode") object once more than about
 * a dozen properties were added through computed keys (`out[column]`), but allows 128 through
 * literal names. Deals often have dozens of custom fields; with the loop below, 40 fields ran
 * ~10x slower and also slowed down serialising each record. Every name in the generated source
 * is a JSON string literal of a validated key or of a `[a-z0-9_]` column, so nothing from the
 * account can inject code. Returns null where code generation is disabled
 * (`--disallow-code-generation-from-strings`), and the caller falls back to the loop.
 */
function compileApplier(
  fields: readonly PlannedField[],
  inactiveV1Keys: readonly string[],
  version: 'v1' | 'v2',
): Applier | null {
  const literal = (text: string): string => JSON.stringify(text);
  const isV1 = version === 'v1';
  const lines = ['const source = isPlainObject(input) ? input : EMPTY_SOURCE;'];
  const removeLines = (keys: readonly string[]): void => {
    for (const key of keys) lines.push(`if (${literal(key)} in out) delete out[${literal(key)}];`);
  };
  if (isV1) removeLines(inactiveV1Keys);
  fields.forEach((field, index) => {
    const raw = `source[${literal(field.key)}]`;
    const direct = DIRECT_CONVERTERS.has(field.kind) && field.companionColumn === '';
    // The commonest kinds skip computeField's switch: one call per column.
    lines.push(
      direct
        ? `main = ${field.kind}(${raw});`
        : `main = computeField(fields[${index}], ${raw}, ${isV1 ? 'source' : 'null'});`,
    );
    if (field.companionColumn !== '') lines.push('companion = companionSlot.value;');
    if (isV1) removeLines(field.v1KeysToDelete);
    lines.push(`out[${literal(field.column)}] = main;`);
    if (field.companionColumn !== '') {
      lines.push(`out[${literal(field.companionColumn)}] = companion;`);
    }
  });
  const body = [
    "'use strict';",
    'return function apply(input, out) {',
    'let main;',
    'let companion;',
    ...lines,
    '};',
  ].join('\n');
  const parameters = ['fields', 'computeField', 'companionSlot', 'isPlainObject', 'EMPTY_SOURCE'];
  try {
    const factory = new Function(...parameters, ...DIRECT_CONVERTERS.keys(), body);
    return factory(
      fields,
      computeField,
      companionSlot,
      isPlainObject,
      EMPTY_SOURCE,
      ...DIRECT_CONVERTERS.values(),
    ) as Applier;
  } catch {
    return null;
  }
}

/** Kinds whose value is one call on the raw value, by kind name (the generated code's names). */
const DIRECT_CONVERTERS = new Map<ValueKind, (raw: unknown) => unknown>([
  ['string', toStringValue],
  ['integer', toInteger],
  ['number', toNumber],
  ['boolean', toBoolean],
  ['date', toDate],
]);

function interpretedApplyV2(fields: readonly PlannedField[]): Applier {
  return (customFields, out) => {
    const source = isPlainObject(customFields) ? customFields : EMPTY_SOURCE;
    for (let index = 0; index < fields.length; index++) {
      const field = fields[index];
      const main = computeField(field, source[field.key], null);
      out[field.column] = main;
      if (field.companionColumn !== '') out[field.companionColumn] = companionSlot.value;
    }
  };
}

function interpretedApplyV1(
  fields: readonly PlannedField[],
  inactiveV1Keys: readonly string[],
): Applier {
  return (input, out) => {
    const record = input ?? EMPTY_SOURCE;
    removeKeys(inactiveV1Keys, out);
    for (let index = 0; index < fields.length; index++) {
      const field = fields[index];
      // Read first, then delete: `out` may be the v1 record itself.
      const main = computeField(field, record[field.key], record);
      const companion = companionSlot.value;
      removeKeys(field.v1KeysToDelete, out);
      out[field.column] = main;
      if (field.companionColumn !== '') out[field.companionColumn] = companion;
    }
  };
}

function removeKeys(keys: readonly string[], out: Record<string, unknown>): void {
  for (let index = 0; index < keys.length; index++) {
    // `delete` is only paid for keys that are there: it can slow down every later access.
    if (keys[index] in out) delete out[keys[index]];
  }
}

/**
 * One field's value from its raw value: returns the main column's value and leaves the
 * companion column's value (or null) in `companionSlot`. `v1Record` is the v1 object holding
 * the companion values at its root, or null for v2. It only reads, so callers can read every
 * value before they change `out`, which may be the v1 record itself.
 */
function computeField(
  field: PlannedField,
  raw: unknown,
  v1Record: Record<string, unknown> | null,
): unknown {
  let main: unknown;
  let companion: unknown = null;
  switch (field.kind) {
    case 'string':
      main = toStringValue(raw);
      break;
    case 'integer':
      main = toInteger(raw);
      break;
    case 'number':
      main = toNumber(raw);
      break;
    case 'boolean':
      main = toBoolean(raw);
      break;
    case 'date':
      main = toDate(raw);
      break;
    case 'enum':
      main = optionLabel(raw, field.optionLabels);
      break;
    case 'set':
      main = optionLabels(raw, field.optionLabels);
      break;
    case 'reference':
      main = toInteger(referencedId(raw));
      break;
    case 'leadReference':
      main = toStringValue(referencedId(raw));
      break;
    case 'monetary':
      if (isPlainObject(raw)) {
        main = toNumber(raw.value ?? raw.amount);
        companion = toStringValue(raw.currency);
      } else {
        main = toNumber(raw);
        companion = v1Record === null ? null : toStringValue(v1Record[field.v1CompanionKey]);
      }
      break;
    case 'daterange':
    case 'timerange': {
      const convert = field.kind === 'daterange' ? toDate : toStringValue;
      if (isPlainObject(raw)) {
        // v2 says {value, until}; {start, end} and {from, to} cost nothing to accept as well.
        main = convert(raw.value ?? raw.start ?? raw.from);
        companion = convert(raw.until ?? raw.end ?? raw.to);
      } else {
        main = convert(raw);
        companion = v1Record === null ? null : convert(v1Record[field.v1CompanionKey]);
      }
      break;
    }
    case 'address': {
      let parts: AddressParts | null = null;
      if (isPlainObject(raw)) {
        parts = readAddressParts(raw, V2_ADDRESS_KEYS);
      } else if (v1Record !== null && field.v1AddressKeys !== null) {
        const hasAddress = raw !== null && raw !== undefined;
        if (hasAddress || v1Record[field.v1AddressKeys.formatted_address] != null) {
          parts = readAddressParts(v1Record, field.v1AddressKeys);
        }
      } else if (raw !== null && raw !== undefined) {
        parts = addressPartsFromText(toStringValue(raw));
      }
      main = parts === null ? null : displayAddress(parts);
      companion = parts;
      break;
    }
  }
  companionSlot.value = companion;
  return main;
}

/** The id inside a reference: v1 and v2 give `{id, name}`, `{value, name}` or the bare id. */
function referencedId(raw: unknown): unknown {
  if (!isPlainObject(raw)) return raw;
  return raw.id ?? raw.value;
}

function optionLabel(raw: unknown, labels: ReadonlyMap<unknown, string> | null): string | null {
  if (raw === null || raw === undefined || raw === '') return null;
  const id = isPlainObject(raw) ? (raw.id ?? raw.value) : raw;
  if (id === null || id === undefined) return null;
  const label = labels === null ? undefined : labels.get(id);
  // An id with no option (deleted since, or not an id at all) is kept rather than lost.
  return label !== undefined ? label : toStringValue(id);
}

const CHAR_SPACE = 32;

/** Labels of a set value: v2 `[1, 2]`, v1 `'1,2'`, or a single id. Empty sets give null. */
function optionLabels(raw: unknown, labels: ReadonlyMap<unknown, string> | null): string[] | null {
  if (raw === null || raw === undefined) return null;
  const result: string[] = [];
  if (Array.isArray(raw)) {
    for (let index = 0; index < raw.length; index++) {
      const label = optionLabel(raw[index], labels);
      if (label !== null) result.push(label);
    }
  } else if (typeof raw === 'string') {
    // Scanning instead of split(',') spares the intermediate array.
    let start = 0;
    for (;;) {
      let end = raw.indexOf(',', start);
      if (end === -1) end = raw.length;
      let tokenStart = start;
      let tokenEnd = end;
      while (tokenStart < tokenEnd && raw.charCodeAt(tokenStart) === CHAR_SPACE) tokenStart++;
      while (tokenEnd > tokenStart && raw.charCodeAt(tokenEnd - 1) === CHAR_SPACE) tokenEnd--;
      if (tokenEnd > tokenStart) {
        const label = optionLabel(raw.slice(tokenStart, tokenEnd), labels);
        if (label !== null) result.push(label);
      }
      if (end === raw.length) break;
      start = end + 1;
    }
  } else {
    const label = optionLabel(raw, labels);
    if (label !== null) result.push(label);
  }
  return result.length === 0 ? null : result;
}

function readAddressParts(source: Record<string, unknown>, keys: AddressSourceKeys): AddressParts {
  // One literal with a fixed property order: every parts object shares one hidden class.
  return {
    value: toStringValue(source[keys.value]),
    country: toStringValue(source[keys.country]),
    admin_area_level_1: toStringValue(source[keys.admin_area_level_1]),
    admin_area_level_2: toStringValue(source[keys.admin_area_level_2]),
    locality: toStringValue(source[keys.locality]),
    sublocality: toStringValue(source[keys.sublocality]),
    route: toStringValue(source[keys.route]),
    street_number: toStringValue(source[keys.street_number]),
    subpremise: toStringValue(source[keys.subpremise]),
    postal_code: toStringValue(source[keys.postal_code]),
    formatted_address: toStringValue(source[keys.formatted_address]),
  };
}

function addressPartsFromText(text: string | null): AddressParts {
  return {
    value: text,
    country: null,
    admin_area_level_1: null,
    admin_area_level_2: null,
    locality: null,
    sublocality: null,
    route: null,
    street_number: null,
    subpremise: null,
    postal_code: null,
    formatted_address: null,
  };
}

/** The address as one string: Google's formatted address when there is one, else as entered. */
function displayAddress(parts: AddressParts): string | null {
  const formatted = parts.formatted_address;
  return formatted !== null && formatted !== '' ? formatted : parts.value;
}
