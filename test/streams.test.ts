/**
 * Every stream except the deals family, end to end: bin/main as a child process against the fake
 * Pipedrive. Discover (seed columns, custom fields, keys), a full read compared with the fake's
 * data, incremental syncs with changes in between, a future state, and /legacyTeams gone.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

import { FakePipedrive, type JsonObject } from './fake-pipedrive';
import {
  configuredCatalog,
  errorsOf,
  expectValidProtocol,
  lastStates,
  ofType,
  recordsOf,
  runConnector,
  type RunResult,
  statesOf,
  statusesOf,
} from './helpers/connector';

/** The seed's columns per stream (child tables under our stream names). */
const FIELD_COLUMNS = [
  'id',
  'parent_id',
  'active_flag',
  'field_type',
  'update_time',
  'sortable_flag',
  'name',
  'searchable_flag',
  'important_flag',
  'edit_flag',
  'last_updated_by_user_id',
  'bulk_edit_allowed',
  'mandatory_flag',
  'index_visible_flag',
  'filtering_allowed',
  'key',
  'add_visible_flag',
  'order_nr',
  'details_visible_flag',
  'add_time',
];
const OPTION_COLUMNS = ['field_id', 'options__id', 'options__label'];
const ENTITIES = ['activity', 'deal', 'organization', 'person', 'product'] as const;

const SEED_COLUMNS: Record<string, string[]> = {
  ...Object.fromEntries(ENTITIES.map((entity) => [`${entity}_fields`, FIELD_COLUMNS])),
  ...Object.fromEntries(ENTITIES.map((entity) => [`${entity}_fields_options`, OPTION_COLUMNS])),
  activities: [
    'id',
    'subject',
    'type',
    'done',
    'marked_as_done_time',
    'org_id',
    'person_id',
    'deal_id',
    'due_date',
    'due_time',
    'duration',
    'note',
    'add_time',
    'owner_id',
    'creator_user_id',
    'update_time',
    'last_notification_time',
    'busy_flag',
    'public_description',
    'is_deleted',
  ],
  activity_types: [
    'id',
    'active_flag',
    'order_nr',
    'name',
    'key_string',
    'icon_key',
    'color',
    'is_custom_flag',
    'update_time',
    'add_time',
  ],
  notes: [
    'id',
    'active_flag',
    'add_time',
    'content',
    'deal__title',
    'deal_id',
    'last_update_user_id',
    'lead_id',
    'org_id',
    'organization__name',
    'person__name',
    'person_id',
    'pinned_to_deal_flag',
    'pinned_to_lead_flag',
    'pinned_to_organization_flag',
    'pinned_to_person_flag',
    'update_time',
    'user__email',
    'user__name',
    'user_id',
  ],
  organizations: ['id', 'update_time', 'name', 'owner_id'],
  persons: ['id', 'org_id', 'owner_id', 'update_time'],
  persons_emails: ['id', 'email_primary', 'email_label', 'email_value'],
  persons_phones: ['phone_primary', 'id', 'phone_label', 'phone_value'],
  products: ['id', 'update_time', 'name', 'price', 'tax', 'owner_id'],
  products_prices: ['id', 'product_id', 'direct_cost', 'price', 'cost', 'currency', 'notes'],
  stages: [
    'id',
    'name',
    'deal_probability',
    'pipeline_id',
    'add_time',
    'update_time',
    'is_deal_rot_enabled',
    'days_to_rotten',
    'is_deleted',
    'order_nr',
  ],
  teams: [
    'id',
    'active_flag',
    'deleted_flag',
    'name',
    'description',
    'created_by_user_id',
    'manager_id',
    'add_time',
  ],
  teams_users: ['team_id', 'user_id'],
  users: [
    'id',
    'lang',
    'active_flag',
    'name',
    'created',
    'locale',
    'signup_flow_variation',
    'timezone_offset',
    'activated',
    'modified',
    'email',
    'phone',
    'has_created_company',
    'last_login',
    'timezone_name',
    'is_admin',
    'role_id',
    'default_currency',
  ],
  pipelines: [
    'id',
    'name',
    'url_title',
    'order_nr',
    'active',
    'deal_probability',
    'add_time',
    'update_time',
  ],
  leads: [],
  lead_labels: [],
  currencies: [],
};

