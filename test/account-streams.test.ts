/**
 * The account-wide streams (files, filters, goals and their results, the token user's mailbox
 * and call logs, lead sources, note fields, permission sets, roles and their assignments), end to
 * end: bin/main as a child process against the fake Pipedrive. Full reads compared row by row
 * with the fake's data, incremental syncs with changes in between, the calls and API tokens a
 * sync costs, admin-only streams on a regular user's token, odd answers, and the global host.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

import { tokenCost } from '../src/pipedrive/costs';
import { FakePipedrive, type JsonObject } from './fake-pipedrive';
import { goalProgress } from './fake-pipedrive/data/goals';
import { LEAD_SOURCES, NOTE_FIELDS } from './fake-pipedrive/data/reference';
import { toDateOnly } from './fake-pipedrive/time';
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

/** The streams this file covers, with primary key and cursor (none: full refresh only). */
const STREAMS: Record<string, { pk: string[]; cursor?: string }> = {
  files: { pk: ['id'], cursor: 'update_time' },
  filters: { pk: ['id'] },
  goals: { pk: ['id'] },
  goal_results: { pk: ['goal_id'] },
  mail_threads: { pk: ['id'], cursor: 'update_time' },
  mail_messages: { pk: ['id'], cursor: 'update_time' },
  call_logs: { pk: ['id'] },
  lead_sources: { pk: ['name'] },
  note_fields: { pk: ['id'] },
  note_fields_options: { pk: ['field_id', 'options__id'] },
  permission_sets: { pk: ['id'] },
  permission_set_assignments: { pk: ['permission_set_id', 'user_id'] },
  roles: { pk: ['id'] },
  role_assignments: { pk: ['role_id', 'user_id'] },
};
const ALL = Object.keys(STREAMS);
const INCREMENTAL = ALL.filter((name) => STREAMS[name].cursor);
const ADMIN_ONLY = ['permission_sets', 'permission_set_assignments', 'roles', 'role_assignments'];
const FOLDERS = ['inbox', 'drafts', 'sent', 'archive'];

/** Any Pipedrive timestamp (v1, ISO with milliseconds) as the connector emits it. */
function rfc3339(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return null;
  return value
    .replace(' ', 'T')
    .replace(/\.\d+Z$/, 'Z')
    .replace(/(\d{2}:\d{2}:\d{2})$/, '$1Z');
}

/** What the connector makes of an API value, by the discovered schema's top-level property. */
function emitted(value: unknown, property: any): unknown {
  if (value === undefined || value === null) return value;
  const types: string[] = [property?.type ?? []].flat();
  if (property?.format === 'date-time') return rfc3339(value);
  if (types.includes('boolean') && (value === 0 || value === 1)) return value === 1;
  if (types.includes('integer') && typeof value === 'string' && /^-?\d+$/.test(value)) {
    return Number(value);
  }
  return value;
}

const keyOf = (row: any, pk: string[]): string => pk.map((key) => String(row[key])).join('|');
const sortedKeys = (rows: any[], pk: string[]): string[] => rows.map((r) => keyOf(r, pk)).sort();

