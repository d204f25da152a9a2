import fs from 'node:fs';
import path from 'node:path';

import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

import { FakePipedrive, JsonObject } from './fake-pipedrive';
import { ENDPOINTS } from './fake-pipedrive/endpoints';
import {
  getOperation,
  loadOpenApi,
  makeNullable,
  OPENAPI_DIR,
  openApiAvailable,
  OpenApiDocument,
  responseSchema,
  toJsonSchema,
} from './fake-pipedrive/openapi';
import { REPO_ROOT } from './helpers/protocol';

/**
 * The fake's answers, endpoint by endpoint, against Pipedrive's official OpenAPI files. The
 * check is strict at the record level (every documented property present, nothing undeclared)
 * so the fake cannot drift; where the files are known to be wrong about the real API, the case
 * says so explicitly (`nullable`, `optional`, `undocumented`), one reason per entry.
 */

interface ContractCase {
  /** Request path (plus query) sent to the fake. */
  request: string | ((fake: FakePipedrive) => string);
  version: 'v1' | 'v2';
  /** Path of the operation in the OpenAPI file. */
  specPath: string;
  status?: number;
  token?: string;
  /** Declared non-nullable, but null in real data (Pipedrive's files rarely mark nullability). */
  nullable?: string[];
  /** Declared, but only present in some records or only on request. */
  optional?: string[];
  /** Sent by the real API, missing from the file. */
  undocumented?: string[];
  /** v1 leads carry the deal custom fields flat at the root. */
  customFieldsAtRoot?: boolean;
  /** The file wraps the list items in a whole response (`{success, data}`): unwrap it. */
  itemsWrapped?: boolean;
  /** The records sit one level down, in this property of `data` (goals: `data.goals`). */
  recordAt?: string;
  /** The stream whose schema (resources/schemas) must declare every field of the record. */
  stream?: string;
  /** The file's item schema is wrong: the schema to check records against, built from it. */
  itemSchema?: (documented: JsonObject) => JsonObject;
}

const CUSTOM_FIELD_KEY = '^[0-9a-f]{40}(_[a-z0-9_]+)?$';

/** Undeclared in the deal schema, yet in the file's own example and in real answers. */
const DEAL_EXTRAS = [
  'creator_user_id',
  'archive_time',
  'local_won_date',
  'local_lost_date',
  'local_close_date',
];
/** Open deals have no won/lost time, many deals no person or organization. */
const DEAL_NULLABLE = [
  'person_id',
  'org_id',
  'stage_change_time',
  'won_time',
  'lost_time',
  'expected_close_date',
];
const PERSON_NULLABLE = [
  'org_id',
  'picture_id',
  'postal_address',
  'notes',
  'birthday',
  'job_title',
];
const ACTIVITY_NULLABLE = [
  'deal_id',
  'lead_id',
  'person_id',
  'org_id',
  'project_id',
  'due_time',
  'duration',
  'location',
  'marked_as_done_time',
  'conference_meeting_client',
  'conference_meeting_url',
  'conference_meeting_id',
  'public_description',
  'priority',
  'note',
];
/** v2 products carry these (and `updated_since` filters on update_time); the file omits them. */
const PRODUCT_EXTRAS = ['description', 'category', 'add_time', 'update_time'];
/** A mail party that is no person in Pipedrive (the user's own address) links to nothing. */
const PARTY_NULLABLE = ['linked_person_id', 'linked_person_name'];
/** Standard fields have no creator; `subfields` etc. only exist where they apply. */
const FIELD_CONTRACT: Partial<ContractCase> = {
  nullable: ['last_updated_by_user_id', 'created_by_user_id'],
  optional: ['options_deleted', 'is_subfield', 'subfields'],
  undocumented: ['json_column_flag'],
};

/** Deals without a person or organization leave a project without them; open ones have no end. */
const PROJECT_NULLABLE = ['description', 'end_date', 'org_id', 'person_id', 'archive_time'];
/** Top-level and unassigned tasks, tasks without a due date, open tasks. */
const TASK_NULLABLE = [
  'description',
  'parent_task_id',
  'assignee_id',
  'due_date',
  'marked_as_done_time',
];
/** Counters and activity dates of a person that the fake does not compute. */
const PERSON_COUNTERS = /_count$|^(next|last)_activity_|^last_(incoming|outgoing)_mail_time$/;

