import Ajv from 'ajv';
import addFormats from 'ajv-formats';

import {
  CustomFieldNaming,
  FieldDefinition,
  isCustomFieldKey,
  pinnedColumns,
  planCustomFields,
  snakeCaseFieldName,
} from '../src/custom-fields';
import { compileSchemaCoercer } from '../src/normalize';

/** A 40-hex key whose first 8 characters (the clash suffix) are `prefix`. */
function keyStartingWith(prefix: string): string {
  return (prefix + '0123456789abcdef'.repeat(3)).slice(0, 40);
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
];

function newAjv(): Ajv {
  const ajv = new Ajv({ allowUnionTypes: true, allErrors: true });
  addFormats(ajv);
  ajv.addKeyword('x-pipedrive-field-key');
  ajv.addKeyword('x-pipedrive-field-part');
  return ajv;
}

/** Properties without their descriptions, which only help humans. */
function withoutDescriptions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDescriptions);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([name]) => name !== 'description' && !name.startsWith('x-pipedrive-field-'))
      .map(([name, inner]) => [name, withoutDescriptions(inner)]),
  );
}

function field(key: string, name: string, fieldType = 'varchar', extra = {}): FieldDefinition {
  return { key, name, field_type: fieldType, ...extra };
}

/**
 * The plan's appliers are generated code, with a loop as fallback where code generation is
 * disabled; the value tests run against both. The fallback is forced by making `Function`
 * throw the way `--disallow-code-generation-from-strings` does.
 */
type Applier = 'generated code' | 'loop fallback';
const APPLIERS: Applier[] = ['generated code', 'loop fallback'];

function planWith(
  applier: Applier,
  definitions: FieldDefinition[],
  standardColumns: Iterable<string>,
  naming: CustomFieldNaming,
) {
  if (applier === 'generated code') return planCustomFields(definitions, standardColumns, naming);
  const originalFunction = globalThis.Function;
  globalThis.Function = function disallowed() {
    throw new EvalError('Code generation from strings disallowed for this context');
  } as unknown as FunctionConstructor;
  try {
    return planCustomFields(definitions, standardColumns, naming);
  } finally {
    globalThis.Function = originalFunction;
  }
}

describe('isCustomFieldKey', () => {
  it.each<[string, unknown, boolean]>([
    ['40 lowercase hex', '9dc80c50d78a15643bfc4ca79d76156a73a1ca0e', true],
    ['all digits', '0'.repeat(40), true],
    ['all letters', 'f'.repeat(40), true],
    ['uppercase hex', '9DC80C50D78A15643BFC4CA79D76156A73A1CA0E', false],
    ['39 characters', 'a'.repeat(39), false],
    ['41 characters', 'a'.repeat(41), false],
    ['a non-hex letter', 'g' + 'a'.repeat(39), false],
    ['a v1 companion key', '9dc80c50d78a15643bfc4ca79d76156a73a1ca0e_currency', false],
    ['a standard key', 'title', false],
    ['empty', '', false],
    ['not a string', 12345, false],
    ['null', null, false],
  ])('%s → %p', (_label, key, expected) => {
    expect(isCustomFieldKey(key as string)).toBe(expected);
  });
});

describe('snakeCaseFieldName', () => {
  it.each<[string, string]>([
    ['Número de série', 'numero_de_serie'],
    // ß has no decomposition, so it is a character outside [a-z0-9] like any other.
    ['Ünïcödé Straße', 'unicode_stra_e'],
    ['Ção', 'cao'],
    // Ł has no decomposition either; the `_` it leaves at the start is trimmed.
    ['Łódź', 'odz'],
    ['!!!', ''],
    ['', ''],
    ['日本語', ''],
    ['2nd phone', 'custom_2nd_phone'],
    ['123', 'custom_123'],
    ['Deal value', 'deal_value'],
    ['deal_value', 'deal_value'],
    ['DEAL   VALUE', 'deal_value'],
    ['  padded  ', 'padded'],
    ['__private__', 'private'],
    ['A -- B', 'a_b'],
    ['Budget (€)', 'budget'],
    ['Budget 2024/25', 'budget_2024_25'],
    ['ﬁnance', 'finance'],
    ['Ｆｕｌｌｗｉｄｔｈ', 'fullwidth'],
    ['x²', 'x2'],
    ['CamelCaseName', 'camelcasename'],
    ['e-mail (work)', 'e_mail_work'],
    ['Tab\tand\nnewline', 'tab_and_newline'],
  ])('%p → %p', (name, expected) => {
    expect(snakeCaseFieldName(name)).toBe(expected);
  });
});

