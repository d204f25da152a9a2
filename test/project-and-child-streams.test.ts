/**
 * The Projects add-on streams and the children of deals, persons, organizations, products and
 * activities, end to end: bin/main as a child process against the fake Pipedrive. Full reads
 * compared with the fake's own data, token costs against the static table, incremental syncs
 * with changes in between (what "changed parents only" reads and what it cannot see), streams
 * an account lacks, and per-parent calls only for selected streams.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

import { tokenCost } from '../src/pipedrive/costs';
import { FakePipedrive, type FollowedTable, type JsonObject, type Sizes } from './fake-pipedrive';
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

type SyncMode = 'full_refresh' | 'incremental';

const SIZES: Partial<Sizes> = {
  deals: 60,
  archivedDeals: 4,
  deletedDeals: 3,
  persons: 40,
  organizations: 20,
  products: 15,
  activities: 60,
  notes: 0,
  leads: 0,
  archivedLeads: 0,
};

const PROJECT_STREAMS = ['projects', 'tasks', 'project_boards', 'project_phases'];
const CHILD_STREAMS = [
  'deal_installments',
  'deal_participants',
  'deal_followers',
  'person_followers',
  'organization_followers',
  'product_followers',
  'product_variations',
  'activity_participants',
  'activity_attendees',
];
const STREAMS = [...PROJECT_STREAMS, ...CHILD_STREAMS];
/** Boards and phases: a handful of rows without update_time filter (users: an old stream). */
const FULL_REFRESH_ONLY = new Set(['project_boards', 'project_phases', 'users']);
const PRIMARY_KEYS: Record<string, string[]> = {
  projects: ['id'],
  tasks: ['id'],
  project_boards: ['id'],
  project_phases: ['id'],
  deal_installments: ['id'],
  deal_participants: ['id'],
  deal_followers: ['deal_id', 'user_id'],
  person_followers: ['person_id', 'user_id'],
  organization_followers: ['organization_id', 'user_id'],
  product_followers: ['product_id', 'user_id'],
  product_variations: ['id'],
  activity_participants: ['activity_id', 'person_id'],
  activity_attendees: ['activity_id', 'email'],
};
const CURSORS: Record<string, string> = {
  projects: 'update_time',
  tasks: 'update_time',
  deal_installments: 'deal_update_time',
  deal_participants: 'deal_update_time',
  deal_followers: 'deal_update_time',
  person_followers: 'person_update_time',
  organization_followers: 'organization_update_time',
  product_followers: 'product_update_time',
  product_variations: 'product_update_time',
  activity_participants: 'activity_update_time',
  activity_attendees: 'activity_update_time',
};
const FOLLOWED: Array<{ stream: string; table: FollowedTable; entity: string }> = [
  { stream: 'deal_followers', table: 'deals', entity: 'deal' },
  { stream: 'person_followers', table: 'persons', entity: 'person' },
  { stream: 'organization_followers', table: 'organizations', entity: 'organization' },
  { stream: 'product_followers', table: 'products', entity: 'product' },
];

const catalogOf = (streams: string[], mode: SyncMode) =>
  configuredCatalog(
    streams.map((name) => ({
      name,
      syncMode: FULL_REFRESH_ONLY.has(name) ? ('full_refresh' as const) : mode,
    })),
  );

/** v1's `YYYY-MM-DD HH:MM:SS[.mmm]` (UTC) as the connector emits it: RFC 3339, whole seconds. */
function rfc3339(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const text = String(value);
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(text)) return text;
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)?$/.exec(text);
  if (!match) throw new Error(`not a Pipedrive time: ${text}`);
  return `${match[1]}T${match[2]}Z`;
}

const keyOf = (stream: string, row: JsonObject): string =>
  JSON.stringify(PRIMARY_KEYS[stream].map((key) => row[key]));

function sorted(stream: string, rows: JsonObject[]): JsonObject[] {
  return [...rows].sort((a, b) => (keyOf(stream, a) < keyOf(stream, b) ? -1 : 1));
}

function pick(row: JsonObject, keys: string[]): JsonObject {
  return Object.fromEntries(keys.map((key) => [key, row[key]]));
}

/** Columns of deal_participants the fake stores; the rest (the person) is joined when served. */
const PARTICIPANT_COLUMNS = [
  'id',
  'deal_id',
  'person_id',
  'add_time',
  'added_by_user_id',
  'related_item_type',
  'related_item_id',
  'deal_update_time',
  '_ab_cdc_deleted_at',
];