/**
 * The file declares each deal participant to be a Person, yet its own example (like the API)
 * wraps the person: the relation's id, add time and flag, `person_id` and `added_by_user_id`
 * as objects with a `value`, the deal, and the Person itself under `person`.
 */
function participantItem(person: JsonObject): JsonObject {
  const properties = person.properties as Record<string, JsonObject>;
  const object = (shape: Record<string, JsonObject>): JsonObject => ({
    type: 'object',
    properties: shape,
    required: Object.keys(shape),
    additionalProperties: false,
  });
  return {
    type: 'object',
    properties: {
      id: { type: 'integer' },
      person_id: object({
        active_flag: { type: 'boolean' },
        name: { type: 'string' },
        email: properties.email,
        phone: properties.phone,
        owner_id: { type: 'integer' },
        value: { type: 'integer' },
      }),
      add_time: { type: 'string', format: 'date-time' },
      active_flag: { type: 'boolean' },
      related_item_data: object({ deal_id: { type: 'integer' }, title: { type: 'string' } }),
      person: {
        ...person,
        required: Object.keys(properties).filter((name) => !PERSON_COUNTERS.test(name)),
        additionalProperties: false,
      },
      // The same user object as the person's owner.
      added_by_user_id: properties.owner_id,
      related_item_type: { type: 'string', enum: ['deal'] },
      related_item_id: { type: 'integer' },
    },
  };
}