/** The streams this file covers, with primary key and cursor (none: full refresh only). */
const STREAMS: Record<string, { pk: string[]; cursor?: string }> = {
  ...Object.fromEntries(ENTITIES.map((entity) => [`${entity}_fields`, { pk: ['id'] }])),
  ...Object.fromEntries(
    ENTITIES.map((entity) => [`${entity}_fields_options`, { pk: ['field_id', 'options__id'] }]),
  ),
  users: { pk: ['id'] },
  pipelines: { pk: ['id'] },
  stages: { pk: ['id'] },
  activity_types: { pk: ['id'] },
  currencies: { pk: ['id'] },
  teams: { pk: ['id'] },
  teams_users: { pk: ['team_id', 'user_id'] },
  organizations: { pk: ['id'], cursor: 'update_time' },
  persons: { pk: ['id'], cursor: 'update_time' },
  persons_emails: { pk: ['id', 'email_value'], cursor: 'person_update_time' },
  persons_phones: { pk: ['id', 'phone_value'], cursor: 'person_update_time' },
  products: { pk: ['id'], cursor: 'update_time' },
  products_prices: { pk: ['id', 'currency'], cursor: 'product_update_time' },
  lead_labels: { pk: ['id'] },
  leads: { pk: ['id'], cursor: 'update_time' },
  activities: { pk: ['id'], cursor: 'update_time' },
  notes: { pk: ['id'], cursor: 'update_time' },
};
const ALL = Object.keys(STREAMS);
const INCREMENTAL = ALL.filter((name) => STREAMS[name].cursor);
/** Root streams of INCREMENTAL and their list endpoints. */
const LIST_ENDPOINTS: Record<string, string[]> = {
  organizations: ['/api/v2/organizations'],
  persons: ['/api/v2/persons'],
  products: ['/api/v2/products'],
  activities: ['/api/v2/activities'],
  notes: ['/api/v1/notes'],
  leads: ['/api/v1/leads', '/api/v1/leads/archived'],
};
const FAR_FUTURE = '2100-01-01T00:00:00Z';

/** Any Pipedrive timestamp (v1, v2, ISO with milliseconds) as the connector emits it. */
function rfc3339(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return null;
  return value
    .replace(' ', 'T')
    .replace(/\.\d+Z$/, 'Z')
    .replace(/(\d{2}:\d{2}:\d{2})$/, '$1Z');
}

const byId = (rows: any[], key = 'id'): Map<unknown, any> =>
  new Map(rows.map((row) => [row[key], row]));
const ids = (rows: any[]): unknown[] => rows.map((row) => row.id).sort(compareIds);
function compareIds(a: any, b: any): number {
  return typeof a === 'number' && typeof b === 'number'
    ? a - b
    : String(a).localeCompare(String(b));
}