describe('planCustomFields naming', () => {
  const standardColumns = ['id', 'title', 'value', 'currency', 'add_time', 'custom_fields'];

  function columnsOf(
    definitions: FieldDefinition[],
    naming: CustomFieldNaming = 'name',
    standard: string[] = standardColumns,
  ): Record<string, string> {
    return Object.fromEntries(planCustomFields(definitions, standard, naming).columns);
  }

  const regionA = keyStartingWith('aaaa1111');
  const regionB = keyStartingWith('bbbb2222');

  it.each<[string, FieldDefinition[], Record<string, string>, string[]?]>([
    ['accents removed', [field(regionA, 'Número de série')], { [regionA]: 'numero_de_serie' }],
    ['nothing usable left', [field(regionA, '!!!')], { [regionA]: `custom_${regionA}` }],
    ['leading digit', [field(regionA, '2nd phone')], { [regionA]: 'custom_2nd_phone' }],
    ['clash with standard title', [field(regionA, 'Title')], { [regionA]: 'title_aaaa1111' }],
    [
      'two fields named Region: the later one gets the suffix',
      [field(regionA, 'Region'), field(regionB, 'Region')],
      { [regionA]: 'region', [regionB]: 'region_bbbb2222' },
    ],
    [
      'two fields named Region, other order',
      [field(regionB, 'Region'), field(regionA, 'Region')],
      { [regionB]: 'region', [regionA]: 'region_aaaa1111' },
    ],
    [
      'Deal value vs deal_value',
      [field(regionA, 'Deal value'), field(regionB, 'deal_value')],
      { [regionA]: 'deal_value', [regionB]: 'deal_value_bbbb2222' },
    ],
    [
      'a standard clash is suffixed even for the first field',
      [field(regionA, 'Value', 'monetary'), field(regionB, 'value')],
      { [regionA]: 'value_aaaa1111', [regionB]: 'value_bbbb2222' },
    ],
    [
      'companion column clashing with a standard column',
      [field(regionA, 'Budget', 'monetary')],
      { [regionA]: 'budget_aaaa1111' },
      [...standardColumns, 'budget_currency'],
    ],
    [
      'companion column clashing with an earlier field',
      [field(regionA, 'Budget currency'), field(regionB, 'Budget', 'monetary')],
      { [regionA]: 'budget_currency', [regionB]: 'budget_bbbb2222' },
    ],
    [
      'a later field clashing with an earlier companion column',
      [field(regionA, 'Budget', 'monetary'), field(regionB, 'Budget currency')],
      { [regionA]: 'budget', [regionB]: 'budget_currency_bbbb2222' },
    ],
    [
      'empty name and a field literally named custom_<key>',
      [field(regionA, '***'), field(regionB, `custom ${regionA}`)],
      { [regionA]: `custom_${regionA}`, [regionB]: `custom_${regionA}_bbbb2222` },
    ],
    [
      'a name that is another field key',
      [field(regionA, 'Region'), field(regionB, regionA)],
      { [regionA]: 'region', [regionB]: `${regionA}_bbbb2222` },
    ],
  ])('%s', (_label, definitions, expected, standard = standardColumns) => {
    expect(columnsOf(definitions, 'name', standard)).toEqual(expected);
  });

  it('falls back to the whole key, then to a counter, when short suffixes are taken', () => {
    const standard = ['region', 'region_aaaa1111', `region_${regionA}`, 'region_aaaa1111_2'];
    expect(columnsOf([field(regionA, 'Region')], 'name', standard)).toEqual({
      [regionA]: 'region_aaaa1111_3',
    });
    expect(columnsOf([field(regionA, 'Region')], 'name', standard.slice(0, 2))).toEqual({
      [regionA]: `region_${regionA}`,
    });
  });

  it('never produces a duplicate column, even for many identical names', () => {
    const definitions = Array.from({ length: 50 }, (_, index) =>
      field(keyStartingWith(index.toString(16).padStart(8, '0')), 'Same', 'monetary'),
    );
    const plan = planCustomFields(definitions, ['same_00000001'], 'name');
    const all = Object.keys(plan.properties);
    expect(new Set(all).size).toBe(100);
    expect(plan.columns.size).toBe(50);
    expect(all).not.toContain('same_00000001');
  });

  it("uses the key itself with naming: 'key'", () => {
    const plan = planCustomFields(
      [
        field(regionA, 'Title', 'monetary'),
        field(regionB, 'Period', 'daterange'),
        field(keyStartingWith('cccc3333'), 'Office', 'address'),
        field(keyStartingWith('dddd4444'), 'Hours', 'timerange'),
        field(keyStartingWith('eeee5555'), 'Notes', 'text'),
      ],
      standardColumns,
      'key',
    );
    const office = keyStartingWith('cccc3333');
    const hours = keyStartingWith('dddd4444');
    const notes = keyStartingWith('eeee5555');
    expect(Object.fromEntries(plan.columns)).toEqual({
      [regionA]: regionA,
      [regionB]: regionB,
      [office]: office,
      [hours]: hours,
      [notes]: notes,
    });
    expect(Object.keys(plan.properties)).toEqual([
      regionA,
      `${regionA}_currency`,
      regionB,
      `${regionB}_until`,
      office,
      `${office}_parts`,
      hours,
      `${hours}_until`,
      notes,
    ]);
  });

  it('plans only active custom fields, in the order given', () => {
    const keys = ['1', '2', '3', '4', '5', '6', '7'].map((digit) =>
      keyStartingWith(digit.repeat(8)),
    );
    const plan = planCustomFields(
      [
        field('title', 'Title'),
        field('org_id', 'Organization', 'org'),
        field(keys[6], 'Zulu'),
        field(keys[0], 'Active true', 'varchar', { active_flag: true }),
        field(keys[1], 'Active one', 'varchar', { active_flag: 1 }),
        field(keys[2], 'Inactive false', 'varchar', { active_flag: false }),
        field(keys[3], 'Inactive zero', 'varchar', { active_flag: 0 }),
        field(keys[4], 'No flag'),
        field(keys[0], 'Listed twice'),
        field(keys[5].toUpperCase(), 'Uppercase key'),
      ],
      standardColumns,
      'name',
    );
    expect([...plan.columns.entries()]).toEqual([
      [keys[6], 'zulu'],
      [keys[0], 'active_true'],
      [keys[1], 'active_one'],
      [keys[4], 'no_flag'],
    ]);
    expect(Object.keys(plan.properties)).toEqual(['zulu', 'active_true', 'active_one', 'no_flag']);
  });

  it('lets an active field take the name of an inactive one', () => {
    const plan = planCustomFields(
      [
        field(regionA, 'Region', 'varchar', { active_flag: false }),
        field(regionB, 'Region', 'varchar'),
      ],
      [],
      'name',
    );
    expect(Object.fromEntries(plan.columns)).toEqual({ [regionB]: 'region' });
  });

  it('does not change its inputs and plans the same way twice', () => {
    const definitions = [field(regionA, 'Region'), field(regionB, 'Region')];
    const standard = new Set(['id']);
    const frozen = JSON.stringify(definitions);
    const first = planCustomFields(definitions, standard, 'name');
    const second = planCustomFields(definitions, standard, 'name');
    expect(JSON.stringify(definitions)).toBe(frozen);
    expect([...standard]).toEqual(['id']);
    expect(second.properties).toEqual(first.properties);
    expect(second.columns).toEqual(first.columns);
  });

  it('handles no definitions', () => {
    const plan = planCustomFields([], standardColumns, 'name');
    expect(plan.properties).toEqual({});
    expect(plan.columns.size).toBe(0);
    const out = { id: 1 };
    plan.applyV2({ [regionA]: 1 }, out);
    plan.applyV1({ id: 1, [regionA]: 1 }, out);
    expect(out).toEqual({ id: 1 });
  });
});