const CASES: ContractCase[] = [
  // ---- v2 ----
  {
    version: 'v2',
    specPath: '/deals',
    request: '/api/v2/deals?limit=500&status=open,won,lost,deleted',
    nullable: DEAL_NULLABLE,
    undocumented: DEAL_EXTRAS,
  },
  {
    version: 'v2',
    specPath: '/deals/archived',
    request: '/api/v2/deals/archived?limit=500',
    nullable: DEAL_NULLABLE,
    undocumented: DEAL_EXTRAS,
  },
  {
    version: 'v2',
    specPath: '/deals/{id}',
    request: '/api/v2/deals/3?include_fields=products_count',
    nullable: DEAL_NULLABLE,
    undocumented: [...DEAL_EXTRAS, 'products_count'],
  },
  {
    version: 'v2',
    specPath: '/deals/products',
    request: `/api/v2/deals/products?limit=500&deal_ids=${Array.from({ length: 100 }, (_, i) => i + 1).join(',')}`,
    // Pipedrive's changelog: product_id becomes null when the catalogue product is hard-deleted.
    nullable: ['product_id'],
  },
  {
    version: 'v2',
    specPath: '/deals/{id}/products',
    request: (fake) => `/api/v2/deals/${dealWithProducts(fake)}/products`,
    nullable: ['product_id'],
  },
  {
    version: 'v2',
    specPath: '/persons',
    request: '/api/v2/persons?limit=500',
    nullable: PERSON_NULLABLE,
  },
  {
    version: 'v2',
    specPath: '/persons/{id}',
    request: '/api/v2/persons/5',
    nullable: PERSON_NULLABLE,
  },
  {
    version: 'v2',
    specPath: '/organizations',
    request: '/api/v2/organizations?limit=500',
    nullable: ['address'],
  },
  {
    version: 'v2',
    specPath: '/organizations/{id}',
    request: '/api/v2/organizations/5',
    nullable: ['address'],
  },
  {
    version: 'v2',
    specPath: '/activities',
    request: '/api/v2/activities?limit=500&include_fields=attendees',
    // A user attendee has no person, a person no user, an outside guest neither.
    nullable: [...ACTIVITY_NULLABLE, 'attendees.person_id', 'attendees.user_id'],
  },
  {
    version: 'v2',
    specPath: '/activities/{id}',
    request: '/api/v2/activities/5',
    nullable: ACTIVITY_NULLABLE,
    // Only sent with include_fields=attendees.
    optional: ['attendees'],
  },
  {
    version: 'v2',
    specPath: '/products',
    request: '/api/v2/products?limit=500',
    itemsWrapped: true,
    undocumented: PRODUCT_EXTRAS,
  },
  {
    version: 'v2',
    specPath: '/products/{id}',
    request: '/api/v2/products/5',
    undocumented: PRODUCT_EXTRAS,
  },
  { version: 'v2', specPath: '/pipelines', request: '/api/v2/pipelines' },
  { version: 'v2', specPath: '/pipelines/{id}', request: '/api/v2/pipelines/1' },
  { version: 'v2', specPath: '/stages', request: '/api/v2/stages?limit=500' },
  { version: 'v2', specPath: '/stages/{id}', request: '/api/v2/stages/2' },
  ...(['deals', 'persons', 'organizations', 'products'] as const).map((table): ContractCase => ({
    version: 'v2',
    specPath: `/${table}/{id}/followers`,
    request: (fake) =>
      `/api/v2/${table}/${firstWith(fake, table, (id) => fake.followersOf(table, id))}/followers`,
  })),
  {
    version: 'v2',
    specPath: '/deals/installments',
    request: (fake) =>
      `/api/v2/deals/installments?limit=500&deal_ids=${idsWith(fake, 'deals', (id) => fake.installmentsOf(id)).join(',')}`,
  },
  {
    version: 'v2',
    specPath: '/products/{id}/variations',
    request: (fake) =>
      `/api/v2/products/${firstWith(fake, 'products', (id) => fake.productVariationsOf(id))}/variations`,
  },
  // ---- v1 ----
  {
    version: 'v1',
    specPath: '/users',
    request: '/api/v1/users',
    // Both in real answers (is_admin is on Pipedrive's docs page, the other in the product spec).
    undocumented: ['is_admin', 'signup_flow_variation'],
  },
  {
    version: 'v1',
    specPath: '/users/me',
    request: '/api/v1/users/me',
    undocumented: ['is_admin', 'signup_flow_variation'],
  },
  {
    version: 'v1',
    specPath: '/users/me',
    request: '/v1/users/me',
    status: 401,
    token: 'wrong-token',
  },
  {
    version: 'v1',
    specPath: '/activityTypes',
    request: '/api/v1/activityTypes',
    // Built-in types have no colour.
    nullable: ['color'],
  },
  { version: 'v1', specPath: '/currencies', request: '/api/v1/currencies' },
  { version: 'v1', specPath: '/leadLabels', request: '/api/v1/leadLabels' },
  {
    version: 'v1',
    specPath: '/dealFields',
    request: '/api/v1/dealFields?limit=500',
    ...FIELD_CONTRACT,
  },
  {
    version: 'v1',
    specPath: '/personFields',
    request: '/api/v1/personFields?limit=500',
    ...FIELD_CONTRACT,
  },
  {
    version: 'v1',
    specPath: '/organizationFields',
    request: '/api/v1/organizationFields?limit=500',
    ...FIELD_CONTRACT,
  },
  {
    version: 'v1',
    specPath: '/productFields',
    request: '/api/v1/productFields?limit=500',
    // The product field schema is a separate, thinner copy: no visibility flags, and `options`
    // not nullable although every field without options answers null.
    nullable: [...(FIELD_CONTRACT.nullable ?? []), 'options'],
    undocumented: ['json_column_flag', 'index_visible_flag', 'details_visible_flag', 'subfields'],
  },
  {
    version: 'v1',
    specPath: '/activityFields',
    request: '/api/v1/activityFields?limit=500',
    ...FIELD_CONTRACT,
  },
  {
    version: 'v1',
    specPath: '/notes',
    request: '/api/v1/notes?limit=500',
    // A note is attached to some of deal, person, organization, lead, project: the rest is null.
    nullable: [
      'deal',
      'deal_id',
      'person',
      'person_id',
      'organization',
      'org_id',
      'lead_id',
      'project',
      'project_id',
      'last_update_user_id',
      'user.icon_url',
    ],
    // Filterable as a query parameter and present in the file's example, not in its schema.
    undocumented: ['pinned_to_lead_flag'],
  },
  {
    version: 'v1',
    specPath: '/leads',
    request: '/api/v1/leads?limit=500&archived_status=all',
    customFieldsAtRoot: true,
  },
  {
    version: 'v1',
    specPath: '/leads/archived',
    request: '/api/v1/leads/archived?limit=500',
    customFieldsAtRoot: true,
  },
  { version: 'v1', specPath: '/legacyTeams', request: '/api/v1/legacyTeams' },
  { version: 'v1', specPath: '/legacyTeams/{id}/users', request: '/api/v1/legacyTeams/1/users' },
  {
    version: 'v1',
    specPath: '/legacyTeams/{id}/users',
    request: '/api/v1/legacyTeams/999/users',
    status: 404,
  },
  {
    version: 'v1',
    specPath: '/deals/{id}/participants',
    // A deal with several participants, so persons with and without organization show up.
    request: (fake) =>
      `/api/v1/deals/${firstWith(fake, 'deals', (id) => (fake.dealParticipantsOf(id) ?? []).slice(2))}/participants`,
    itemSchema: participantItem,
    // Persons without an organization, a picture or a label.
    nullable: ['person.org_id', 'person.org_name', 'person.picture_id', 'person.label'],
  },
  {
    version: 'v1',
    specPath: '/projects',
    request: '/api/v1/projects?limit=500&status=open,completed,canceled,deleted&include_archived=1',
    nullable: PROJECT_NULLABLE,
  },
  { version: 'v1', specPath: '/tasks', request: '/api/v1/tasks', nullable: TASK_NULLABLE },
  { version: 'v1', specPath: '/projects/boards', request: '/api/v1/projects/boards' },
  { version: 'v1', specPath: '/projects/phases', request: '/api/v1/projects/phases?board_id=2' },
  {
    version: 'v1',
    specPath: '/deals/{id}/flow',
    request: (fake) => `/api/v1/deals/${dealWithLongestFlow(fake)}/flow?all_changes=1&limit=500`,
  },
  {
    version: 'v1',
    specPath: '/files',
    stream: 'files',
    request: '/api/v1/files?limit=100&sort=update_time%20DESC',
    // A file hangs on one item: the other items' ids and names are null.
    nullable: [
      'deal_id',
      'person_id',
      'org_id',
      'product_id',
      'activity_id',
      'lead_id',
      'deal_name',
      'person_name',
      'org_name',
      'product_name',
      'lead_name',
    ],
    // Both in the file's example, not in its schema.
    undocumented: ['log_id', 'file_type'],
  },
  {
    version: 'v1',
    specPath: '/filters',
    stream: 'filters',
    request: '/api/v1/filters',
    // In the file's example (null there) and in the add-filter answer's schema.
    undocumented: ['temporary_flag'],
  },
  {
    version: 'v1',
    specPath: '/goals/find',
    stream: 'goals',
    request: '/api/v1/goals/find?assignee.type=person&is_active=true',
    recordAt: 'goals',
    // The add-goal description: `end: null` is an open-ended goal, `pipeline_id: null` / `activity_type_id: null` track all.
    nullable: ['duration.end', 'type.params.pipeline_id', 'type.params.activity_type_id'],
  },
  {
    version: 'v1',
    specPath: '/goals/{id}/results',
    stream: 'goal_results',
    request: (fake) => {
      const goal = fake.list('goals')[0];
      const duration = goal.duration as JsonObject;
      return `/api/v1/goals/${goal.id}/results?period.start=${duration.start}&period.end=${duration.end}`;
    },
  },
  {
    version: 'v1',
    specPath: '/mailbox/mailThreads',
    stream: 'mail_threads',
    request: '/api/v1/mailbox/mailThreads?folder=inbox&limit=500',
    // The user's own address in a thread is no linked person.
    nullable: PARTY_NULLABLE.flatMap((field) => [`parties.to.${field}`, `parties.from.${field}`]),
  },
  {
    version: 'v1',
    specPath: '/mailbox/mailThreads',
    request: '/api/v1/mailbox/mailThreads?folder=sent&limit=500',
    // A thread of only sent messages has received nothing.
    nullable: [
      'last_message_received_timestamp',
      ...PARTY_NULLABLE.flatMap((field) => [`parties.to.${field}`, `parties.from.${field}`]),
    ],
  },
  {
    version: 'v1',
    specPath: '/mailbox/mailThreads/{id}/mailMessages',
    stream: 'mail_messages',
    request: '/api/v1/mailbox/mailThreads/1/mailMessages',
    nullable: PARTY_NULLABLE.flatMap((field) => [`to.${field}`, `from.${field}`]),
    // In the file's example, not in its schema.
    undocumented: ['draft_flag'],
  },
  {
    version: 'v1',
    specPath: '/callLogs',
    stream: 'call_logs',
    request: '/api/v1/callLogs?limit=50',
    // The file's second example leaves out what a call is not linked to (and an empty note).
    optional: ['person_id', 'org_id', 'deal_id', 'lead_id', 'note'],
  },
  {
    version: 'v1',
    specPath: '/leadSources',
    request: '/api/v1/leadSources',
    stream: 'lead_sources',
  },
  {
    version: 'v1',
    specPath: '/noteFields',
    stream: 'note_fields',
    request: '/api/v1/noteFields',
    // The file's own description: "When there are no options, `null` is returned".
    nullable: ['options'],
  },
  {
    version: 'v1',
    specPath: '/permissionSets',
    request: '/api/v1/permissionSets',
    stream: 'permission_sets',
  },
  {
    version: 'v1',
    specPath: '/permissionSets/{id}/assignments',
    stream: 'permission_set_assignments',
    request: (fake) => `/api/v1/permissionSets/${fake.list('permissionSets')[0].id}/assignments`,
  },
  {
    version: 'v1',
    specPath: '/permissionSets/{id}/assignments',
    request: '/api/v1/permissionSets/00000000-0000-4000-8000-000000000000/assignments',
    status: 404,
  },
  {
    version: 'v1',
    specPath: '/roles',
    request: '/api/v1/roles',
    stream: 'roles',
    // The top of the role tree has no parent.
    nullable: ['parent_role_id'],
  },
  {
    version: 'v1',
    specPath: '/roles/{id}/assignments',
    request: '/api/v1/roles/2/assignments',
    stream: 'role_assignments',
  },
];