/**
 * What each stream must emit for the given parents, computed from the fake's own data (not
 * from what the connector read). `only` restricts the children to some parents' ids.
 */
function truth(fake: FakePipedrive, only?: Partial<Record<string, Set<unknown>>>) {
  const keep = (table: string, rows: JsonObject[]) =>
    only?.[table] ? rows.filter((row) => only[table]!.has(row.id)) : only ? [] : rows;
  // Both deal passes serve every deal the fake has (deleted ones within their 30 days).
  const deals = keep('deals', fake.list('deals'));
  const live = (table: string) =>
    keep(
      table,
      fake.list(table as any).filter((row) => row.is_deleted !== true),
    );
  const deletedAt = (deal: JsonObject) => (deal.status === 'deleted' ? deal.update_time : null);
  const rows: Record<string, JsonObject[]> = {
    deal_installments: deals.flatMap((deal) =>
      fake.installmentsOf(deal.id as number).map((installment) => ({
        ...installment,
        deal_update_time: deal.update_time,
        _ab_cdc_deleted_at: deletedAt(deal),
      })),
    ),
    deal_participants: deals.flatMap((deal) =>
      fake.dealParticipantsOf(deal.id as number)!.map((participant) => ({
        id: participant.id,
        deal_id: deal.id,
        person_id: participant.person_id,
        add_time: rfc3339(participant.add_time),
        added_by_user_id: participant.added_by_user_id,
        related_item_type: 'deal',
        related_item_id: deal.id,
        deal_update_time: deal.update_time,
        _ab_cdc_deleted_at: deletedAt(deal),
      })),
    ),
    product_variations: live('products').flatMap((product) =>
      fake.productVariationsOf(product.id as number)!.map((variation) => ({
        ...variation,
        product_update_time: product.update_time,
        _ab_cdc_deleted_at: null,
      })),
    ),
    activity_participants: live('activities').flatMap((activity) =>
      unique(activity.participants as JsonObject[], 'person_id').map((participant) => ({
        activity_id: activity.id,
        person_id: participant.person_id,
        primary: participant.primary,
        activity_update_time: activity.update_time,
        _ab_cdc_deleted_at: null,
      })),
    ),
    activity_attendees: live('activities').flatMap((activity) =>
      unique(activity.attendees as JsonObject[], 'email').map((attendee) => ({
        activity_id: activity.id,
        email: attendee.email,
        name: attendee.name,
        status: attendee.status,
        is_organizer: attendee.is_organizer,
        person_id: attendee.person_id,
        user_id: attendee.user_id,
        activity_update_time: activity.update_time,
        _ab_cdc_deleted_at: null,
      })),
    ),
  };
  for (const { stream, table, entity } of FOLLOWED) {
    const parents = table === 'deals' ? deals : live(table);
    rows[stream] = parents.flatMap((parent) =>
      fake.followersOf(table, parent.id as number)!.map((follower) => ({
        [`${entity}_id`]: parent.id,
        user_id: follower.user_id,
        add_time: follower.add_time,
        [`${entity}_update_time`]: parent.update_time,
        _ab_cdc_deleted_at: table === 'deals' ? deletedAt(parent) : null,
      })),
    );
  }
  const projectTimes = (row: JsonObject, keys: string[]) => {
    const copy = { ...row };
    for (const key of keys) copy[key] = rfc3339(row[key]);
    return copy;
  };
  const keepProjects = (kind: string, items: JsonObject[]) =>
    only?.[kind] ? items.filter((item) => only[kind]!.has(item.id)) : only ? [] : items;
  rows.projects = keepProjects('projects', fake.projectItems('projects')).map((project) => ({
    ...projectTimes(project, ['add_time', 'update_time', 'status_change_time', 'archive_time']),
    is_deleted: project.status === 'deleted',
    is_archived: project.archive_time !== null,
    _ab_cdc_deleted_at: project.status === 'deleted' ? rfc3339(project.update_time) : null,
  }));
  rows.tasks = keepProjects('tasks', fake.projectItems('tasks')).map((task) => ({
    ...projectTimes(task, ['add_time', 'update_time', 'marked_as_done_time']),
    done: task.done === 1,
    _ab_cdc_deleted_at: null,
  }));
  rows.project_boards = fake.projectItems('projectBoards').map((board) => ({
    ...projectTimes(board, ['add_time', 'update_time']),
    _ab_cdc_deleted_at: null,
  }));
  rows.project_phases = fake.projectItems('projectPhases').map((phase) => ({
    ...projectTimes(phase, ['add_time', 'update_time']),
    _ab_cdc_deleted_at: null,
  }));
  return rows;
}