/** Every type of field, with keys whose first 8 characters say which field it is. */
const K = {
  int: keyStartingWith('00000001'),
  double: keyStartingWith('00000002'),
  monetary: keyStartingWith('00000003'),
  enum: keyStartingWith('00000004'),
  set: keyStartingWith('00000005'),
  date: keyStartingWith('00000006'),
  daterange: keyStartingWith('00000007'),
  time: keyStartingWith('00000008'),
  timerange: keyStartingWith('00000009'),
  address: keyStartingWith('0000000a'),
  user: keyStartingWith('0000000b'),
  org: keyStartingWith('0000000c'),
  people: keyStartingWith('0000000d'),
  deal: keyStartingWith('0000000e'),
  stage: keyStartingWith('0000000f'),
  lead: keyStartingWith('00000010'),
  boolean: keyStartingWith('00000011'),
  varchar: keyStartingWith('00000012'),
  text: keyStartingWith('00000013'),
  phone: keyStartingWith('00000014'),
  varchar_auto: keyStartingWith('00000015'),
  varchar_options: keyStartingWith('00000016'),
  visible_to: keyStartingWith('00000017'),
  json: keyStartingWith('00000018'),
  status: keyStartingWith('00000019'),
  unknown: keyStartingWith('0000001a'),
  inactive: keyStartingWith('0000001b'),
  inactiveMonetary: keyStartingWith('0000001c'),
};

const CUSTOMER_TYPE_OPTIONS = [
  { id: 190, label: 'Private person' },
  { id: 191, label: 'Company' },
  { id: 192, label: 'Government' },
];

const DEFINITIONS: FieldDefinition[] = [
  { id: 1, key: 'title', name: 'Title', field_type: 'varchar', edit_flag: false },
  { id: 2, key: 'value', name: 'Value', field_type: 'monetary', edit_flag: false },
  field(K.int, 'Seats', 'int'),
  field(K.double, 'Score', 'double'),
  field(K.monetary, 'Budget', 'monetary'),
  field(K.enum, 'Customer type', 'enum', { options: CUSTOMER_TYPE_OPTIONS }),
  field(K.set, 'Interests', 'set', {
    options: [
      { id: 1, label: 'Sailing' },
      { id: '2', label: 'Chess' },
      { id: 3, label: 'Go' },
    ],
  }),
  field(K.date, 'Renewal date', 'date'),
  field(K.daterange, 'Contract period', 'daterange'),
  field(K.time, 'Call time', 'time'),
  field(K.timerange, 'Office hours', 'timerange'),
  field(K.address, 'Billing address', 'address'),
  field(K.user, 'Account manager', 'user'),
  field(K.org, 'Partner org', 'org'),
  field(K.people, 'Champion', 'people'),
  field(K.deal, 'Parent deal', 'deal'),
  field(K.stage, 'Target stage', 'stage'),
  field(K.lead, 'Source lead', 'lead'),
  field(K.boolean, 'Is VIP', 'boolean'),
  field(K.varchar, 'Nickname', 'varchar'),
  field(K.text, 'Notes', 'text'),
  field(K.phone, 'Hotline', 'phone'),
  field(K.varchar_auto, 'Industry', 'varchar_auto'),
  field(K.varchar_options, 'Tier', 'varchar_options'),
  field(K.visible_to, 'Visibility', 'visible_to'),
  field(K.json, 'Extra', 'json'),
  field(K.status, 'Custom status', 'status'),
  field(K.unknown, 'Something new', 'hologram'),
  field(K.inactive, 'Old field', 'varchar', { active_flag: false }),
  field(K.inactiveMonetary, 'Old money', 'monetary', { active_flag: 0 }),
];

const STANDARD_COLUMNS = ['id', 'title', 'value', 'currency', 'update_time'];

const EXPECTED_PROPERTIES: Record<string, unknown> = {
  seats: { type: ['null', 'integer'] },
  score: { type: ['null', 'number'] },
  budget: { type: ['null', 'number'] },
  budget_currency: { type: ['null', 'string'] },
  customer_type: { type: ['null', 'string'] },
  interests: { type: ['null', 'array'], items: { type: ['null', 'string'] } },
  renewal_date: { type: ['null', 'string'], format: 'date' },
  contract_period: { type: ['null', 'string'], format: 'date' },
  contract_period_until: { type: ['null', 'string'], format: 'date' },
  call_time: { type: ['null', 'string'] },
  office_hours: { type: ['null', 'string'] },
  office_hours_until: { type: ['null', 'string'] },
  billing_address: { type: ['null', 'string'] },
  billing_address_parts: {
    type: ['null', 'object'],
    properties: Object.fromEntries(
      ADDRESS_PARTS.map((part) => [part, { type: ['null', 'string'] }]),
    ),
  },
  account_manager: { type: ['null', 'integer'] },
  partner_org: { type: ['null', 'integer'] },
  champion: { type: ['null', 'integer'] },
  parent_deal: { type: ['null', 'integer'] },
  target_stage: { type: ['null', 'integer'] },
  source_lead: { type: ['null', 'string'] },
  is_vip: { type: ['null', 'boolean'] },
  nickname: { type: ['null', 'string'] },
  notes: { type: ['null', 'string'] },
  hotline: { type: ['null', 'string'] },
  industry: { type: ['null', 'string'] },
  tier: { type: ['null', 'string'] },
  visibility: { type: ['null', 'string'] },
  extra: { type: ['null', 'string'] },
  custom_status: { type: ['null', 'string'] },
  something_new: { type: ['null', 'string'] },
};

function emptyParts(): Record<string, string | null> {
  return Object.fromEntries(ADDRESS_PARTS.map((part) => [part, null]));
}

describe('planCustomFields types', () => {
  const plan = planCustomFields(DEFINITIONS, STANDARD_COLUMNS, 'name');

  it('declares every active custom field with a nullable JSON type', () => {
    expect(withoutDescriptions(plan.properties)).toEqual(EXPECTED_PROPERTIES);
    expect(Object.keys(plan.properties)).toEqual(Object.keys(EXPECTED_PROPERTIES));
  });

  it('describes each column with the field name, key and type', () => {
    expect(plan.properties.customer_type.description).toBe(
      `Customer type (Pipedrive custom field ${K.enum}, type enum)`,
    );
    expect(plan.properties.budget_currency.description).toBe('Currency of Budget');
    expect(plan.properties.contract_period_until.description).toBe('End of Contract period');
    expect(plan.properties.billing_address_parts.description).toBe('Parts of Billing address');
  });

  it('maps keys to main columns', () => {
    expect(plan.columns.get(K.monetary)).toBe('budget');
    expect(plan.columns.get(K.address)).toBe('billing_address');
    expect(plan.columns.has(K.inactive)).toBe(false);
    expect(plan.columns.has('title')).toBe(false);
    expect(plan.columns.size).toBe(26);
  });

  it('gives each property its own schema object', () => {
    const other = planCustomFields(DEFINITIONS, STANDARD_COLUMNS, 'name');
    other.properties.seats.type.push('string');
    expect(plan.properties.seats.type).toEqual(['null', 'integer']);
  });

  it('is a valid JSON schema', () => {
    const ajv = newAjv();
    expect(() => ajv.compile({ type: 'object', properties: plan.properties })).not.toThrow();
  });
});