function caseName(contract: ContractCase): string {
  const status = contract.status ? ` → ${contract.status}` : '';
  return `GET /api/${contract.version}${contract.specPath}${status}`;
}

function dealWithProducts(fake: FakePipedrive): number {
  return fake.list('dealProducts')[0].deal_id as number;
}

/** Ids of the first 100 records of a table with a non-empty child list. */
function idsWith(
  fake: FakePipedrive,
  table: 'deals' | 'persons' | 'organizations' | 'products',
  children: (id: number) => unknown[] | undefined,
): number[] {
  const ids = fake
    .list(table)
    .map((record) => record.id as number)
    .filter((id) => (children(id) ?? []).length > 0);
  return ids.slice(0, 100);
}

function firstWith(
  fake: FakePipedrive,
  table: 'deals' | 'persons' | 'organizations' | 'products',
  children: (id: number) => unknown[] | undefined,
): number {
  const [id] = idsWith(fake, table, children);
  if (id === undefined) throw new Error(`No ${table} record with children to check`);
  return id;
}

function dealWithLongestFlow(fake: FakePipedrive): number {
  const flows = Object.entries(fake.db.flow).sort(
    (left, right) => right[1].length - left[1].length,
  );
  return Number(flows[0][0]);
}

const available = openApiAvailable();
const describeWithOpenApi = available ? describe : describe.skip;