describe('streams other than the deals family', () => {
  const fake = new FakePipedrive({ seed: 11, sizes: { notes: 1200 } });
  let config: Record<string, unknown>;
  let catalog: Map<string, any>;
  const validators = new Map<string, ValidateFunction>();

  const read = (
    streams: Array<string | { name: string; syncMode: 'full_refresh' | 'incremental' }>,
    state?: unknown,
    extraConfig: Record<string, unknown> = {},
  ): Promise<RunResult> =>
    runConnector(['read'], {
      config: { ...config, ...extraConfig },
      catalog: configuredCatalog(streams),
      state,
      timeoutMs: 60_000,
    });
  const incrementalCatalog = () =>
    INCREMENTAL.map((name) => ({ name, syncMode: 'incremental' as const }));
  const customKey = (entity: (typeof ENTITIES)[number], name: string): string => {
    const field = fake.fields()[entity].find((definition) => definition.name === name);
    if (!field) throw new Error(`no custom field ${name}`);
    return field.key;
  };
  /** List requests per path since the last resetStats(). */
  const listCalls = (path: string): JsonObject[] =>
    fake.requestLog.filter((entry) => entry.path === path) as any;

  function expectCleanRun(result: RunResult, streams: string[]): void {
    expect(errorsOf(result)).toEqual([]);
    expect(result.code).toBe(0);
    expectValidProtocol(result);
    for (const name of streams) {
      expect(statusesOf(result, name)).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
      const validate = validators.get(name)!;
      for (const row of recordsOf(result, name)) {
        if (!validate(row)) {
          throw new Error(
            `${name} record ${JSON.stringify(row).slice(0, 300)} does not match its schema: ${JSON.stringify(validate.errors)}`,
          );
        }
      }
    }
  }

  beforeAll(async () => {
    await fake.start();
    config = { api_token: fake.token, api_url: fake.url };
    const discovered = await runConnector(['discover'], { config });
    expect(discovered.code).toBe(0);
    expectValidProtocol(discovered);
    const streams: any[] = ofType(discovered, 'CATALOG')[0].catalog.streams;
    catalog = new Map(streams.map((stream) => [stream.name, stream]));
    const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
    addFormats(ajv);
    for (const keyword of ['x-foreign-key', 'x-pipedrive-field-key', 'x-pipedrive-field-part']) {
      ajv.addKeyword(keyword);
    }
    for (const name of ALL) validators.set(name, ajv.compile(catalog.get(name).json_schema));
  });
  afterAll(() => fake.stop());

  describe('discover', () => {
    test.each(ALL)('%s: seed columns, keys, sync modes, nullability', (name) => {
      const stream = catalog.get(name);
      expect(stream).toBeDefined();
      const { pk, cursor } = STREAMS[name];
      const properties = stream.json_schema.properties;
      expect(stream.json_schema.additionalProperties).toBe(true);
      for (const column of SEED_COLUMNS[name]) expect(Object.keys(properties)).toContain(column);
      expect(stream.source_defined_primary_key).toEqual(pk.map((key) => [key]));
      if (cursor) {
        expect(stream.supported_sync_modes).toEqual(['full_refresh', 'incremental']);
        expect(stream.default_cursor_field).toEqual([cursor]);
        expect(properties[cursor].format).toBe('date-time');
      } else {
        expect(stream.supported_sync_modes).toEqual(['full_refresh']);
      }
      for (const [column, property] of Object.entries<any>(properties)) {
        const types = Array.isArray(property.type) ? property.type : [property.type];
        if (pk.includes(column)) expect(types).not.toContain('null');
        else expect([column, types]).toEqual([column, expect.arrayContaining(['null'])]);
      }
    });

    test('real types, references and the account custom fields by name and type', () => {
      const props = (name: string) => catalog.get(name).json_schema.properties;
      expect(props('persons').id.type).toBe('integer');
      expect(props('leads').id.type).toBe('string');
      expect(props('notes').active_flag.type).toEqual(['null', 'boolean']);
      expect(props('users').is_admin.type).toEqual(['null', 'boolean']);
      expect(props('teams').deleted_flag.type).toEqual(['null', 'boolean']);
      expect(props('activities').due_date).toMatchObject({ format: 'date' });
      expect(props('products_prices').price.type).toEqual(['null', 'number']);
      const references: Array<[string, string, string]> = [
        ['persons', 'org_id', 'organizations.id'],
        ['persons', 'owner_id', 'users.id'],
        ['organizations', 'owner_id', 'users.id'],
        ['activities', 'deal_id', 'deals.id'],
        ['activities', 'org_id', 'organizations.id'],
        ['activities', 'type', 'activity_types.key_string'],
        ['notes', 'deal_id', 'deals.id'],
        ['notes', 'user_id', 'users.id'],
        ['persons_emails', 'id', 'persons.id'],
        ['persons_phones', 'id', 'persons.id'],
        ['products_prices', 'id', 'products.id'],
        ['teams_users', 'team_id', 'teams.id'],
        ['teams_users', 'user_id', 'users.id'],
        ['teams', 'manager_id', 'users.id'],
        ['stages', 'pipeline_id', 'pipelines.id'],
        ['deal_fields_options', 'field_id', 'deal_fields.id'],
        ['leads', 'organization_id', 'organizations.id'],
      ];
      for (const [stream, column, target] of references) {
        expect([stream, column, props(stream)[column]['x-foreign-key']]).toEqual([
          stream,
          column,
          target,
        ]);
      }
      const custom: Array<[string, string, string, string?]> = [
        ['persons', 'lifetime_value', 'number'],
        ['persons', 'lifetime_value_currency', 'string'],
        ['persons', 'meeting_window_until', 'string'],
        ['persons', 'linked_deal', 'integer'],
        ['organizations', 'employees', 'integer'],
        ['organizations', 'tier', 'string'],
        ['organizations', 'customer_since', 'string', 'date'],
        ['products', 'sku_group', 'string'],
        ['products', 'warranty_years', 'number'],
        ['activities', 'call_rating', 'integer'],
        ['activities', 'follow_up_topics', 'array'],
        ['leads', 'contract_value', 'number'],
        ['leads', 'is_renewal', 'boolean'],
        ['leads', 'go_live_date', 'string', 'date'],
      ];
      for (const [stream, column, type, format] of custom) {
        const property = props(stream)[column];
        expect([stream, column, property?.type]).toEqual([stream, column, ['null', type]]);
        if (format) expect(property.format).toBe(format);
      }
      // Inactive custom fields get no column; the raw keys never become columns.
      expect(Object.keys(props('leads'))).not.toContain('legacy_score');
      for (const name of ['persons', 'organizations', 'products', 'activities', 'leads']) {
        expect(Object.keys(props(name)).filter((key) => /^[0-9a-f]{40}$/.test(key))).toEqual([]);
      }
    });
  });

  describe('full refresh of every stream', () => {
    let result: RunResult;
    beforeAll(async () => {
      fake.resetStats();
      result = await read(ALL);
    });

    test('clean run: valid protocol, COMPLETE, records match the discovered schemas', () => {
      expectCleanRun(result, ALL);
      for (const name of ALL) expect(statesOf(result, name).length).toBeGreaterThanOrEqual(1);
    });

    test('field definitions and their options', () => {
      const fields = fake.fields();
      for (const entity of ENTITIES) {
        const rows = recordsOf(result, `${entity}_fields`);
        expect(ids(rows)).toEqual(ids(fields[entity]));
        const options = recordsOf(result, `${entity}_fields_options`);
        const expected = fields[entity].flatMap((field) =>
          (field.options ?? []).map((option) => `${field.id}:${option.id}:${option.label}`),
        );
        expect(
          options.map((o) => `${o.field_id}:${o.options__id}:${o.options__label}`).sort(),
        ).toEqual(expected.sort());
      }
      const status = recordsOf(result, 'deal_fields').find((row) => row.key === 'status');
      expect(status).toMatchObject({ active_flag: true, field_type: 'status' });
      expect(status.add_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      const legacy = recordsOf(result, 'deal_fields').find((row) => row.name === 'Legacy Score');
      expect(legacy.active_flag).toBe(false);
    });

    test('account-level streams', () => {
      const users = recordsOf(result, 'users');
      expect(ids(users)).toEqual(ids(fake.list('users')));
      expect(byId(users).get(1).is_admin).toBe(true);
      expect(byId(users).get(2).is_admin).toBe(false);
      expect(ids(recordsOf(result, 'currencies'))).toEqual(ids(fake.list('currencies')));
      const labels = recordsOf(result, 'lead_labels');
      expect(ids(labels)).toEqual(ids(fake.list('leadLabels')));
      expect(labels[0].update_time).toMatch(/Z$/);
      expect(ids(recordsOf(result, 'activity_types'))).toEqual(ids(fake.list('activityTypes')));
      expect(ids(recordsOf(result, 'stages'))).toEqual(ids(fake.list('stages')));
      expect(ids(recordsOf(result, 'pipelines'))).toEqual(ids(fake.list('pipelines')));
    });

    test('teams and their members; deleted teams carry _ab_cdc_deleted_at', () => {
      const teams = fake.list('teams');
      const rows = recordsOf(result, 'teams');
      expect(ids(rows)).toEqual(ids(teams));
      const members = recordsOf(result, 'teams_users');
      expect(members.map((m) => `${m.team_id}:${m.user_id}`).sort()).toEqual(
        teams
          .flatMap((team) => (team.users as number[]).map((user) => `${team.id}:${user}`))
          .sort(),
      );
      for (const team of teams) {
        const row = byId(rows).get(team.id);
        const deleted = team.deleted_flag === 1;
        expect(row).toMatchObject({
          deleted_flag: deleted,
          is_deleted: deleted,
          active_flag: team.active_flag === 1,
        });
        expect(row._ab_cdc_deleted_at !== null).toBe(deleted);
        for (const member of members.filter((m) => m.team_id === team.id)) {
          expect(member._ab_cdc_deleted_at).toBe(row._ab_cdc_deleted_at);
        }
      }
      expect(teams.some((team) => team.deleted_flag === 1)).toBe(true);
    });

    test('persons, their emails and phones, with named custom fields', () => {
      const persons = fake.list('persons').filter((person) => !person.is_deleted);
      const rows = byId(recordsOf(result, 'persons'));
      expect([...rows.keys()].sort(compareIds)).toEqual(ids(persons));
      const lifetime = customKey('person', 'Lifetime Value');
      const linkedDeal = customKey('person', 'Linked Deal');
      const window = customKey('person', 'Meeting Window');
      for (const person of persons) {
        const row = rows.get(person.id);
        const custom = person.custom_fields as any;
        expect(row).toMatchObject({
          name: person.name,
          org_id: person.org_id,
          owner_id: person.owner_id,
          update_time: person.update_time,
          lifetime_value: custom[lifetime]?.value ?? null,
          lifetime_value_currency: custom[lifetime]?.currency ?? null,
          linked_deal: custom[linkedDeal] ?? null,
          meeting_window: custom[window]?.value ?? null,
          meeting_window_until: custom[window]?.until ?? null,
          _ab_cdc_deleted_at: null,
        });
        expect(row).not.toHaveProperty('custom_fields');
      }
      for (const [stream, field, kind] of [
        ['persons_emails', 'emails', 'email'],
        ['persons_phones', 'phones', 'phone'],
      ] as const) {
        const expected = persons.flatMap((person) =>
          (person[field] as any[]).map(
            (entry) =>
              `${person.id}|${entry.value}|${entry.label}|${entry.primary}|${person.update_time}`,
          ),
        );
        const got = recordsOf(result, stream).map(
          (row) =>
            `${row.id}|${row[`${kind}_value`]}|${row[`${kind}_label`]}|${row[`${kind}_primary`]}|${row.person_update_time}`,
        );
        expect(got.sort()).toEqual(expected.sort());
      }
    });

    test('organizations and products (with prices), with named custom fields', () => {
      const organizations = fake.list('organizations').filter((org) => !org.is_deleted);
      const orgRows = byId(recordsOf(result, 'organizations'));
      expect([...orgRows.keys()].sort(compareIds)).toEqual(ids(organizations));
      const employees = customKey('organization', 'Employees');
      const since = customKey('organization', 'Customer Since');
      for (const org of organizations) {
        expect(orgRows.get(org.id)).toMatchObject({
          name: org.name,
          owner_id: org.owner_id,
          employees: (org.custom_fields as any)[employees] ?? null,
          customer_since: (org.custom_fields as any)[since] ?? null,
        });
      }

      const products = fake.list('products').filter((product) => !product.is_deleted);
      const productRows = byId(recordsOf(result, 'products'));
      expect([...productRows.keys()].sort(compareIds)).toEqual(ids(products));
      const skuGroup = fake.fields().product.find((field) => field.name === 'SKU Group')!;
      for (const product of products) {
        const option = (product.custom_fields as any)[skuGroup.key];
        expect(productRows.get(product.id)).toMatchObject({
          name: product.name,
          tax: product.tax,
          price: null,
          sku_group: skuGroup.options!.find((o) => o.id === option)?.label ?? null,
        });
      }
      const prices = recordsOf(result, 'products_prices');
      const expected = products.flatMap((product) =>
        (product.prices as any[]).map(
          (p) =>
            `${product.id}|${p.product_id}|${p.currency}|${p.price}|${p.cost}|${p.direct_cost}|${p.notes}|${product.update_time}`,
        ),
      );
      expect(
        prices
          .map(
            (p) =>
              `${p.id}|${p.product_id}|${p.currency}|${p.price}|${p.cost}|${p.direct_cost}|${p.notes}|${p.product_update_time}`,
          )
          .sort(),
      ).toEqual(expected.sort());
    });

    test('activities, notes and leads (active and archived)', () => {
      const activities = fake.list('activities').filter((activity) => !activity.is_deleted);
      const activityRows = byId(recordsOf(result, 'activities'));
      expect(recordsOf(result, 'activities')).toHaveLength(activities.length);
      for (const activity of activities) {
        expect(activityRows.get(activity.id)).toMatchObject({
          subject: activity.subject,
          type: activity.type,
          busy: activity.busy,
          busy_flag: activity.busy,
          due_date: activity.due_date,
          done: activity.done,
          last_notification_time: null,
        });
      }

      const notes = fake.list('notes').filter((note) => note.active_flag !== false);
      const noteRows = recordsOf(result, 'notes');
      // Keyset paging over 1200 notes: every note once, nothing invented.
      expect(noteRows).toHaveLength(notes.length);
      expect(ids(noteRows)).toEqual(ids(notes));
      const notesById = byId(noteRows);
      for (const note of notes) {
        expect(notesById.get(note.id)).toMatchObject({
          content: note.content,
          update_time: rfc3339(note.update_time),
          add_time: rfc3339(note.add_time),
          person__name: (note.person as any)?.name ?? null,
          deal__title: (note.deal as any)?.title ?? null,
          organization__name: (note.organization as any)?.name ?? null,
          user__email: (note.user as any)?.email ?? null,
          user__name: (note.user as any)?.name ?? null,
          is_deleted: false,
          _ab_cdc_deleted_at: null,
        });
      }
      expect(listCalls('/api/v1/notes').length).toBeLessThanOrEqual(4);

      const leads = fake.list('leads');
      const leadRows = byId(recordsOf(result, 'leads'));
      expect(recordsOf(result, 'leads')).toHaveLength(leads.length);
      expect([...leadRows.keys()].sort(compareIds)).toEqual(ids(leads));
      const contract = customKey('deal', 'Contract Value');
      const seats = customKey('deal', 'Seats');
      for (const lead of leads) {
        const row = leadRows.get(lead.id);
        expect(row).toMatchObject({
          title: lead.title,
          is_archived: lead.is_archived,
          update_time: rfc3339(lead.update_time),
          value_amount: (lead.value as any)?.amount ?? null,
          contract_value: lead[contract] ?? null,
          contract_value_currency: lead[`${contract}_currency`] ?? null,
          seats: lead[seats] ?? null,
        });
        expect(Object.keys(row).filter((key) => /^[0-9a-f]{40}/.test(key))).toEqual([]);
      }
      expect(leads.filter((lead) => lead.is_archived).length).toBe(fake.sizes.archivedLeads);
    });
  });

  describe('incremental syncs', () => {
    let first: RunResult;
    let unchanged: RunResult;
    let changed: RunResult;
    const cursorOf = (result: RunResult, name: string, key = 'update_time'): string =>
      statesOf(result, name).at(-1).state.stream.stream_state[key];
    const changes: Record<string, Set<unknown>> = {};
    let changedPerson: JsonObject;
    let removedPerson: JsonObject;
    let newPerson: JsonObject;
    let changedProduct: JsonObject;
    let archivedLead: JsonObject;
    let newNotes: JsonObject[];
    let removedNote: JsonObject;
    /** Rows the fake serves before the changes, per stream. */
    const servedBefore: Record<string, number> = {};
    const unchangedCalls: Record<string, number> = {};

    beforeAll(async () => {
      first = await read(incrementalCatalog());
      servedBefore.persons = fake.list('persons').filter((p) => !p.is_deleted).length;
      servedBefore.notes = fake.list('notes').filter((n) => n.active_flag !== false).length;
      servedBefore.leads = fake.list('leads').length;
      servedBefore.products_prices = fake
        .list('products')
        .reduce((sum, product) => sum + (product.prices as any[]).length, 0);
      fake.resetStats();
      unchanged = await read(incrementalCatalog(), lastStates(first));
      for (const path of Object.values(LIST_ENDPOINTS).flat()) {
        unchangedCalls[path] = listCalls(path).length;
      }

      // Users at work, one hour later.
      fake.clock.advance(3600);
      const persons = fake.list('persons').filter((person) => !person.is_deleted);
      const lifetime = customKey('person', 'Lifetime Value');
      const single = persons.find((person) => (person.emails as any[]).length === 1)!;
      changedPerson = fake.update('persons', single.id as number, {
        name: 'Renamed Person',
        emails: [
          ...(single.emails as any[]),
          { value: 'second@example.net', primary: false, label: 'other' },
        ],
        custom_fields: { [lifetime]: { value: 1234.5, currency: 'USD' } },
      });
      removedPerson = persons[5];
      fake.remove('persons', removedPerson.id as number);
      newPerson = fake.insert('persons', { name: 'New Person' });
      const org = fake.update('organizations', 7, {
        name: 'Renamed Org',
        custom_fields: { [customKey('organization', 'Employees')]: 4242 },
      });
      changedProduct = fake.setProductPrices(3, [
        { currency: 'EUR', price: 10 },
        { currency: 'USD', price: 12, cost: 5 },
      ]);
      const activity = fake.update('activities', 11, { subject: 'Changed subject', done: true });
      const newActivity = fake.insert('activities', { subject: 'New activity' });
      newNotes = [
        fake.insert('notes', { content: 'New note 1' }),
        fake.insert('notes', { content: 'New note 2' }),
      ];
      const note = fake.update('notes', 20, { content: 'Edited note' });
      removedNote = fake.list('notes')[30];
      fake.remove('notes', removedNote.id as number);
      const leads = fake.list('leads').filter((lead) => !lead.is_archived);
      archivedLead = fake.archive('leads', leads[0].id as string);
      const editedLead = fake.update('leads', leads[1].id as string, { title: 'Edited lead' });

      changes.persons = new Set([changedPerson.id, newPerson.id]);
      changes.organizations = new Set([org.id]);
      changes.products = new Set([changedProduct.id]);
      changes.activities = new Set([activity.id, newActivity.id]);
      changes.notes = new Set([...newNotes.map((n) => n.id), note.id]);
      changes.leads = new Set([archivedLead.id, editedLead.id]);

      fake.resetStats();
      changed = await read(incrementalCatalog(), lastStates(unchanged));
    });

    test('the first incremental sync reads everything and checkpoints every stream', () => {
      expectCleanRun(first, INCREMENTAL);
      for (const name of ['persons', 'notes', 'leads', 'products_prices']) {
        expect([name, recordsOf(first, name).length]).toEqual([name, servedBefore[name]]);
      }
      for (const name of INCREMENTAL) {
        expect(cursorOf(first, name)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      }
      expect(cursorOf(first, 'leads', 'archived_update_time')).toMatch(/Z$/);
      // Children keep the parent's position.
      expect(cursorOf(first, 'persons_emails')).toBe(cursorOf(first, 'persons'));
      expect(cursorOf(first, 'products_prices')).toBe(cursorOf(first, 'products'));
    });

    test('nothing changed: one list call per endpoint, only the boundary second again', () => {
      expectCleanRun(unchanged, INCREMENTAL);
      for (const [path, calls] of Object.entries(unchangedCalls)) {
        expect([path, calls]).toEqual([path, 1]);
      }
      for (const name of INCREMENTAL) {
        const cursor = STREAMS[name].cursor!;
        for (const row of recordsOf(unchanged, name)) {
          expect(row[cursor] >= cursorOf(first, name) || name === 'leads').toBe(true);
        }
        expect(cursorOf(unchanged, name)).toBe(cursorOf(first, name));
        expect(recordsOf(unchanged, name).length).toBeLessThan(10);
      }
    });

    test('every change arrives, with one list call per endpoint', () => {
      expectCleanRun(changed, INCREMENTAL);
      for (const path of Object.values(LIST_ENDPOINTS).flat()) {
        expect([path, listCalls(path).length]).toEqual([path, 1]);
      }
      // Only changes and the records of the saved cursor's second are read again.
      for (const [stream, changedIds] of Object.entries(changes)) {
        const got = new Set(recordsOf(changed, stream).map((row) => row.id));
        for (const id of changedIds) expect([stream, id, got.has(id)]).toEqual([stream, id, true]);
        for (const row of recordsOf(changed, stream)) {
          if (changedIds.has(row.id)) continue;
          const boundary = stream === 'leads' ? null : cursorOf(unchanged, stream);
          if (boundary)
            expect([stream, row.id, row.update_time]).toEqual([stream, row.id, boundary]);
        }
      }
      const now = fake.clock
        .now()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z');
      for (const name of INCREMENTAL) expect([name, cursorOf(changed, name)]).toEqual([name, now]);
      expect(cursorOf(changed, 'leads', 'archived_update_time')).toBe(now);
    });

    test('changed values, children and custom fields', () => {
      const person = byId(recordsOf(changed, 'persons')).get(changedPerson.id);
      expect(person).toMatchObject({
        name: 'Renamed Person',
        lifetime_value: 1234.5,
        lifetime_value_currency: 'USD',
        update_time: changedPerson.update_time,
      });
      const emails = recordsOf(changed, 'persons_emails').filter((e) => e.id === changedPerson.id);
      expect(emails.map((e) => e.email_value).sort()).toEqual(
        (changedPerson.emails as any[]).map((e) => e.value).sort(),
      );
      for (const email of emails) expect(email.person_update_time).toBe(changedPerson.update_time);
      expect(byId(recordsOf(changed, 'persons')).get(newPerson.id).name).toBe('New Person');
      expect(byId(recordsOf(changed, 'organizations')).get(7)).toMatchObject({
        name: 'Renamed Org',
        employees: 4242,
      });
      const prices = recordsOf(changed, 'products_prices').filter(
        (p) => p.id === changedProduct.id,
      );
      expect(
        prices.map((p) => [p.currency, p.price, p.cost, p.product_update_time]).sort(),
      ).toEqual([
        ['EUR', 10, 0, changedProduct.update_time],
        ['USD', 12, 5, changedProduct.update_time],
      ]);
      expect(byId(recordsOf(changed, 'activities')).get(11)).toMatchObject({
        subject: 'Changed subject',
        done: true,
      });
      const notes = byId(recordsOf(changed, 'notes'));
      expect(notes.get(20).content).toBe('Edited note');
      for (const note of newNotes) expect(notes.get(note.id).content).toBe(note.content);
      const leads = recordsOf(changed, 'leads');
      const archived = leads.filter((lead) => lead.id === archivedLead.id);
      expect(archived.at(-1)).toMatchObject({ is_archived: true });
    });

    test('deletes: the v2 lists and /v1/notes do not return deleted records', () => {
      // Pipedrive's lists offer no parameter for deleted persons, organizations, activities,
      // products or notes: they are not in the next sync (documented in the README).
      expect(recordsOf(changed, 'persons').map((p) => p.id)).not.toContain(removedPerson.id);
      expect(recordsOf(changed, 'notes').map((n) => n.id)).not.toContain(removedNote.id);
      for (const name of INCREMENTAL) {
        for (const row of recordsOf(changed, name)) expect(row._ab_cdc_deleted_at).toBeNull();
      }
    });

    test('notes_update_window_days re-reads notes updated that many days before the cursor', async () => {
      fake.resetStats();
      const result = await read([{ name: 'notes', syncMode: 'incremental' }], lastStates(changed), {
        notes_update_window_days: 2,
      });
      expectCleanRun(result, ['notes']);
      const cursor = cursorOf(changed, 'notes');
      const expectedSince = new Date(Date.parse(cursor) - 2 * 86_400_000)
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z');
      const calls = listCalls('/api/v1/notes');
      expect(calls[0]).toMatchObject({
        query: expect.objectContaining({ updated_since: expectedSince, sort: 'update_time ASC' }),
      });
      const got = new Set(recordsOf(result, 'notes').map((note) => note.id));
      for (const id of changes.notes) expect(got.has(id)).toBe(true);
      for (const note of recordsOf(result, 'notes')) {
        expect(note.update_time >= expectedSince).toBe(true);
      }
      // The cursor never moves back.
      expect(cursorOf(result, 'notes')).toBe(cursor);
    });
  });

  test('a state in the future: no records, a STATE per stream, positions kept', async () => {
    const state = INCREMENTAL.map((name) => ({
      type: 'STREAM',
      stream: {
        stream_descriptor: { name },
        // Delete detection: nothing known yet, and checked far in the future (not due).
        stream_state: {
          update_time: FAR_FUTURE,
          archived_update_time: FAR_FUTURE,
          known_ids: ';',
          deletes_checked_at: FAR_FUTURE,
        },
      },
    }));
    fake.resetStats();
    const result = await read(incrementalCatalog(), state);
    expectCleanRun(result, INCREMENTAL);
    for (const name of INCREMENTAL) {
      expect([name, recordsOf(result, name).length]).toEqual([name, 0]);
      const states = statesOf(result, name);
      expect(states.length).toBeGreaterThanOrEqual(1);
      expect(states.at(-1).state.stream.stream_state.update_time).toBe(FAR_FUTURE);
    }
    for (const paths of Object.values(LIST_ENDPOINTS)) {
      for (const path of paths) expect([path, listCalls(path).length]).toEqual([path, 1]);
    }
  });

  test('/legacyTeams answering 410: teams streams warn and complete empty', async () => {
    fake.legacyTeamsGone = true;
    try {
      const result = await read(['teams', 'teams_users', 'currencies']);
      expectCleanRun(result, ['teams', 'teams_users', 'currencies']);
      expect(recordsOf(result, 'teams')).toEqual([]);
      expect(recordsOf(result, 'teams_users')).toEqual([]);
      expect(recordsOf(result, 'currencies').length).toBeGreaterThan(0);
      const warnings = ofType(result, 'LOG').filter(
        (m) => m.log.level === 'WARN' && /legacyTeams/.test(m.log.message),
      );
      expect(warnings).toHaveLength(1);
      expect(warnings[0].log.message).toMatch(/410/);
    } finally {
      fake.legacyTeamsGone = false;
    }
  });
});