describe.each(APPLIERS)('applyV2 (%s)', (applier) => {
  const plan = planWith(applier, DEFINITIONS, STANDARD_COLUMNS, 'name');
  const allColumns = Object.keys(plan.properties);

  function shape(key: string, value: unknown): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    plan.applyV2({ [key]: value }, out);
    return out;
  }

  it.each<[keyof typeof K, unknown, Record<string, unknown>]>([
    ['int', 42, { seats: 42 }],
    ['int', '42', { seats: 42 }],
    ['int', 4.5, { seats: null }],
    ['int', 'many', { seats: null }],
    ['double', 4.5, { score: 4.5 }],
    ['double', '4.50', { score: 4.5 }],
    ['double', 'n/a', { score: null }],
    ['monetary', { value: 100.5, currency: 'EUR' }, { budget: 100.5, budget_currency: 'EUR' }],
    ['monetary', { value: '12', currency: 'USD' }, { budget: 12, budget_currency: 'USD' }],
    ['monetary', { amount: 7, currency: 'GBP' }, { budget: 7, budget_currency: 'GBP' }],
    ['monetary', 250, { budget: 250, budget_currency: null }],
    ['monetary', { value: null, currency: null }, { budget: null, budget_currency: null }],
    ['enum', 190, { customer_type: 'Private person' }],
    ['enum', '191', { customer_type: 'Company' }],
    ['enum', { id: 192, label: 'Government' }, { customer_type: 'Government' }],
    ['enum', 999, { customer_type: '999' }],
    ['enum', '', { customer_type: null }],
    ['set', [1, 3], { interests: ['Sailing', 'Go'] }],
    ['set', [2], { interests: ['Chess'] }],
    ['set', ['1', '2'], { interests: ['Sailing', 'Chess'] }],
    ['set', [1, 999], { interests: ['Sailing', '999'] }],
    ['set', '1,2', { interests: ['Sailing', 'Chess'] }],
    ['set', ' 3 , 1 ,', { interests: ['Go', 'Sailing'] }],
    ['set', 3, { interests: ['Go'] }],
    ['set', [{ id: 1 }, null], { interests: ['Sailing'] }],
    ['set', [], { interests: null }],
    ['set', '', { interests: null }],
    ['date', '2024-05-06', { renewal_date: '2024-05-06' }],
    ['date', '2024-05-06T00:00:00Z', { renewal_date: '2024-05-06' }],
    ['date', '2024-02-30', { renewal_date: null }],
    [
      'daterange',
      { value: '2024-01-01', until: '2024-12-31' },
      { contract_period: '2024-01-01', contract_period_until: '2024-12-31' },
    ],
    [
      'daterange',
      { start: '2024-01-01', end: '2024-12-31' },
      { contract_period: '2024-01-01', contract_period_until: '2024-12-31' },
    ],
    [
      'daterange',
      { from: '2024-01-01', to: 'soon' },
      { contract_period: '2024-01-01', contract_period_until: null },
    ],
    ['daterange', '2024-01-01', { contract_period: '2024-01-01', contract_period_until: null }],
    ['time', '10:30:00', { call_time: '10:30:00' }],
    [
      'timerange',
      { value: '09:00:00', until: '17:00:00' },
      { office_hours: '09:00:00', office_hours_until: '17:00:00' },
    ],
    [
      'timerange',
      { start: '09:00:00', end: '17:00:00' },
      { office_hours: '09:00:00', office_hours_until: '17:00:00' },
    ],
    [
      'address',
      {
        value: 'Main St 1, Tallinn',
        country: 'Estonia',
        locality: 'Tallinn',
        route: 'Main St',
        street_number: 1,
        postal_code: '10111',
        formatted_address: 'Main St 1, 10111 Tallinn, Estonia',
      },
      {
        billing_address: 'Main St 1, 10111 Tallinn, Estonia',
        billing_address_parts: {
          ...emptyParts(),
          value: 'Main St 1, Tallinn',
          country: 'Estonia',
          locality: 'Tallinn',
          route: 'Main St',
          street_number: '1',
          postal_code: '10111',
          formatted_address: 'Main St 1, 10111 Tallinn, Estonia',
        },
      },
    ],
    [
      'address',
      { value: 'Somewhere', formatted_address: '' },
      {
        billing_address: 'Somewhere',
        billing_address_parts: { ...emptyParts(), value: 'Somewhere', formatted_address: '' },
      },
    ],
    [
      'address',
      'Main St 1',
      {
        billing_address: 'Main St 1',
        billing_address_parts: { ...emptyParts(), value: 'Main St 1' },
      },
    ],
    ['user', 7, { account_manager: 7 }],
    ['user', '7', { account_manager: 7 }],
    ['user', { id: 7, name: 'Ann' }, { account_manager: 7 }],
    ['user', { value: 7, name: 'Ann' }, { account_manager: 7 }],
    ['user', { name: 'Ann' }, { account_manager: null }],
    ['org', { value: 12, name: 'Acme' }, { partner_org: 12 }],
    ['people', 33, { champion: 33 }],
    ['deal', { id: 44 }, { parent_deal: 44 }],
    ['stage', 5, { target_stage: 5 }],
    ['stage', 'five', { target_stage: null }],
    [
      'lead',
      'adf21080-0e10-11eb-879b-05d71fb426ec',
      { source_lead: 'adf21080-0e10-11eb-879b-05d71fb426ec' },
    ],
    ['lead', { id: 'adf21080' }, { source_lead: 'adf21080' }],
    ['boolean', true, { is_vip: true }],
    ['boolean', 0, { is_vip: false }],
    ['boolean', '1', { is_vip: true }],
    ['boolean', 'perhaps', { is_vip: null }],
    ['varchar', 'Bob', { nickname: 'Bob' }],
    ['varchar', 12, { nickname: '12' }],
    ['text', 'Line 1\nLine 2', { notes: 'Line 1\nLine 2' }],
    ['phone', '+372 555 1234', { hotline: '+372 555 1234' }],
    ['varchar_auto', 'Shipping', { industry: 'Shipping' }],
    ['varchar_options', 'Gold', { tier: 'Gold' }],
    ['visible_to', 3, { visibility: '3' }],
    ['json', { a: [1, 2] }, { extra: '{"a":[1,2]}' }],
    ['status', 'won', { custom_status: 'won' }],
    ['unknown', { x: 1 }, { something_new: '{"x":1}' }],
    ['unknown', true, { something_new: 'true' }],
  ])('%s: %p', (fieldType, value, expected) => {
    const out = shape(K[fieldType], value);
    expect(out).toEqual({ ...nullColumns(), ...expected });
  });

  function nullColumns(): Record<string, null> {
    return Object.fromEntries(allColumns.map((column) => [column, null]));
  }

  it.each<[string, Record<string, unknown> | null | undefined]>([
    ['undefined', undefined],
    ['null', null],
    ['empty', {}],
    ['all values null', Object.fromEntries(Object.values(K).map((key) => [key, null]))],
    ['not an object', [1, 2] as unknown as Record<string, unknown>],
  ])('sets every column to null when custom_fields is %s', (_label, customFields) => {
    const out: Record<string, unknown> = { id: 1 };
    plan.applyV2(customFields, out);
    expect(out).toEqual({ id: 1, ...nullColumns() });
  });

  it('writes the columns in the same order for every record', () => {
    const first: Record<string, unknown> = {};
    const second: Record<string, unknown> = {};
    plan.applyV2({ [K.set]: [1] }, first);
    plan.applyV2({ [K.int]: 1, [K.address]: 'x' }, second);
    expect(Object.keys(first)).toEqual(allColumns);
    expect(Object.keys(second)).toEqual(allColumns);
  });

  it('leaves the other properties of out alone and ignores unplanned keys', () => {
    const out: Record<string, unknown> = { id: 1, title: 'Deal' };
    plan.applyV2({ [K.inactive]: 'old', [keyStartingWith('ffffffff')]: 'new field' }, out);
    expect(out).toEqual({ id: 1, title: 'Deal', ...nullColumns() });
  });

  it('does not change the custom_fields object', () => {
    const customFields = { [K.monetary]: { value: 1, currency: 'EUR' }, [K.set]: [1, 2] };
    const copy = structuredClone(customFields);
    plan.applyV2(customFields, {});
    expect(customFields).toEqual(copy);
  });
});