/** Entries with a key value, first one per value (a child's primary key). */
function unique(items: JsonObject[] | undefined, key: string): JsonObject[] {
  const seen = new Set<unknown>();
  return (items ?? []).filter((item) => {
    const value = item[key];
    if (value === null || value === undefined || value === '' || seen.has(value)) return false;
    seen.add(value);
    return true;
  });
}

/** What the stream emitted, in the comparable form of `truth`. */
function emitted(result: RunResult, stream: string): JsonObject[] {
  const rows = recordsOf(result, stream);
  return sorted(
    stream,
    stream === 'deal_participants' ? rows.map((row) => pick(row, PARTICIPANT_COLUMNS)) : rows,
  );
}

/** Requests per endpoint the fake counted since its last resetStats(). */
function requestsByEndpoint(fake: FakePipedrive): Record<string, number> {
  return Object.fromEntries(
    Object.entries(fake.stats.byEndpoint).map(([endpoint, stats]) => [endpoint, stats.requests]),
  );
}

/** Ids in the paths of the per-parent calls matching `pattern` (`/deals/(\d+)/followers`). */
function calledIds(fake: FakePipedrive, pattern: RegExp): number[] {
  return fake.requestLog
    .map((entry) => pattern.exec(entry.path))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => Number(match[1]))
    .sort((a, b) => a - b);
}

const PER_PARENT_PATH = /\/(followers|participants|installments|variations)$|\/projects\/phases$/;

function expectCleanRun(result: RunResult, streams: string[]): void {
  expectValidProtocol(result);
  expect(errorsOf(result)).toEqual([]);
  expect(result.code).toBe(0);
  for (const name of streams) {
    expect([name, statusesOf(result, name)]).toEqual([name, ['STARTED', 'RUNNING', 'COMPLETE']]);
  }
}

/** WARN logs naming the stream (as `[name]` or in a list of names, not inside a path). */
const warningsAbout = (result: RunResult, stream: string): string[] => {
  const named = new RegExp(`(^|[\\s\\[,])${stream}([\\s\\],.]|$)`);
  return ofType(result, 'LOG')
    .filter((m) => m.log.level === 'WARN' && named.test(m.log.message))
    .map((m) => m.log.message);
};