describe('account-wide streams', () => {
  const fake = new FakePipedrive({
    seed: 21,
    // Several pages for files (100 a page) and call logs (50 a page).
    sizes: { files: 230, callLogs: 160, mailThreads: 45, goals: 14 },
  });
  let config: Record<string, unknown>;
  let catalog: Map<string, any>;
  const validators = new Map<string, ValidateFunction>();

  const read = (
    streams: Array<string | { name: string; syncMode: 'full_refresh' | 'incremental' }>,
    state?: unknown,
  ): Promise<RunResult> =>
    runConnector(['read'], {
      config,
      catalog: configuredCatalog(streams),
      state,
      timeoutMs: 90_000,
    });

  const me = (): number => fake.list('users').find((user) => user.is_you === true)!.id as number;
  const requestsTo = (pattern: RegExp): JsonObject[] =>
    fake.requestLog.filter((entry) => pattern.test(entry.path)) as any;

  /** The rows a stream must emit for the fake's current data. */
  function truth(stream: string): JsonObject[] {
    const today = toDateOnly(fake.clock.nowSeconds());
    switch (stream) {
      case 'files':
        return fake.list('files').filter((file) => file.active_flag !== false);
      case 'filters':
        return fake.list('filters').filter((filter) => filter.active_flag !== false);
      case 'goals':
        return fake.list('goals').filter((goal) => goal.is_deleted !== true);
      case 'goal_results':
        return truth('goals').map((goal) => {
          const duration = goal.duration as JsonObject;
          const end = (duration.end as string | null) ?? today;
          return {
            goal_id: goal.id,
            period_start: duration.start,
            period_end: end,
            progress: goalProgress(fake.seed, goal, duration.start as string, end, today),
            goal,
          };
        });
      case 'mail_threads':
        return fake.list('mailThreads').filter((thread) => thread.deleted_flag !== 1);
      case 'mail_messages':
        return truth('mail_threads').flatMap((thread) => fake.mailMessagesOf(thread.id as number)!);
      case 'call_logs':
        return fake.list('callLogs').filter((log) => log.user_id === me());
      case 'lead_sources':
        return LEAD_SOURCES.map((name) => ({ name }));
      case 'note_fields':
        return NOTE_FIELDS;
      case 'note_fields_options':
        return NOTE_FIELDS.flatMap((field) =>
          ((field.options ?? []) as JsonObject[]).map((option) => ({
            field_id: field.id,
            field_key: field.key,
            options__id: String(option.id),
            options__label: option.label,
          })),
        );
      case 'permission_sets':
        return fake.list('permissionSets');
      case 'permission_set_assignments': {
        const sets = new Map(fake.list('permissionSets').map((set) => [set.id, set]));
        return fake.list('users').flatMap((user) =>
          ((user.access ?? []) as JsonObject[])
            .filter((access) => sets.has(access.permission_set_id))
            .map((access) => ({
              user_id: user.id,
              permission_set_id: access.permission_set_id,
              name: sets.get(access.permission_set_id)!.name,
            })),
        );
      }
      case 'roles':
        return fake.list('roles').filter((role) => role.active_flag !== false);
      case 'role_assignments': {
        const roles = new Map(truth('roles').map((role) => [role.id, role]));
        return fake
          .list('users')
          .filter((user) => roles.has(user.role_id))
          .map((user) => {
            const role = roles.get(user.role_id)!;
            return {
              user_id: user.id,
              role_id: role.id,
              parent_role_id: role.parent_role_id,
              name: role.name,
              active_flag: role.active_flag,
              type: '1',
            };
          });
      }
      default:
        throw new Error(`no truth for ${stream}`);
    }
  }

  /** Every emitted row equals its API object as the schema types it, and nothing is missing. */
  function expectRowsEqualTruth(result: RunResult, stream: string, expected = truth(stream)): void {
    const { pk } = STREAMS[stream];
    const properties = catalog.get(stream).json_schema.properties;
    const rows = recordsOf(result, stream);
    expect(sortedKeys(rows, pk)).toEqual(sortedKeys(expected, pk));
    const byKey = new Map(expected.map((row) => [keyOf(row, pk), row]));
    for (const row of rows) {
      const want: Record<string, unknown> = { _ab_cdc_deleted_at: null };
      for (const [column, value] of Object.entries(byKey.get(keyOf(row, pk))!)) {
        want[column] = emitted(value, properties[column]);
      }
      expect(row).toEqual(want);
    }
  }

  function expectCleanRun(result: RunResult, streams: string[]): void {
    expect(errorsOf(result)).toEqual([]);
    expect(result.code).toBe(0);
    expectValidProtocol(result);
    for (const name of streams) {
      expect([name, statusesOf(result, name)]).toEqual([name, ['STARTED', 'RUNNING', 'COMPLETE']]);
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

  const warnings = (result: RunResult): string[] =>
    ofType(result, 'LOG')
      .filter((message) => message.log.level === 'WARN')
      .map((message) => message.log.message);

  beforeAll(async () => {
    await fake.start();
    // The fake has no burst limit here: a high one keeps these syncs short.
    config = { api_token: fake.token, api_url: fake.url, max_requests_per_2_seconds: 200 };
    const discovered = await runConnector(['discover'], { config });
    expect(discovered.code).toBe(0);
    const streams: any[] = ofType(discovered, 'CATALOG')[0].catalog.streams;
    catalog = new Map(streams.map((stream) => [stream.name, stream]));
    const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
    addFormats(ajv);
    ajv.addKeyword('x-foreign-key');
    for (const name of ALL) validators.set(name, ajv.compile(catalog.get(name).json_schema));
  });
  afterAll(() => fake.stop());

  test.each(ALL)('discover: %s with its key, sync modes and cursor', (name) => {
    const stream = catalog.get(name);
    expect(stream).toBeDefined();
    const { pk, cursor } = STREAMS[name];
    expect(stream.source_defined_primary_key).toEqual(pk.map((key) => [key]));
    if (cursor) {
      expect(stream.supported_sync_modes).toEqual(['full_refresh', 'incremental']);
      expect(stream.default_cursor_field).toEqual([cursor]);
      expect(stream.json_schema.properties[cursor].format).toBe('date-time');
    } else {
      expect(stream.supported_sync_modes).toEqual(['full_refresh']);
    }
  });

  describe('full refresh', () => {
    let result: RunResult;
    beforeAll(async () => {
      fake.resetStats();
      result = await read(ALL);
    });

    test('clean run: valid protocol, every stream COMPLETE, records match the schemas', () => {
      expectCleanRun(result, ALL);
      expect(warnings(result)).toEqual([]);
    });

    test.each(ALL)('%s equals the fake', (name) => {
      expect(truth(name).length).toBeGreaterThan(0);
      expectRowsEqualTruth(result, name);
    });

    test('the data exercises what the streams must handle', () => {
      // Files and call logs span pages; some files are deleted (not listed).
      expect(truth('files').length).toBeGreaterThan(200);
      expect(fake.list('files').length).toBeGreaterThan(truth('files').length);
      expect(truth('call_logs').length).toBeGreaterThan(100);
      expect(fake.list('callLogs').length).toBeGreaterThan(truth('call_logs').length);
      // Goals of every kind, ended and open-ended ones.
      const goals = truth('goals');
      expect(new Set(goals.map((goal) => (goal.assignee as JsonObject).type))).toEqual(
        new Set(['person', 'team', 'company']),
      );
      expect(goals.some((goal) => goal.is_active === false)).toBe(true);
      expect(goals.some((goal) => (goal.duration as JsonObject).end === null)).toBe(true);
      // A permission set without users answers 404: no rows and no warning.
      const assigned = new Set(truth('permission_set_assignments').map((a) => a.permission_set_id));
      expect(truth('permission_sets').some((set) => !assigned.has(set.id))).toBe(true);
    });

    test('a thread in several folders is one row', () => {
      const threads = truth('mail_threads');
      expect(threads.some((thread) => (thread.folders as string[]).length > 1)).toBe(true);
      const ids = recordsOf(result, 'mail_threads').map((row) => row.id);
      expect(new Set(ids).size).toBe(ids.length);
      // Each folder was listed.
      const folders = requestsTo(/\/mailbox\/mailThreads$/).map((entry: any) => entry.query.folder);
      expect(folders.sort()).toEqual([...FOLDERS].sort());
    });

    test("goal results: one call per goal, over the goal's own period", () => {
      const today = toDateOnly(fake.clock.nowSeconds());
      const calls = requestsTo(/\/goals\/[^/]+\/results$/).map((entry: any) => ({
        id: entry.path.split('/').at(-2),
        start: entry.query['period.start'],
        end: entry.query['period.end'],
      }));
      const expected = truth('goals').map((goal) => {
        const duration = goal.duration as JsonObject;
        return { id: goal.id, start: duration.start, end: duration.end ?? today };
      });
      const byId = (a: any, b: any) => String(a.id).localeCompare(String(b.id));
      expect(calls.sort(byId)).toEqual(expected.sort(byId));
    });

    test('calls and API tokens: the least the API allows, charged as the static cost table says', () => {
      const inFolder = (folder: string) =>
        truth('mail_threads').filter((thread) => (thread.folders as string[]).includes(folder));
      const pages = (rows: number, size: number) => Math.max(1, Math.ceil(rows / size));
      // endpoint → [calls, an example path for the connector's static cost table]
      const expected: Record<string, [number, string]> = {
        'GET /api/v1/files': [pages(truth('files').length, 100), '/files'],
        'GET /api/v1/filters': [1, '/filters'],
        'GET /api/v1/goals/find': [6, '/goals/find'],
        'GET /api/v1/goals/{id}/results': [
          truth('goals').length,
          `/goals/${String(truth('goals')[0].id)}/results`,
        ],
        'GET /api/v1/mailbox/mailThreads': [
          FOLDERS.reduce((sum, folder) => sum + pages(inFolder(folder).length, 500), 0),
          '/mailbox/mailThreads',
        ],
        'GET /api/v1/mailbox/mailThreads/{id}/mailMessages': [
          truth('mail_threads').length,
          '/mailbox/mailThreads/1/mailMessages',
        ],
        'GET /api/v1/callLogs': [pages(truth('call_logs').length, 50), '/callLogs'],
        'GET /api/v1/leadSources': [1, '/leadSources'],
        'GET /api/v1/noteFields': [1, '/noteFields'],
        'GET /api/v1/permissionSets': [1, '/permissionSets'],
        'GET /api/v1/permissionSets/{id}/assignments': [
          truth('permission_sets').length,
          `/permissionSets/${String(truth('permission_sets')[0].id)}/assignments`,
        ],
        'GET /api/v1/roles': [1, '/roles'],
        'GET /api/v1/roles/{id}/assignments': [truth('roles').length, '/roles/1/assignments'],
      };
      const want = Object.fromEntries(
        Object.entries(expected).map(([endpoint, [requests, example]]) => [
          endpoint,
          { requests, tokens: requests * tokenCost('v1', example) },
        ]),
      );
      expect(fake.stats.byEndpoint).toEqual(want);
      const total = Object.values(want).reduce((sum, entry) => sum + entry.tokens, 0);
      expect(fake.stats.tokensSpent).toBe(total);
      // The connector's own summary counts the same.
      const summary = ofType(result, 'LOG')
        .map((message) => message.log.message as string)
        .find((message) => message.startsWith('Sync used'));
      expect(summary).toContain(`${total} API tokens`);
    });
  });

  test("admin-only streams on a regular user's token: empty, one warning, the rest unaffected", async () => {
    fake.denyPermission('/v1/permissionSets');
    fake.denyPermission('/v1/roles');
    try {
      const result = await read([...ADMIN_ONLY, 'filters', 'lead_sources']);
      expectCleanRun(result, [...ADMIN_ONLY, 'filters', 'lead_sources']);
      for (const name of ADMIN_ONLY) expect([name, recordsOf(result, name)]).toEqual([name, []]);
      const refused = warnings(result);
      expect(refused).toHaveLength(2);
      expect(refused.filter((w) => /^\[permission_sets\] admin rights/.test(w))).toHaveLength(1);
      expect(refused.filter((w) => /^\[roles\] admin rights/.test(w))).toHaveLength(1);
      expect(refused.join('\n')).toContain('permission_set_assignments');
      expect(refused.join('\n')).toContain('role_assignments');
      expectRowsEqualTruth(result, 'filters');
      expectRowsEqualTruth(result, 'lead_sources');
    } finally {
      fake.allowPermission('/v1/permissionSets');
      fake.allowPermission('/v1/roles');
    }
  });

  test('mail threads without a paging block: the folder has ended (no retry, nothing lost)', async () => {
    fake.resetStats();
    fake.failNext(/\/mailbox\/mailThreads$/, 'noPagination', 4);
    const result = await read(['mail_threads']);
    expectCleanRun(result, ['mail_threads']);
    expectRowsEqualTruth(result, 'mail_threads');
    expect(fake.stats.byEndpoint['GET /api/v1/mailbox/mailThreads'].requests).toBe(4);
    expect(fake.stats.faultsInjected).toBe(4);
  });

  test('a goal results answer without data: retried, then a clear error for that stream only', async () => {
    fake.failNext(/\/goals\/[^/]+\/results$/, 'dataNull', Infinity);
    try {
      const result = await read(['goals', 'goal_results', 'filters']);
      expect(result.code).toBe(1);
      expectValidProtocol(result);
      expect(statusesOf(result, 'goals')).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
      expect(statusesOf(result, 'filters')).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
      expect(statusesOf(result, 'goal_results')).toEqual(['STARTED', 'RUNNING', 'INCOMPLETE']);
      expectRowsEqualTruth(result, 'goals');
      const errors = errorsOf(result);
      expect(errors).toHaveLength(1);
      expect(errors[0].message).toMatch(
        /^Stream goal_results: Pipedrive's response for GET \/v1\/goals\/\{id\}\/results has no object 'data'/,
      );
      expect(errors[0].failure_type).toBe('transient_error');
    } finally {
      fake.clearFaults();
    }
  });

  test('a goals answer without data.goals: retried, then a clear error', async () => {
    fake.failNext(/\/goals\/find$/, 'dataNull', Infinity);
    try {
      const result = await read(['goals', 'goal_results', 'filters']);
      expect(result.code).toBe(1);
      expectValidProtocol(result);
      expect(statusesOf(result, 'filters')).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
      for (const name of ['goals', 'goal_results']) {
        expect(statusesOf(result, name)).toEqual(['STARTED', 'RUNNING', 'INCOMPLETE']);
        expect(recordsOf(result, name)).toEqual([]);
      }
      const messages = errorsOf(result).map((error) => error.message);
      expect(messages).toHaveLength(2);
      for (const message of messages) {
        expect(message).toMatch(
          /^Stream goal(s|_results): Pipedrive's response for GET \/v1\/goals\/find has no list under 'data.goals'/,
        );
      }
    } finally {
      fake.clearFaults();
    }
  });

  describe('incremental: two syncs with changes between them', () => {
    const catalogOf = () => INCREMENTAL.map((name) => ({ name, syncMode: 'incremental' as const }));
    let first: RunResult;
    let second: RunResult;
    let third: RunResult;
    /** What changed between the syncs, and the first sync's cursors. */
    const changed = { files: [] as number[], threads: [] as number[] };
    let cursors: Record<string, string>;
    let messageCalls: string[];

    beforeAll(async () => {
      first = await read(catalogOf());
      cursors = Object.fromEntries(
        INCREMENTAL.map((name) => [name, statesOf(first, name).at(-1).state.stream.stream_state]),
      ) as any;
      fake.clock.advance(3600);
      const added = fake.insert('files', { file_name: 'new_contract.pdf', deal_id: 3 });
      const live = truth('files');
      const updated = fake.update('files', live[5].id as number, { description: 'v2' });
      fake.remove('files', live[9].id as number);
      changed.files = [added.id as number, updated.id as number];
      const threads = truth('mail_threads');
      const newThread = fake.addMailThread({ subject: 'New inquiry' });
      fake.addMailMessage(threads[3].id as number, 'sent');
      const message = fake.mailMessagesOf(threads[7].id as number)![0];
      fake.updateMailMessage(message.id as number, { read_flag: 1, snippet: 'Edited' });
      changed.threads = [newThread.id as number, threads[3].id as number, threads[7].id as number];
      // A later listing proves the changes' second complete (the fan-out memory keeps them).
      fake.clock.advance(60);
      fake.resetStats();
      second = await read(catalogOf(), lastStates(first));
      messageCalls = requestsTo(/\/mailMessages$/).map((entry: any) =>
        entry.path.split('/').at(-2),
      );
      fake.resetStats();
      third = await read(catalogOf(), lastStates(second));
    });

    test('the first sync reads everything and saves each cursor', () => {
      expectCleanRun(first, INCREMENTAL);
      for (const name of INCREMENTAL) expect(recordsOf(first, name).length).toBeGreaterThan(0);
      expect(cursors.files).toMatchObject({
        update_time: recordsOf(first, 'files')
          .map((row) => row.update_time)
          .sort()
          .at(-1),
      });
      const newestThread = recordsOf(first, 'mail_threads')
        .map((row) => row.update_time)
        .sort()
        .at(-1);
      expect(cursors.mail_threads).toEqual({ update_time: newestThread });
      expect((cursors.mail_messages as any).update_time).toBe(newestThread);
    });

    test('the second sync emits exactly the changes (and the rows of the cursor second)', () => {
      expectCleanRun(second, INCREMENTAL);
      const atCursor = (name: string, rows: JsonObject[]) =>
        rows
          .filter((row) => rfc3339(row.update_time) === (cursors as any)[name].update_time)
          .map((row) => row.id);
      const fileIds = [...changed.files, ...atCursor('files', truth('files'))];
      expectRowsEqualTruth(
        second,
        'files',
        truth('files').filter((file) => fileIds.includes(file.id as number)),
      );
      const threadIds = [...changed.threads, ...atCursor('mail_threads', truth('mail_threads'))];
      expectRowsEqualTruth(
        second,
        'mail_threads',
        truth('mail_threads').filter((thread) => threadIds.includes(thread.id as number)),
      );
      // Messages only of the threads that changed, every message of each.
      expect(messageCalls.map(Number).sort()).toEqual([...changed.threads].sort());
      expectRowsEqualTruth(
        second,
        'mail_messages',
        changed.threads.flatMap((id) => fake.mailMessagesOf(id)!),
      );
      const newest = (name: string) =>
        truth(name)
          .map((row) => rfc3339(row.update_time)!)
          .sort()
          .at(-1);
      expect(statesOf(second, 'files').at(-1).state.stream.stream_state).toMatchObject({
        update_time: newest('files'),
      });
      expect(statesOf(second, 'mail_threads').at(-1).state.stream.stream_state).toEqual({
        update_time: newest('mail_threads'),
      });
    });

    test('a third sync without changes calls no mail messages and reads one files page', () => {
      expectCleanRun(third, INCREMENTAL);
      expect(recordsOf(third, 'mail_messages')).toEqual([]);
      expect(fake.stats.byEndpoint['GET /api/v1/mailbox/mailThreads/{id}/mailMessages']).toBe(
        undefined,
      );
      expect(fake.stats.byEndpoint['GET /api/v1/files'].requests).toBe(1);
      // Only the rows of the saved cursors' own second come again.
      for (const name of ['files', 'mail_threads']) {
        const cursor = statesOf(second, name).at(-1).state.stream.stream_state.update_time;
        const rows = recordsOf(third, name);
        expect(rows.length).toBeGreaterThan(0);
        for (const row of rows) expect(row.update_time).toBe(cursor);
      }
    });
  });
});

describe('account-wide streams on api.pipedrive.com (v1 under /v1)', () => {
  const fake = new FakePipedrive({ seed: 22, hostMode: 'global' });
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());

  test('every stream reads through the global host', async () => {
    // No company domain from /users/me: the connector stays on the global host.
    fake.failNext(/\/users\/me$/, 404);
    const result = await runConnector(['read'], {
      config: { api_token: fake.token, max_requests_per_2_seconds: 200 },
      catalog: configuredCatalog(ALL),
      env: { PIPEDRIVE_GLOBAL_API_URL: fake.url },
      timeoutMs: 90_000,
    });
    expect(errorsOf(result)).toEqual([]);
    expect(result.code).toBe(0);
    for (const name of ALL) {
      expect([name, statusesOf(result, name).at(-1)]).toEqual([name, 'COMPLETE']);
      expect([name, recordsOf(result, name).length > 0]).toEqual([name, true]);
    }
    const paths = fake.requestLog.map((entry) => entry.path);
    expect(paths.filter((path) => !path.startsWith('/v1/'))).toEqual([]);
  });
});