describe.each(APPLIERS)('applyV1 (%s)', (applier) => {
  const plan = planWith(applier, DEFINITIONS, STANDARD_COLUMNS, 'name');
  const allColumns = Object.keys(plan.properties);

  function nullColumns(): Record<string, null> {
    return Object.fromEntries(allColumns.map((column) => [column, null]));
  }

  /** Shapes a copy of `root` into itself, as a stream would for a v1 record. */
  function shape(root: Record<string, unknown>): Record<string, unknown> {
    const out = { ...root };
    plan.applyV1(root, out);
    return out;
  }

  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['int', { [K.int]: '42' }, { seats: 42 }],
    ['double', { [K.double]: '4.5' }, { score: 4.5 }],
    [
      'monetary',
      { [K.monetary]: '100.5', [`${K.monetary}_currency`]: 'EUR' },
      { budget: 100.5, budget_currency: 'EUR' },
    ],
    [
      'monetary as an object',
      { [K.monetary]: { value: 3, currency: 'SEK' } },
      { budget: 3, budget_currency: 'SEK' },
    ],
    [
      'monetary currency without amount',
      { [K.monetary]: null, [`${K.monetary}_currency`]: 'EUR' },
      { budget: null, budget_currency: 'EUR' },
    ],
    ['enum', { [K.enum]: '190' }, { customer_type: 'Private person' }],
    ['enum with an unknown option', { [K.enum]: '999' }, { customer_type: '999' }],
    ['set', { [K.set]: '1,3' }, { interests: ['Sailing', 'Go'] }],
    ['set with an unknown option', { [K.set]: '2,77' }, { interests: ['Chess', '77'] }],
    ['set with one option', { [K.set]: '2' }, { interests: ['Chess'] }],
    ['date', { [K.date]: '2024-05-06' }, { renewal_date: '2024-05-06' }],
    [
      'daterange',
      { [K.daterange]: '2024-01-01', [`${K.daterange}_until`]: '2024-06-30' },
      { contract_period: '2024-01-01', contract_period_until: '2024-06-30' },
    ],
    [
      'timerange',
      { [K.timerange]: '09:00:00', [`${K.timerange}_until`]: '17:30:00' },
      { office_hours: '09:00:00', office_hours_until: '17:30:00' },
    ],
    [
      'address',
      {
        [K.address]: 'Main St 1, Tallinn',
        [`${K.address}_route`]: 'Main St',
        [`${K.address}_street_number`]: '1',
        [`${K.address}_locality`]: 'Tallinn',
        [`${K.address}_country`]: 'Estonia',
        [`${K.address}_postal_code`]: '10111',
        [`${K.address}_formatted_address`]: 'Main St 1, 10111 Tallinn, Estonia',
        [`${K.address}_subpremise`]: null,
      },
      {
        billing_address: 'Main St 1, 10111 Tallinn, Estonia',
        billing_address_parts: {
          ...emptyParts(),
          value: 'Main St 1, Tallinn',
          route: 'Main St',
          street_number: '1',
          locality: 'Tallinn',
          country: 'Estonia',
          postal_code: '10111',
          formatted_address: 'Main St 1, 10111 Tallinn, Estonia',
        },
      },
    ],
    [
      'address without a formatted address',
      { [K.address]: 'Somewhere' },
      {
        billing_address: 'Somewhere',
        billing_address_parts: { ...emptyParts(), value: 'Somewhere' },
      },
    ],
    [
      'address with only a formatted address',
      { [K.address]: null, [`${K.address}_formatted_address`]: 'Formatted' },
      {
        billing_address: 'Formatted',
        billing_address_parts: { ...emptyParts(), formatted_address: 'Formatted' },
      },
    ],
    [
      'address with only stray parts',
      { [K.address]: null, [`${K.address}_country`]: 'Estonia' },
      { billing_address: null, billing_address_parts: null },
    ],
    [
      'address as a v2 object',
      { [K.address]: { value: 'V', formatted_address: 'F' } },
      {
        billing_address: 'F',
        billing_address_parts: { ...emptyParts(), value: 'V', formatted_address: 'F' },
      },
    ],
    ['user object', { [K.user]: { id: 7, name: 'Ann', value: 7 } }, { account_manager: 7 }],
    ['org object', { [K.org]: { value: 12, name: 'Acme', owner_id: 3 } }, { partner_org: 12 }],
    ['people object', { [K.people]: { value: 33, name: 'Bo', email: [] } }, { champion: 33 }],
    ['deal id', { [K.deal]: 44 }, { parent_deal: 44 }],
    ['boolean', { [K.boolean]: 1 }, { is_vip: true }],
    ['visible_to', { [K.visible_to]: '3' }, { visibility: '3' }],
  ])('%s', (_label, root, expected) => {
    const out = shape({ id: 1, title: 'Lead', ...root });
    expect(out).toEqual({ id: 1, title: 'Lead', ...nullColumns(), ...expected });
  });

  it('deletes raw keys and companions, including those of inactive fields', () => {
    const root: Record<string, unknown> = {
      id: 'adf21080-0e10-11eb-879b-05d71fb426ec',
      title: 'Lead',
      [K.monetary]: 5,
      [`${K.monetary}_currency`]: 'EUR',
      [K.daterange]: '2024-01-01',
      [`${K.daterange}_until`]: '2024-01-02',
      [K.address]: 'A',
      [`${K.address}_formatted_address`]: 'B',
      [`${K.address}_admin_area_level_1`]: 'C',
      [K.inactive]: 'old',
      [K.inactiveMonetary]: 1,
      [`${K.inactiveMonetary}_currency`]: 'EUR',
    };
    const out = shape(root);
    const leftovers = Object.keys(out).filter((name) => /^[0-9a-f]{40}/.test(name));
    expect(leftovers).toEqual([]);
    expect(Object.keys(out).sort()).toEqual(['id', 'title', ...allColumns].sort());
  });

  it('works when record and out are the same object', () => {
    const record: Record<string, unknown> = {
      id: 1,
      [K.monetary]: '9',
      [`${K.monetary}_currency`]: 'NOK',
      [K.address]: 'A',
      [`${K.address}_formatted_address`]: 'B',
      [K.enum]: '191',
    };
    plan.applyV1(record, record);
    expect(record).toEqual({
      id: 1,
      ...nullColumns(),
      budget: 9,
      budget_currency: 'NOK',
      customer_type: 'Company',
      billing_address: 'B',
      billing_address_parts: { ...emptyParts(), value: 'A', formatted_address: 'B' },
    });
  });

  it('reads from record and writes into a separate out', () => {
    const record = { id: 1, [K.int]: '3' };
    const out: Record<string, unknown> = { id: 1 };
    plan.applyV1(record, out);
    expect(record).toEqual({ id: 1, [K.int]: '3' });
    expect(out).toEqual({ id: 1, ...nullColumns(), seats: 3 });
  });

  it("keeps raw keys as columns with naming: 'key'", () => {
    const keyPlan = planWith(applier, DEFINITIONS, STANDARD_COLUMNS, 'key');
    const record: Record<string, unknown> = {
      id: 1,
      [K.monetary]: '9',
      [`${K.monetary}_currency`]: 'NOK',
      [K.daterange]: '2024-01-01 00:00:00',
      [`${K.daterange}_until`]: '2024-02-01',
      [K.address]: 'A',
      [`${K.address}_route`]: 'R',
      [K.set]: '1,2',
      [K.inactive]: 'old',
    };
    const out = { ...record };
    keyPlan.applyV1(record, out);
    expect(out[K.monetary]).toBe(9);
    expect(out[`${K.monetary}_currency`]).toBe('NOK');
    expect(out[K.daterange]).toBe('2024-01-01');
    expect(out[`${K.daterange}_until`]).toBe('2024-02-01');
    expect(out[K.address]).toBe('A');
    expect(out[`${K.address}_parts`]).toEqual({ ...emptyParts(), value: 'A', route: 'R' });
    expect(out[K.set]).toEqual(['Sailing', 'Chess']);
    expect(out).not.toHaveProperty(`${K.address}_route`);
    expect(out).not.toHaveProperty(K.inactive);
    expect(Object.keys(out).sort()).toEqual(['id', ...Object.keys(keyPlan.properties)].sort());
  });

  it('sets every column to null for a record without custom values', () => {
    const out: Record<string, unknown> = { id: 1 };
    plan.applyV1({ id: 1 }, out);
    expect(out).toEqual({ id: 1, ...nullColumns() });
  });
});