describe('project streams and per-parent children: full reads', () => {
  const fake = new FakePipedrive({ seed: 23, sizes: SIZES });
  let config: Record<string, unknown>;
  let full: RunResult;
  let fullRequests: Record<string, number>;
  let fullTokens = 0;
  const validators = new Map<string, ValidateFunction>();

  const read = (catalog: unknown, state?: unknown) =>
    runConnector(['read'], { config, catalog, state, timeoutMs: 90_000 });

  beforeAll(async () => {
    await fake.start();
    // No burst limit on the fake: a generous client limit keeps the suite quick.
    config = { api_token: fake.token, api_url: fake.url, max_requests_per_2_seconds: 480 };
    const discovered = await runConnector(['discover'], { config });
    expect(discovered.code).toBe(0);
    const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
    addFormats(ajv);
    for (const keyword of ['x-foreign-key', 'x-pipedrive-field-key', 'x-pipedrive-field-part']) {
      ajv.addKeyword(keyword);
    }
    for (const stream of ofType(discovered, 'CATALOG')[0].catalog.streams) {
      if (STREAMS.includes(stream.name)) {
        validators.set(stream.name, ajv.compile(stream.json_schema));
        expect([stream.name, stream.source_defined_primary_key]).toEqual([
          stream.name,
          PRIMARY_KEYS[stream.name].map((key) => [key]),
        ]);
        expect([stream.name, stream.default_cursor_field]).toEqual([
          stream.name,
          CURSORS[stream.name] ? [CURSORS[stream.name]] : undefined,
        ]);
      }
    }
    expect([...validators.keys()].sort()).toEqual([...STREAMS].sort());
    fake.resetStats();
    full = await read(catalogOf(STREAMS, 'full_refresh'));
    fullRequests = requestsByEndpoint(fake);
    fullTokens = fake.stats.tokensSpent;
  });
  afterAll(() => fake.stop());

  test('a clean run whose records match the discovered schemas', () => {
    expectCleanRun(full, STREAMS);
    for (const name of STREAMS) {
      const validate = validators.get(name)!;
      for (const row of recordsOf(full, name)) {
        if (!validate(row)) {
          throw new Error(
            `${name} record ${JSON.stringify(row).slice(0, 300)} does not match its schema: ${JSON.stringify(validate.errors)}`,
          );
        }
      }
    }
  });

  test.each(STREAMS)("%s: exactly the fake's data", (name) => {
    const expected = sorted(name, truth(fake)[name]);
    expect(expected.length).toBeGreaterThan(0);
    expect(emitted(full, name)).toEqual(expected);
  });

  test('projects: deleted ones are tombstones, archived ones are marked', () => {
    const rows = recordsOf(full, 'projects');
    const deleted = rows.filter((row) => row.is_deleted);
    expect(deleted.length).toBeGreaterThan(0);
    for (const row of deleted) expect(row._ab_cdc_deleted_at).toBe(row.update_time);
    expect(rows.filter((row) => row.is_archived).length).toBeGreaterThan(0);
  });

  test('deal participants carry the person the API nests, and its id as person_id', () => {
    const rows = recordsOf(full, 'deal_participants');
    for (const row of rows) {
      expect(row.person.id).toBe(row.person_id);
      expect(row.person.name).toBe(fake.get('persons', row.person_id)!.name);
      expect(row.related_item_data.deal_id).toBe(row.deal_id);
    }
  });

  test('one call per parent (installments: per 100 deals), each charged as the static table says', () => {
    const deals = fake.list('deals');
    const archived = deals.filter((deal) => deal.is_archived === true).length;
    const liveCount = (table: string) =>
      fake.list(table as any).filter((row) => row.is_deleted !== true).length;
    expect(fullRequests).toEqual({
      'GET /api/v2/deals': 1,
      'GET /api/v2/deals/archived': 1,
      'GET /api/v2/deals/installments':
        Math.ceil((deals.length - archived) / 100) + Math.ceil(archived / 100),
      'GET /api/v1/deals/{id}/participants': deals.length,
      'GET /api/v2/deals/{id}/followers': deals.length,
      'GET /api/v2/persons': 1,
      'GET /api/v2/persons/{id}/followers': liveCount('persons'),
      'GET /api/v2/organizations': 1,
      'GET /api/v2/organizations/{id}/followers': liveCount('organizations'),
      'GET /api/v2/products': 1,
      'GET /api/v2/products/{id}/followers': liveCount('products'),
      'GET /api/v2/products/{id}/variations': liveCount('products'),
      'GET /api/v2/activities': 1,
      'GET /api/v1/projects': 1,
      'GET /api/v1/tasks': 1,
      'GET /api/v1/projects/boards': 1,
      'GET /api/v1/projects/phases': fake.projectItems('projectBoards').length,
      'GET /api/v1/dealFields': 1,
      'GET /api/v1/personFields': 1,
      'GET /api/v1/organizationFields': 1,
      'GET /api/v1/productFields': 1,
      'GET /api/v1/activityFields': 1,
    });
    // The fake charges each endpoint's x-token-cost from the OpenAPI files.
    let expectedTokens = 0;
    for (const [endpoint, stats] of Object.entries(fake.stats.byEndpoint)) {
      const [, version, path] = /^GET \/api\/(v1|v2)(\/.*)$/.exec(endpoint)!;
      const cost = tokenCost(version as 'v1' | 'v2', path.replace(/\{id\}/g, '7'));
      expect([endpoint, stats.tokens]).toEqual([endpoint, stats.requests * cost]);
      expectedTokens += stats.requests * cost;
    }
    expect(fullTokens).toBe(expectedTokens);
    // The connector's own summary counts the same.
    const summary = ofType(full, 'LOG')
      .map((m) => /^Sync used (\d+) requests and (\d+) API tokens/.exec(m.log.message))
      .find(Boolean)!;
    expect([Number(summary[1]), Number(summary[2])]).toEqual([fake.stats.requests, fullTokens]);
  });

  test('activities ask for their attendees, at no extra call', async () => {
    fake.resetStats();
    const result = await read(catalogOf(['activities'], 'full_refresh'));
    expectCleanRun(result, ['activities']);
    const calls = fake.requestLog.filter((entry) => entry.path === '/api/v2/activities');
    expect(calls).toHaveLength(1);
    expect(calls[0].query.include_fields).toBe('attendees');
    expect(requestsByEndpoint(fake)).toEqual({
      'GET /api/v2/activities': 1,
      'GET /api/v1/activityFields': 1,
    });
    const attendees = new Map(
      fake.list('activities').map((activity) => [activity.id, activity.attendees]),
    );
    for (const row of recordsOf(result, 'activities')) {
      expect(row.attendees).toEqual(attendees.get(row.id));
    }
  });

  test('per-parent children are called only when selected', async () => {
    fake.resetStats();
    const result = await read(
      catalogOf(['deals', 'persons', 'organizations', 'products', 'project_boards'], 'incremental'),
    );
    expectCleanRun(result, ['deals', 'persons', 'organizations', 'products', 'project_boards']);
    expect(fake.requestLog.filter((entry) => PER_PARENT_PATH.test(entry.path))).toEqual([]);
    expect(recordsOf(result, 'deals')).toHaveLength(fake.list('deals').length);
  });

  describe.each([402, 403, 404] as const)('without the Projects add-on (%i)', (status) => {
    let result: RunResult;
    const others = ['users', 'persons', 'person_followers'];

    beforeAll(async () => {
      fake.setProjectsAddon(false, status);
      try {
        result = await read(catalogOf([...PROJECT_STREAMS, ...others], 'incremental'));
      } finally {
        fake.setProjectsAddon(true);
      }
    });

    test('the four streams complete empty with one warning each; the sync succeeds', () => {
      expectCleanRun(result, [...PROJECT_STREAMS, ...others]);
      for (const name of PROJECT_STREAMS) {
        expect([name, recordsOf(result, name)]).toEqual([name, []]);
        const warnings = warningsAbout(result, name);
        expect([name, warnings.length]).toEqual([name, 1]);
        expect(warnings[0]).toMatch(/Projects add-on/);
        expect(warnings[0]).toContain(String(status));
      }
      if (status === 402) {
        expect(warningsAbout(result, 'projects')[0]).not.toMatch(/account is not open/);
      }
    });

    test('the other streams read everything, their per-parent calls included', () => {
      const expected = truth(fake);
      expect(emitted(result, 'person_followers')).toEqual(
        sorted('person_followers', expected.person_followers),
      );
      expect(recordsOf(result, 'users')).toHaveLength(fake.list('users').length);
      expect(statesOf(result, 'person_followers').length).toBeGreaterThan(0);
    });
  });

  test.each([402, 403])(
    'deal_installments refused with %i (a plan below Growth): empty with one warning, deals read on',
    async (status) => {
      fake.failNext(
        /\/deals\/installments/,
        { status, error: 'This feature is not available in your plan' },
        Infinity,
      );
      let result: RunResult;
      try {
        result = await read(
          catalogOf(
            ['deals', 'deal_products', 'deal_installments', 'deal_followers'],
            'incremental',
          ),
        );
      } finally {
        fake.clearFaults();
      }
      expectCleanRun(result, ['deals', 'deal_products', 'deal_installments', 'deal_followers']);
      expect(recordsOf(result, 'deal_installments')).toEqual([]);
      const warnings = warningsAbout(result, 'deal_installments');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/Growth plan/);
      expect(recordsOf(result, 'deals')).toHaveLength(fake.list('deals').length);
      expect(emitted(result, 'deal_followers')).toEqual(
        sorted('deal_followers', truth(fake).deal_followers),
      );
    },
  );
});