if (!available) {
  test.skip(`OpenAPI files not found in ${OPENAPI_DIR}: contract checks skipped`, () => {});
}

describeWithOpenApi('the fake against Pipedrive’s OpenAPI files', () => {
  const documents: Partial<Record<'v1' | 'v2', OpenApiDocument>> = {};
  const fake = new FakePipedrive({ seed: 4 });
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  // v1 prints `YYYY-MM-DD HH:MM:SS` in fields the files declare as `format: date-time`.
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (text: string) =>
      /^\d{4}-\d\d-\d\d([T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?)$/.test(text),
  });

  beforeAll(async () => {
    documents.v1 = loadOpenApi('v1');
    documents.v2 = loadOpenApi('v2');
    await fake.start();
  }, 60_000);

  afterAll(() => fake.stop());

  test('every endpoint of the fake exists in the files with the same x-token-cost', () => {
    const mismatches = ENDPOINTS.flatMap((endpoint) => {
      const operation = getOperation(documents[endpoint.version]!, endpoint.path);
      const cost = operation?.['x-token-cost'];
      return cost === endpoint.cost
        ? []
        : [`${endpoint.version} ${endpoint.path}: fake ${endpoint.cost}, OpenAPI ${String(cost)}`];
    });
    expect(mismatches).toEqual([]);
  });

  test('every endpoint of the fake has a contract case', () => {
    const covered = new Set(CASES.map((c) => `${c.version} ${c.specPath}`));
    const missing = ENDPOINTS.map((e) => `${e.version} ${e.path}`).filter(
      (key) => !covered.has(key),
    );
    expect(missing).toEqual([]);
  });

  function validatorFor(contract: ContractCase): ValidateFunction {
    const document = documents[contract.version]!;
    const raw = responseSchema(document, contract.specPath, contract.status ?? 200);
    if (!raw) throw new Error(`No schema for ${contract.specPath} ${contract.status ?? 200}`);
    const schema = toJsonSchema(document, raw);
    const properties = (schema.properties ?? {}) as Record<string, JsonObject>;
    const data = properties.data;
    if (data) {
      if (contract.itemsWrapped) {
        const wrapped = (data.items as JsonObject).properties as Record<string, JsonObject>;
        data.items = wrapped.data;
      }
      if (contract.itemSchema) data.items = contract.itemSchema(data.items as JsonObject);
      tighten(recordOf(data, contract), contract);
      schema.required = ['success', 'data'];
    }
    const nextCursor = (
      properties.additional_data?.properties as Record<string, JsonObject> | undefined
    )?.next_cursor;
    // "null if you have reached the end of the dataset", says the description of a string.
    if (nextCursor) makeNullable(nextCursor);
    return ajv.compile(schema);
  }

  function recordOf(data: JsonObject, contract: ContractCase): JsonObject {
    const record = data.type === 'array' ? (data.items as JsonObject) : data;
    if (!contract.recordAt) return record;
    const holder = (record.properties as Record<string, JsonObject>)[contract.recordAt];
    return holder.type === 'array' ? (holder.items as JsonObject) : holder;
  }

  function tighten(record: JsonObject, contract: ContractCase): void {
    const properties = (record.properties ?? {}) as Record<string, JsonObject>;
    for (const dotted of contract.nullable ?? []) {
      const property = dotted.split('.').reduce<JsonObject | undefined>(
        // Through arrays of objects to their items' properties (mail parties).
        (schema, name) =>
          (
            ((schema?.items ?? schema) as JsonObject | undefined)?.properties as
              Record<string, JsonObject> | undefined
          )?.[name],
        record,
      );
      if (!property) throw new Error(`${contract.specPath}: no property ${dotted} to relax`);
      makeNullable(property);
    }
    record.required = Object.keys(properties).filter((name) => !contract.optional?.includes(name));
    for (const name of contract.undocumented ?? []) {
      if (properties[name])
        throw new Error(`${contract.specPath}: ${name} is documented after all`);
      properties[name] = {};
    }
    record.properties = properties;
    record.additionalProperties = false;
    if (contract.customFieldsAtRoot) record.patternProperties = { [CUSTOM_FIELD_KEY]: {} };
  }

  const withStream = CASES.filter((contract) => contract.stream !== undefined);
  test.each(withStream.map((contract) => [contract.stream, caseName(contract), contract] as const))(
    'the %s schema declares every field of %s',
    (stream, _name, contract) => {
      const document = documents[contract.version]!;
      const raw = responseSchema(document, contract.specPath, 200) as JsonObject;
      const data = (toJsonSchema(document, raw).properties as Record<string, JsonObject>).data;
      const record = recordOf(data, contract);
      const fields = [...Object.keys(record.properties ?? {}), ...(contract.undocumented ?? [])];
      const schema = JSON.parse(
        fs.readFileSync(path.join(REPO_ROOT, 'resources', 'schemas', `${stream}.json`), 'utf8'),
      ) as { properties: JsonObject };
      expect(fields.filter((field) => !(field in schema.properties))).toEqual([]);
    },
  );

  test.each(CASES.map((contract) => [caseName(contract), contract] as const))(
    '%s',
    async (_name, contract) => {
      const request =
        typeof contract.request === 'string' ? contract.request : contract.request(fake);
      const response = await fetch(`${fake.url}${request}`, {
        headers: { 'x-api-token': contract.token ?? fake.token },
      });
      expect(response.status).toBe(contract.status ?? 200);
      const body = (await response.json()) as JsonObject;
      if (Array.isArray(body.data)) expect(body.data.length).toBeGreaterThan(0);
      const validate = validatorFor(contract);
      const valid = validate(body);
      const problems = (validate.errors ?? [])
        .slice(0, 15)
        .map((error) => `${error.instancePath} ${error.message} ${JSON.stringify(error.params)}`);
      expect(problems).toEqual([]);
      expect(valid).toBe(true);
    },
  );
});