describe.each(APPLIERS)('generated schema and shaped records validate (%s)', (applier) => {
  const baseSchema = {
    type: 'object',
    additionalProperties: false,
    properties: {
      id: { type: ['null', 'integer', 'string'] },
      title: { type: ['null', 'string'] },
      update_time: { type: ['null', 'string'], format: 'date-time' },
    },
  };

  const v2CustomFields: Record<string, unknown> = {
    [K.int]: 3,
    [K.double]: '2.5',
    [K.monetary]: { value: 10, currency: 'EUR' },
    [K.enum]: 190,
    [K.set]: [1, 2, 99],
    [K.date]: '2024-01-01',
    [K.daterange]: { value: '2024-01-01', until: '2024-02-01' },
    [K.time]: '08:00:00',
    [K.timerange]: { value: '08:00:00', until: '09:00:00' },
    [K.address]: { value: 'A', country: 'EE', formatted_address: 'A, EE' },
    [K.user]: { id: 1, name: 'U' },
    [K.org]: 2,
    [K.people]: { value: 3, name: 'P' },
    [K.deal]: 4,
    [K.stage]: '5',
    [K.lead]: 'adf21080-0e10-11eb-879b-05d71fb426ec',
    [K.boolean]: true,
    [K.varchar]: 'v',
    [K.text]: 't',
    [K.phone]: '1',
    [K.varchar_auto]: 'auto',
    [K.varchar_options]: 'opt',
    [K.visible_to]: 3,
    [K.json]: { nested: true },
    [K.status]: 'open',
    [K.unknown]: [1],
    [K.inactive]: 'ignored',
  };

  const v1Root: Record<string, unknown> = {
    id: 'adf21080-0e10-11eb-879b-05d71fb426ec',
    title: 'Lead',
    update_time: '2024-01-01T00:00:00.000Z',
    [K.int]: '3',
    [K.double]: 2.5,
    [K.monetary]: 10,
    [`${K.monetary}_currency`]: 'EUR',
    [K.enum]: '190',
    [K.set]: '1,2,99',
    [K.date]: '2024-01-01',
    [K.daterange]: '2024-01-01',
    [`${K.daterange}_until`]: '2024-02-01',
    [K.timerange]: '08:00:00',
    [`${K.timerange}_until`]: '09:00:00',
    [K.address]: 'A',
    [`${K.address}_country`]: 'EE',
    [`${K.address}_formatted_address`]: 'A, EE',
    [K.user]: { id: 1, name: 'U', value: 1 },
    [K.people]: { value: 3, name: 'P' },
    [K.boolean]: 0,
    [K.json]: '{"nested":true}',
    [K.inactive]: 'ignored',
  };

  it.each<[CustomFieldNaming]>([['name'], ['key']])('with naming: %s', (naming) => {
    const plan = planWith(applier, DEFINITIONS, Object.keys(baseSchema.properties), naming);
    const schema = { ...baseSchema, properties: { ...baseSchema.properties, ...plan.properties } };
    const validate = newAjv().compile(schema);
    const coerce = compileSchemaCoercer(schema);

    const v2Record: Record<string, unknown> = { id: 1, title: 'Deal', update_time: null };
    plan.applyV2(v2CustomFields, v2Record);
    expect(validate(v2Record) ? [] : validate.errors).toEqual([]);

    const v1Record = { ...v1Root };
    plan.applyV1(v1Root, v1Record);
    coerce(v1Record);
    expect(validate(v1Record) ? [] : validate.errors).toEqual([]);

    const emptyRecord: Record<string, unknown> = { id: 2 };
    plan.applyV2(undefined, emptyRecord);
    expect(validate(emptyRecord) ? [] : validate.errors).toEqual([]);

    // Shaped values are already of the declared types: the schema coercer changes nothing.
    const recoerced = coerce(structuredClone(v2Record));
    expect(recoerced).toEqual(v2Record);
  });

  it('gives the same columns for the same field in v1 and v2 shapes', () => {
    const plan = planWith(applier, DEFINITIONS, Object.keys(baseSchema.properties), 'name');
    const fromV2: Record<string, unknown> = {};
    plan.applyV2(
      {
        [K.monetary]: { value: 10, currency: 'EUR' },
        [K.set]: [1, 2],
        [K.daterange]: { value: '2024-01-01', until: '2024-02-01' },
        [K.address]: { value: 'A', country: 'EE', formatted_address: 'A, EE' },
        [K.people]: { value: 3, name: 'P' },
      },
      fromV2,
    );
    const fromV1: Record<string, unknown> = {};
    plan.applyV1(
      {
        [K.monetary]: '10',
        [`${K.monetary}_currency`]: 'EUR',
        [K.set]: '1,2',
        [K.daterange]: '2024-01-01',
        [`${K.daterange}_until`]: '2024-02-01',
        [K.address]: 'A',
        [`${K.address}_country`]: 'EE',
        [`${K.address}_formatted_address`]: 'A, EE',
        [K.people]: 3,
      },
      fromV1,
    );
    expect(fromV1).toEqual(fromV2);
  });
});