describe('per-parent children over incremental syncs: changed parents only', () => {
  const fake = new FakePipedrive({ seed: 29, sizes: SIZES });
  const INCREMENTAL = STREAMS.filter((name) => !FULL_REFRESH_ONLY.has(name));
  let config: Record<string, unknown>;
  let first: RunResult;
  let second: RunResult;
  let secondRequests: Record<string, number>;
  const changed: Record<string, Set<unknown>> = {};
  let unchangedDeal: number;
  let unchangedDealFollower: number;
  let unchangedDealParticipant: JsonObject;
  let unchangedPerson: number;
  let unchangedProduct: number;

  const read = (catalog: unknown, state?: unknown) =>
    runConnector(['read'], { config, catalog, state, timeoutMs: 90_000 });
  /** A user who does not follow the record yet. */
  const newFollower = (table: FollowedTable, id: number): number => {
    const following = new Set(fake.followersOf(table, id)!.map((f) => f.user_id));
    const user = fake.list('users').find((candidate) => !following.has(candidate.id));
    if (!user) throw new Error(`every user follows ${table} ${id}`);
    return user.id as number;
  };
  const newParticipant = (dealId: number): number => {
    const taking = new Set(fake.dealParticipantsOf(dealId)!.map((p) => p.person_id));
    return fake.list('persons').find((p) => !p.is_deleted && !taking.has(p.id))!.id as number;
  };

  beforeAll(async () => {
    await fake.start();
    config = { api_token: fake.token, api_url: fake.url, max_requests_per_2_seconds: 480 };
    first = await read(catalogOf(INCREMENTAL, 'incremental'));

    // One hour later: some parents change together with their children, others only in their
    // children (which leaves the parent's update_time alone, as in Pipedrive).
    fake.clock.advance(3600);
    const openDeals = fake
      .list('deals')
      .filter((deal) => deal.status === 'open' && deal.is_archived !== true);
    const dealWithInstallments = openDeals.find(
      (deal) => fake.installmentsOf(deal.id as number).length > 0,
    )!.id as number;
    fake.update('deals', dealWithInstallments, { title: 'Changed deal' });
    fake.addFollower('deals', dealWithInstallments, newFollower('deals', dealWithInstallments));
    fake.addDealParticipant(dealWithInstallments, newParticipant(dealWithInstallments));
    fake.addInstallment(dealWithInstallments, { amount: 42, description: 'Added' });
    changed.deals = new Set([dealWithInstallments]);

    unchangedDeal = openDeals.find((deal) => deal.id !== dealWithInstallments)!.id as number;
    unchangedDealFollower = newFollower('deals', unchangedDeal);
    fake.addFollower('deals', unchangedDeal, unchangedDealFollower);
    unchangedDealParticipant = fake.addDealParticipant(
      unchangedDeal,
      newParticipant(unchangedDeal),
    );

    const persons = fake.list('persons').filter((person) => !person.is_deleted);
    fake.update('persons', persons[3].id as number, { name: 'Changed person' });
    fake.addFollower(
      'persons',
      persons[3].id as number,
      newFollower('persons', persons[3].id as number),
    );
    unchangedPerson = persons[4].id as number;
    fake.addFollower('persons', unchangedPerson, newFollower('persons', unchangedPerson));
    changed.persons = new Set([persons[3].id]);

    const org = fake.list('organizations').find((o) => !o.is_deleted)!.id as number;
    fake.update('organizations', org, { name: 'Changed organization' });
    fake.addFollower('organizations', org, newFollower('organizations', org));
    changed.organizations = new Set([org]);

    const products = fake.list('products').filter((product) => !product.is_deleted);
    const product = products[2].id as number;
    fake.update('products', product, { name: 'Changed product' });
    fake.addProductVariation(product, { name: 'Added variation' });
    fake.addFollower('products', product, newFollower('products', product));
    unchangedProduct = products[5].id as number;
    fake.addProductVariation(unchangedProduct, { name: 'Variation of an unchanged product' });
    changed.products = new Set([product]);

    const activity = fake.list('activities').find((a) => !a.is_deleted && a.person_id !== null)!;
    const present = new Set((activity.participants as JsonObject[]).map((p) => p.person_id));
    const addedParticipant = persons.find((person) => !present.has(person.id))!.id;
    fake.update('activities', activity.id as number, {
      participants: [
        ...(activity.participants as JsonObject[]),
        { person_id: addedParticipant, primary: false },
      ],
      attendees: [
        ...(activity.attendees as JsonObject[]),
        {
          email: 'added.guest@partner.example.net',
          name: 'Added Guest',
          status: 'needsAction',
          is_organizer: false,
          person_id: null,
          user_id: null,
        },
      ],
    });
    changed.activities = new Set([activity.id]);

    const projects = fake.projectItems('projects').filter((p) => p.status === 'open');
    fake.updateProjectItem('projects', projects[0].id as number, { title: 'Changed project' });
    fake.removeProjectItem('projects', projects[1].id as number);
    fake.archiveProject(projects[2].id as number);
    const added = fake.insertProjectItem('projects', { title: 'Added project' });
    changed.projects = new Set([projects[0].id, projects[1].id, projects[2].id, added.id]);
    const task = fake.projectItems('tasks').find((t) => t.done === 0)!;
    fake.updateProjectItem('tasks', task.id as number, { done: 1 });
    const addedTask = fake.insertProjectItem('tasks', { project_id: added.id, title: 'Added' });
    changed.tasks = new Set([task.id, addedTask.id]);

    // updated_since is inclusive: the activities of the saved cursor's second come again, and
    // their arrays with them (fan-out children remember which parent versions they read).
    const boundary = statesOf(first, 'activity_participants').at(-1).state.stream.stream_state
      .update_time;
    for (const row of fake.list('activities')) {
      if (row.update_time === boundary) changed.activities.add(row.id);
    }

    fake.resetStats();
    second = await read(catalogOf(INCREMENTAL, 'incremental'), lastStates(first));
    secondRequests = requestsByEndpoint(fake);
  });
  afterAll(() => fake.stop());

  test("the first sync reads the fake's data and checkpoints every stream", () => {
    expectCleanRun(first, INCREMENTAL);
    for (const name of INCREMENTAL) {
      expect(statesOf(first, name).length).toBeGreaterThan(0);
    }
    expect(recordsOf(first, 'deal_followers').length).toBeGreaterThan(0);
  });

  test('projects and tasks: a position only at the end of the whole list, before its first page', () => {
    for (const name of ['projects', 'tasks']) {
      // Read whole in id order: the one STATE comes after the last page.
      expect([name, statesOf(first, name).length]).toEqual([name, 1]);
      const position = statesOf(first, name)[0].state.stream.stream_state.update_time;
      const now = Date.parse(fake.clock.now().toISOString()) - 3600_000;
      expect(Date.parse(position)).toBeLessThan(now);
      expect(Date.parse(position)).toBeGreaterThan(now - 60_000);
    }
  });

  test('changed parents: their children are read again, with the new rows', () => {
    expectCleanRun(second, INCREMENTAL);
    const expected = truth(fake, changed);
    for (const name of INCREMENTAL) {
      expect([name, emitted(second, name)]).toEqual([name, sorted(name, expected[name])]);
    }
    // The new rows are among them (not vacuous).
    const [deal] = [...changed.deals] as number[];
    expect(recordsOf(second, 'deal_installments').some((row) => row.amount === 42)).toBe(true);
    expect(recordsOf(second, 'deal_followers').every((row) => row.deal_id === deal)).toBe(true);
    expect(recordsOf(second, 'product_variations').map((row) => row.name)).toContain(
      'Added variation',
    );
    expect(recordsOf(second, 'activity_attendees').map((row) => row.email)).toContain(
      'added.guest@partner.example.net',
    );
    const projects = recordsOf(second, 'projects');
    expect(projects.find((row) => row.is_deleted)?._ab_cdc_deleted_at).toMatch(/Z$/);
    expect(projects.filter((row) => row.is_archived)).toHaveLength(1);
  });

  test('unchanged parents cost no per-parent call', () => {
    const [deal] = [...changed.deals] as number[];
    expect(calledIds(fake, /\/deals\/(\d+)\/followers$/)).toEqual([deal]);
    expect(calledIds(fake, /\/deals\/(\d+)\/participants$/)).toEqual([deal]);
    const installmentCalls = fake.requestLog.filter((e) => e.path.endsWith('/deals/installments'));
    expect(installmentCalls.map((call) => call.query.deal_ids)).toEqual([String(deal)]);
    expect(calledIds(fake, /\/persons\/(\d+)\/followers$/)).toEqual([...changed.persons]);
    expect(calledIds(fake, /\/organizations\/(\d+)\/followers$/)).toEqual([
      ...changed.organizations,
    ]);
    expect(calledIds(fake, /\/products\/(\d+)\/followers$/)).toEqual([...changed.products]);
    expect(calledIds(fake, /\/products\/(\d+)\/variations$/)).toEqual([...changed.products]);
    expect(secondRequests).toEqual({
      'GET /api/v2/deals': 1,
      'GET /api/v2/deals/archived': 1,
      'GET /api/v2/deals/installments': 1,
      'GET /api/v1/deals/{id}/participants': 1,
      'GET /api/v2/deals/{id}/followers': 1,
      'GET /api/v2/persons': 1,
      'GET /api/v2/persons/{id}/followers': 1,
      'GET /api/v2/organizations': 1,
      'GET /api/v2/organizations/{id}/followers': 1,
      'GET /api/v2/products': 1,
      'GET /api/v2/products/{id}/followers': 1,
      'GET /api/v2/products/{id}/variations': 1,
      'GET /api/v2/activities': 1,
      'GET /api/v1/projects': 1,
      'GET /api/v1/tasks': 1,
      'GET /api/v1/dealFields': 1,
      'GET /api/v1/personFields': 1,
      'GET /api/v1/organizationFields': 1,
      'GET /api/v1/productFields': 1,
      'GET /api/v1/activityFields': 1,
    });
  });

  test('a follower, participant or variation added to an unchanged parent is not seen incrementally', () => {
    expect(
      recordsOf(second, 'deal_followers').filter((row) => row.deal_id === unchangedDeal),
    ).toEqual([]);
    expect(
      recordsOf(second, 'deal_participants').filter(
        (row) => row.id === unchangedDealParticipant.id,
      ),
    ).toEqual([]);
    expect(
      recordsOf(second, 'person_followers').filter((row) => row.person_id === unchangedPerson),
    ).toEqual([]);
    expect(
      recordsOf(second, 'product_variations').filter((row) => row.product_id === unchangedProduct),
    ).toEqual([]);
  });

  test('a full refresh of the children reads every parent, and has them', async () => {
    const children = [
      'deal_followers',
      'deal_participants',
      'person_followers',
      'product_variations',
    ];
    fake.resetStats();
    const result = await read(catalogOf(children, 'full_refresh'));
    expectCleanRun(result, children);
    const expected = truth(fake);
    for (const name of children) {
      expect([name, emitted(result, name)]).toEqual([name, sorted(name, expected[name])]);
    }
    expect(
      recordsOf(result, 'deal_followers').some(
        (row) => row.deal_id === unchangedDeal && row.user_id === unchangedDealFollower,
      ),
    ).toBe(true);
    expect(recordsOf(result, 'deal_participants').map((row) => row.id)).toContain(
      unchangedDealParticipant.id,
    );
    expect(calledIds(fake, /\/deals\/(\d+)\/followers$/)).toHaveLength(fake.list('deals').length);
  });
});

describe('projects changed while the list is read', () => {
  // Three pages of 500: the changes happen while page 2 is served.
  const fake = new FakePipedrive({
    seed: 31,
    sizes: { ...SIZES, projects: 1100, tasksPerProjectMax: 0 },
  });
  let config: Record<string, unknown>;

  beforeAll(async () => {
    await fake.start();
    config = { api_token: fake.token, api_url: fake.url, max_requests_per_2_seconds: 480 };
  });
  afterAll(() => fake.stop());

  test('a project changed mid-pass on a page already read comes with the next sync', async () => {
    const catalog = catalogOf(['projects'], 'incremental');
    const run = (state?: unknown) => runConnector(['read'], { config, catalog, state });
    const first = await run();
    expectCleanRun(first, ['projects']);
    expect(recordsOf(first, 'projects')).toHaveLength(fake.projectItems('projects').length);

    fake.clock.advance(3600);
    const early = 5;
    const late = 1050;
    fake.onAfterRead(
      /\/v1\/projects\?(.*&)?cursor=/,
      (f) => {
        f.updateProjectItem('projects', early, { title: 'Changed on page 1 after it was read' });
        f.clock.advance(60);
        f.updateProjectItem('projects', late, { title: 'Changed on page 3 before it was read' });
      },
      1,
    );
    const second = await run(lastStates(first));
    expectCleanRun(second, ['projects']);
    expect(fake.requestLog.filter((e) => e.path === '/api/v1/projects').length).toBeGreaterThan(2);
    const secondRows = recordsOf(second, 'projects');
    expect(secondRows.map((row) => row.id)).toEqual([late]);
    const position = statesOf(second, 'projects').at(-1).state.stream.stream_state.update_time;
    const earlyTime = rfc3339(
      fake.projectItems('projects').find((p) => p.id === early)!.update_time,
    )!;
    // The newest update_time seen (the late change) would skip the early one.
    expect(position <= earlyTime).toBe(true);

    const third = await run(lastStates(second));
    expectCleanRun(third, ['projects']);
    const thirdRows = recordsOf(third, 'projects');
    expect(thirdRows.find((row) => row.id === early)?.title).toBe(
      'Changed on page 1 after it was read',
    );
  });
});