describe('option labels', () => {
  const enumKey = keyStartingWith('eeee0001');
  const setKey = keyStartingWith('eeee0002');

  function shapeWith(options: unknown, enumValue: unknown, setValue: unknown) {
    const plan = planCustomFields(
      [field(enumKey, 'Choice', 'enum', { options }), field(setKey, 'Choices', 'set', { options })],
      [],
      'name',
    );
    const out: Record<string, unknown> = {};
    plan.applyV2({ [enumKey]: enumValue, [setKey]: setValue }, out);
    return out;
  }

  it.each<[string, unknown, unknown, unknown, Record<string, unknown>]>([
    ['no options', null, 5, [5, 6], { choice: '5', choices: ['5', '6'] }],
    ['empty options', [], '5', '5,6', { choice: '5', choices: ['5', '6'] }],
    [
      'broken option entries are skipped',
      [null, 'x', { id: null, label: 'No id' }, { id: 5 }, { id: 6, label: 'Six' }],
      5,
      [6, 7],
      { choice: '', choices: ['Six', '7'] },
    ],
    [
      'string option ids match numeric values',
      [{ id: '8', label: 'Eight' }],
      8,
      [8, '8'],
      { choice: 'Eight', choices: ['Eight', 'Eight'] },
    ],
    [
      'non-canonical string ids only match themselves',
      [{ id: '08', label: 'Zero eight' }],
      8,
      ['08'],
      { choice: '8', choices: ['Zero eight'] },
    ],
    [
      'a label that is not a string',
      [{ id: 1, label: 2024 }],
      1,
      null,
      { choice: '2024', choices: null },
    ],
    [
      'an object without an id',
      [{ id: 1, label: 'One' }],
      { name: 'One' },
      [{ name: 'One' }],
      { choice: null, choices: null },
    ],
    [
      'an object with value instead of id',
      [{ id: 1, label: 'One' }],
      { value: 1 },
      [{ value: 1 }],
      { choice: 'One', choices: ['One'] },
    ],
  ])('%s', (_label, options, enumValue, setValue, expected) => {
    expect(shapeWith(options, enumValue, setValue)).toEqual(expected);
  });
});

describe('defensive input handling', () => {
  it('treats a missing name as empty and missing definitions as none', () => {
    expect(snakeCaseFieldName(undefined as unknown as string)).toBe('');
    const key = keyStartingWith('dddd0001');
    const plan = planCustomFields([field(key, null as unknown as string)], [], 'name');
    expect(plan.columns.get(key)).toBe(`custom_${key}`);
    expect(planCustomFields(undefined as unknown as [], [], 'name').columns.size).toBe(0);
    expect(
      planCustomFields([null, 'x'] as unknown as FieldDefinition[], [], 'name').columns.size,
    ).toBe(0);
  });

  it.each(APPLIERS)('applyV1 tolerates a missing record (%s)', (applier) => {
    const key = keyStartingWith('dddd0002');
    const plan = planWith(applier, [field(key, 'Note')], [], 'name');
    const out: Record<string, unknown> = {};
    plan.applyV1(undefined as unknown as Record<string, unknown>, out);
    expect(out).toEqual({ note: null });
  });
});

describe('applier generation', () => {
  it('generates the appliers once per plan, not per record', () => {
    const spy = jest.spyOn(globalThis, 'Function');
    try {
      const plan = planCustomFields(DEFINITIONS, STANDARD_COLUMNS, 'name');
      expect(spy).toHaveBeenCalledTimes(2);
      for (let index = 0; index < 10; index++) {
        plan.applyV2({ [K.int]: index }, {});
        plan.applyV1({ [K.int]: index }, {});
      }
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
  });

  it('falls back to the loop when code generation is disallowed', () => {
    const generated = planWith('generated code', DEFINITIONS, STANDARD_COLUMNS, 'name');
    const fallback = planWith('loop fallback', DEFINITIONS, STANDARD_COLUMNS, 'name');
    expect(fallback.properties).toEqual(generated.properties);
    const fromGenerated: Record<string, unknown> = { id: 1 };
    const fromFallback: Record<string, unknown> = { id: 1 };
    const customFields = { [K.monetary]: { value: 1, currency: 'EUR' }, [K.set]: '1,2' };
    generated.applyV2(customFields, fromGenerated);
    fallback.applyV2(customFields, fromFallback);
    expect(fromFallback).toEqual(fromGenerated);
    expect(Object.keys(fromFallback)).toEqual(Object.keys(fromGenerated));
  });

  it('keeps hostile field names and keys out of the generated code', () => {
    const hostile = "x\"]; throw new Error('injected'); //";
    const plan = planCustomFields(
      [
        field(keyStartingWith('abcdef01'), hostile),
        field(`${keyStartingWith('abcdef02').slice(0, 39)}"`, hostile),
      ],
      [],
      'name',
    );
    const out: Record<string, unknown> = {};
    expect(() => plan.applyV2({ [keyStartingWith('abcdef01')]: 'ok' }, out)).not.toThrow();
    expect(out).toEqual({ x_throw_new_error_injected: 'ok' });
  });
});

describe('planCustomFields: stable columns', () => {
  const standard = ['id', 'title'];
  const regionA = keyStartingWith('aaaa1111');
  const regionB = keyStartingWith('bbbb2222');
  const budget = keyStartingWith('cccc3333');

  it('the older field (lower id) keeps the plain name, whatever order Pipedrive lists them in', () => {
    const older = field(regionB, 'Region', 'varchar', { id: 10 });
    const newer = field(regionA, 'Region', 'varchar', { id: 20 });
    for (const order of [
      [older, newer],
      [newer, older],
    ]) {
      expect(Object.fromEntries(planCustomFields(order, standard, 'name').columns)).toEqual({
        [regionB]: 'region',
        [regionA]: 'region_aaaa1111',
      });
    }
  });

  it('every column carries its field key, companions also their part', () => {
    const plan = planCustomFields(
      [field(budget, 'Budget', 'monetary', { id: 1 })],
      standard,
      'name',
    );
    expect(plan.properties.budget['x-pipedrive-field-key']).toBe(budget);
    expect(plan.properties.budget_currency['x-pipedrive-field-key']).toBe(budget);
    expect(plan.properties.budget_currency['x-pipedrive-field-part']).toBe('currency');
    const pins = pinnedColumns({ properties: plan.properties });
    expect([...pins.entries()]).toEqual([
      [
        budget,
        {
          column: 'budget',
          schema: plan.properties.budget,
          companion: { column: 'budget_currency', schema: plan.properties.budget_currency },
        },
      ],
    ]);
  });

  it('reads the key from the description of catalogs discovered before the keyword existed', () => {
    const { properties } = planCustomFields(
      [field(budget, 'Budget', 'monetary')],
      standard,
      'name',
    );
    const old = JSON.parse(
      JSON.stringify(properties, (name, value) =>
        name.startsWith('x-pipedrive-field-') ? undefined : value,
      ),
    );
    const pins = pinnedColumns({ properties: old });
    expect(pins.get(budget)?.column).toBe('budget');
    expect(pins.get(budget)?.companion?.column).toBe('budget_currency');
  });

  describe('with the configured catalog', () => {
    const discovered = planCustomFields(
      [
        field(regionA, 'Region', 'varchar', { id: 1 }),
        field(regionB, 'Region', 'varchar', { id: 2 }),
        field(budget, 'Budget', 'monetary', { id: 3 }),
      ],
      standard,
      'name',
    );
    const catalog = pinnedColumns({ properties: discovered.properties });

    it('a field renamed in Pipedrive keeps its catalog column and values', () => {
      const plan = planCustomFields(
        [
          field(regionA, 'Sales region', 'varchar', { id: 1 }),
          field(regionB, 'Region', 'varchar', { id: 2 }),
          field(budget, 'Money', 'monetary', { id: 3 }),
        ],
        standard,
        'name',
        catalog,
      );
      const row: Record<string, unknown> = {};
      plan.applyV2(
        { [regionA]: 'North', [regionB]: 'South', [budget]: { value: 5, currency: 'EUR' } },
        row,
      );
      expect(row).toEqual({
        region: 'North',
        region_bbbb2222: 'South',
        budget: 5,
        budget_currency: 'EUR',
      });
      expect(Object.keys(plan.properties).sort()).toEqual(
        Object.keys(discovered.properties).sort(),
      );
      expect(plan.unknown).toEqual([]);
      expect(plan.missing).toEqual([]);
    });

    it('deactivating the field with the plain name never moves the other into its column', () => {
      const plan = planCustomFields(
        [
          field(regionA, 'Region', 'varchar', { id: 1, active_flag: false }),
          field(regionB, 'Region', 'varchar', { id: 2 }),
          field(budget, 'Budget', 'monetary', { id: 3 }),
        ],
        standard,
        'name',
        catalog,
      );
      const row: Record<string, unknown> = {};
      plan.applyV2({ [regionB]: 'South' }, row);
      expect(row.region).toBeNull();
      expect(row.region_bbbb2222).toBe('South');
    });

    it('a field the catalog does not know is not emitted; one Pipedrive dropped stays null', () => {
      const extra = keyStartingWith('dddd4444');
      const plan = planCustomFields(
        [
          field(regionA, 'Region', 'varchar', { id: 1 }),
          field(budget, 'Budget', 'monetary', { id: 3 }),
          field(extra, 'New field', 'varchar', { id: 4 }),
        ],
        standard,
        'name',
        catalog,
      );
      const row: Record<string, unknown> = {};
      plan.applyV2({ [regionA]: 'North', [extra]: 'surprise' }, row);
      expect(row).toEqual({
        region: 'North',
        region_bbbb2222: null,
        budget: null,
        budget_currency: null,
      });
      expect(plan.unknown).toEqual([{ key: extra, name: 'New field' }]);
      expect(plan.missing).toEqual([{ key: regionB, column: 'region_bbbb2222' }]);
      // v1 records: the unknown field's raw keys are removed, not emitted under the hash.
      const lead: Record<string, unknown> = { id: 'x', [extra]: 'surprise', [regionA]: 'North' };
      plan.applyV1(lead, lead);
      expect(lead).toEqual({
        id: 'x',
        region: 'North',
        region_bbbb2222: null,
        budget: null,
        budget_currency: null,
      });
    });
  });
});
