/**
 * Airbyte's connector acceptance tests (CAT) without Docker: bin/main runs as a child process
 * against the fake Pipedrive, and every check CAT performs at test_strictness_level: high is
 * applied rule for rule (the rules live in helpers/cat.ts), with the inputs that
 * acceptance-test-config.yml gives CAT (bypassed empty streams, the configured catalogs and the
 * future state under test_files/). `npm run acceptance` runs this file alone.
 */
import fs from 'node:fs';
import path from 'node:path';

import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import yaml from 'js-yaml';

import { FakePipedrive } from './fake-pipedrive';
import * as cat from './helpers/cat';
import { expectValidProtocol, runConnector, type RunResult } from './helpers/connector';
import { REPO_ROOT } from './helpers/protocol';
import {
  configuredCatalogFile,
  FAR_FUTURE,
  finalStates,
  TEST_FILES,
  walkthroughCatalogFile,
} from './helpers/test-files';

const readText = (file: string): string => fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
const readJson = (file: string): any => JSON.parse(readText(file));

const ACCEPTANCE: any = yaml.load(readText('acceptance-test-config.yml'));
const testsOf = (section: string): any[] => ACCEPTANCE?.acceptance_tests?.[section]?.tests ?? [];
const EMPTY_STREAMS = new Set<string>(
  (testsOf('basic_read')[0]?.empty_streams ?? []).map((entry: any) => entry.name),
);

/** At most this many connector processes at once (the suite must fit 2 cores). */
const MAX_PROCESSES = 3;

let fake: FakePipedrive;
let config: Record<string, unknown>;
let specRun: RunResult;
let discoverRun: RunResult;
let streams: any[] = [];
let discovered = new Map<string, any>();
const outputs: RunResult[] = [];

function limiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (task) => {
    if (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}
const slot = limiter(MAX_PROCESSES);

async function run(command: string[], options: Parameters<typeof runConnector>[1] = {}) {
  const result = await slot(() => runConnector(command, { timeoutMs: 60_000, ...options }));
  outputs.push(result);
  return result;
}

const read = (catalog: unknown, state?: unknown): Promise<RunResult> =>
  run(['read'], { config, catalog, state });

const ofType = (result: RunResult, type: string): any[] =>
  result.messages.filter((message) => message.type === type);
const recordsOf = (result: RunResult): any[] => ofType(result, 'RECORD').map((m) => m.record);
const errorsOf = (result: RunResult): any[] =>
  ofType(result, 'TRACE').filter((m) => m.trace.type === 'ERROR');

function byStream<T>(items: T[], name: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(name(item), [...(groups.get(name(item)) ?? []), item]);
  return groups;
}

/** CAT's configured catalog for basic_read: every discovered stream in its first sync mode. */
function basicReadCatalog(): any {
  return {
    streams: streams.map((stream) => ({
      stream,
      sync_mode: stream.supported_sync_modes[0],
      destination_sync_mode: 'append',
      cursor_field: stream.default_cursor_field,
      primary_key: stream.source_defined_primary_key,
    })),
  };
}

const catalogFromFile = (file: string, mode: 'full_refresh' | 'incremental'): any =>
  cat.onlyMode(cat.hydrate(readJson(file), discovered), mode);

const names = (catalog: any): string[] => catalog.streams.map((entry: any) => entry.stream.name);

/** An AirbyteStream's primary key, or the whole record when it has none. */
function keyOf(streamName: string, data: any): string {
  const pk = discovered.get(streamName)?.source_defined_primary_key;
  return pk?.length ? cat.primaryKeyId(data, pk) : cat.canonical(data);
}

beforeAll(async () => {
  // Small enough for 2 cores, large enough for several pages per pass (500 rows a page).
  fake = new FakePipedrive({
    seed: 20240601,
    burstLimit: null,
    sizes: {
      deals: 150,
      archivedDeals: 10,
      deletedDeals: 5,
      flowEventsPerDealMax: 4,
      activities: 600,
    },
  });
  await fake.start();
  config = { api_token: fake.token, api_url: fake.url, max_requests_per_2_seconds: 480 };
  [specRun, discoverRun] = await Promise.all([run(['spec']), run(['discover'], { config })]);
  streams = ofType(discoverRun, 'CATALOG')[0]?.catalog?.streams ?? [];
  discovered = new Map(streams.map((stream) => [stream.name, stream]));
}, 60_000);

afterAll(async () => {
  await fake?.stop();
});

describe('acceptance-test-config.yml', () => {
  // CAT parses the file with pydantic models that forbid unknown keys.
  const TEST_KEYS: Record<string, string[]> = {
    spec: [
      'spec_path',
      'config_path',
      'timeout_seconds',
      'deployment_mode',
      'backward_compatibility_tests_config',
      'auth_default_method',
    ],
    connection: ['config_path', 'status', 'timeout_seconds', 'deployment_mode'],
    discovery: [
      'config_path',
      'timeout_seconds',
      'deployment_mode',
      'backward_compatibility_tests_config',
      'validate_primary_keys_data_type',
    ],
    basic_read: [
      'config_path',
      'deployment_mode',
      'configured_catalog_path',
      'empty_streams',
      'expect_records',
      'validate_schema',
      'validate_stream_statuses',
      'validate_state_messages',
      'validate_primary_keys_data_type',
      'fail_on_extra_columns',
      'validate_data_points',
      'expect_trace_message_on_failure',
      'timeout_seconds',
      'file_types',
      'client_container_config',
    ],
    full_refresh: [
      'config_path',
      'configured_catalog_path',
      'timeout_seconds',
      'deployment_mode',
      'ignored_fields',
      'client_container_config',
    ],
    incremental: [
      'config_path',
      'configured_catalog_path',
      'future_state',
      'timeout_seconds',
      'deployment_mode',
      'skip_comprehensive_incremental_tests',
      'client_container_config',
    ],
  };

  test('has CAT’s shape and meets test_strictness_level: high', () => {
    const problems: string[] = [];
    const allowedTop = [
      'connector_image',
      'acceptance_tests',
      'base_path',
      'test_strictness_level',
      'custom_environment_variables',
    ];
    for (const key of Object.keys(ACCEPTANCE)) {
      if (!allowedTop.includes(key)) problems.push(`unknown top-level key ${key}`);
    }
    if (ACCEPTANCE.test_strictness_level !== 'high')
      problems.push('test_strictness_level is not high');
    const metadata: any = yaml.load(readText('metadata.yaml'));
    if (ACCEPTANCE.connector_image !== `${metadata.data.dockerRepository}:dev`) {
      problems.push(`connector_image should be ${metadata.data.dockerRepository}:dev`);
    }
    for (const [section, keys] of Object.entries(TEST_KEYS)) {
      const entries = testsOf(section);
      if (entries.length === 0) problems.push(`${section} has no tests`);
      for (const entry of entries) {
        for (const key of Object.keys(entry)) {
          if (!keys.includes(key)) problems.push(`${section}: unknown key ${key}`);
        }
        for (const key of ['config_path', 'spec_path', 'configured_catalog_path']) {
          const file = entry[key];
          if (file && !file.startsWith('secrets/') && !fs.existsSync(path.join(REPO_ROOT, file))) {
            problems.push(`${section}: ${key} ${file} does not exist`);
          }
        }
      }
    }
    const statuses = testsOf('connection').map((entry) => entry.status ?? 'succeed');
    if (!statuses.includes('succeed') || !statuses.includes('failed')) {
      problems.push('connection needs a succeed and a failed test');
    }
    for (const entry of testsOf('basic_read')) {
      // High strictness: no custom catalog; expected records or a bypass reason; reasons for empties.
      if (entry.configured_catalog_path)
        problems.push('basic_read cannot set configured_catalog_path');
      const expect = entry.expect_records;
      if (!expect || Boolean(expect.path) === Boolean(expect.bypass_reason)) {
        problems.push('basic_read.expect_records needs exactly one of path and bypass_reason');
      }
      if (entry.validate_schema === false)
        problems.push('basic_read.validate_schema must stay true');
      for (const empty of entry.empty_streams ?? []) {
        if (!empty.bypass_reason) problems.push(`empty stream ${empty.name} needs a bypass_reason`);
      }
    }
    for (const entry of testsOf('incremental')) {
      const future = entry.future_state;
      if (!future?.future_state_path && !future?.bypass_reason) {
        problems.push('incremental.future_state needs future_state_path (high strictness)');
      }
      for (const missing of future?.missing_streams ?? []) {
        if (!missing.bypass_reason)
          problems.push(`missing stream ${missing.name} needs a bypass_reason`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('names only discovered streams, and its files match what the connector discovers', () => {
    const problems: string[] = [];
    for (const name of EMPTY_STREAMS) {
      if (!discovered.has(name)) problems.push(`empty_streams names unknown stream ${name}`);
    }
    for (const [file, mode, make] of [
      [TEST_FILES.fullRefreshCatalog, 'full_refresh', configuredCatalogFile],
      [TEST_FILES.incrementalCatalog, 'incremental', configuredCatalogFile],
      [TEST_FILES.walkthroughFullRefreshCatalog, 'full_refresh', walkthroughCatalogFile],
      [TEST_FILES.walkthroughIncrementalCatalog, 'incremental', walkthroughCatalogFile],
    ] as const) {
      const expected = make(streams, mode);
      const actual = readJson(file);
      const want = names(expected).sort();
      const have = names(actual).sort();
      if (JSON.stringify(want) !== JSON.stringify(have)) {
        problems.push(`${file} lists [${have}] but the connector has [${want}]`);
      } else if (cat.canonical(actual) !== cat.canonical(expected)) {
        problems.push(`${file} differs from the discovered cursors/keys/sync modes`);
      }
    }
    if (problems.length) problems.push('Regenerate with: npm run test-files');
    expect(problems).toEqual([]);
  });

  test('sample configs validate against the spec', () => {
    const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
    const validate = ajv.compile(readJson('resources/spec.json').connectionSpecification);
    for (const file of [TEST_FILES.sampleConfig, TEST_FILES.invalidConfig]) {
      expect([file, validate(readJson(file)), ajv.errorsText(validate.errors)]).toEqual([
        file,
        true,
        'No errors',
      ]);
    }
  });
});

describe('spec (TestSpec)', () => {
  test('emits exactly one valid SPEC and exits 0', () => {
    expect(specRun.code).toBe(0);
    expectValidProtocol(specRun);
    expect(specRun.messages.map((m) => m.type)).toEqual(['SPEC']);
  });

  test('test_match_expected: equals the spec_path file', () => {
    const specPath = testsOf('spec')[0]?.spec_path ?? 'resources/spec.json';
    expect(ofType(specRun, 'SPEC')[0].spec).toEqual(readJson(specPath));
  });

  test('every TestSpec rule holds (secrets, types, oneOf, forbidden keywords, $ref, order, …)', () => {
    expect(cat.specProblems(ofType(specRun, 'SPEC')[0].spec)).toEqual([]);
  });

  test('test_config_match_spec: the test config validates against connectionSpecification', () => {
    const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
    const validate = ajv.compile(ofType(specRun, 'SPEC')[0].spec.connectionSpecification);
    expect([validate(config), ajv.errorsText(validate.errors)]).toEqual([true, 'No errors']);
  });
});

describe('connection (TestConnection)', () => {
  const connectionStatuses = (result: RunResult): string[] =>
    ofType(result, 'CONNECTION_STATUS').map((m) => m.connectionStatus.status);

  test('succeeds with a valid config: exactly one CONNECTION_STATUS, exit 0', async () => {
    const result = await run(['check'], { config });
    expectValidProtocol(result);
    expect([result.code, connectionStatuses(result)]).toEqual([0, ['SUCCEEDED']]);
  });

  test('fails with invalid_config.json (wrong token): FAILED, not a crash', async () => {
    const invalid = { ...readJson(TEST_FILES.invalidConfig), api_url: fake.url };
    const result = await run(['check'], { config: invalid });
    expectValidProtocol(result);
    expect([result.code, connectionStatuses(result), errorsOf(result)]).toEqual([
      0,
      ['FAILED'],
      [],
    ]);
  });

  test('fails with a config the spec rejects: FAILED, not a crash', async () => {
    const result = await run(['check'], { config: { ...config, start_date: 'last tuesday' } });
    expectValidProtocol(result);
    expect([result.code, connectionStatuses(result), errorsOf(result)]).toEqual([
      0,
      ['FAILED'],
      [],
    ]);
  });
});

describe('discovery (TestDiscovery)', () => {
  test('emits exactly one CATALOG with streams and exits 0', () => {
    expect(discoverRun.code).toBe(0);
    expectValidProtocol(discoverRun);
    expect(ofType(discoverRun, 'CATALOG')).toHaveLength(1);
    expect(streams.length).toBeGreaterThan(0);
  });

  test('every TestDiscovery rule holds (unique names, draft-07 schemas, keys, cursors, …)', () => {
    expect(cat.catalogProblems(streams)).toEqual([]);
  });

  test('every property is nullable except primary keys and cursors', () => {
    expect(streams.flatMap((stream) => cat.nullabilityProblems(stream))).toEqual([]);
  });

  test('every stream has a primary key; incremental streams a source-defined cursor', () => {
    const problems: string[] = [];
    for (const stream of streams) {
      if (!stream.source_defined_primary_key?.length)
        problems.push(`${stream.name}: no primary key`);
      if (stream.supported_sync_modes.includes('incremental')) {
        if (!stream.default_cursor_field?.length)
          problems.push(`${stream.name}: no default cursor`);
        if (stream.source_defined_cursor !== true) {
          problems.push(`${stream.name}: source_defined_cursor is not true`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('basic_read (TestBasicRead)', () => {
  let result: RunResult;
  let catalog: any;

  beforeAll(async () => {
    catalog = basicReadCatalog();
    result = await read(catalog);
  }, 90_000);

  test('reads every stream without errors and exits 0', () => {
    expectValidProtocol(result);
    expect(errorsOf(result).map((m) => m.trace.error.message)).toEqual([]);
    expect(result.code).toBe(0);
  });

  test('records validate against their stream schema (strict integers, CAT date-time, no extra columns)', () => {
    const records = recordsOf(result);
    expect(records.length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const [name, group] of byStream(records, (r) => r.stream)) {
      const stream = discovered.get(name);
      if (!stream) {
        problems.push(`records of unknown stream ${name}`);
        continue;
      }
      const validate = cat.recordValidator(stream.json_schema);
      const seen = new Set<string>();
      for (const record of group) {
        for (const problem of validate(record.data)) {
          const key = `${name}: ${problem.replace(/\/\d+(?=\/|$)/g, '/*')}`;
          if (seen.has(key)) continue;
          seen.add(key);
          problems.push(`${key} (e.g. ${keyOf(name, record.data)})`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('primary keys are present and scalar in every record', () => {
    const problems = new Set<string>();
    for (const record of recordsOf(result)) {
      const pk = discovered.get(record.stream)?.source_defined_primary_key;
      if (!pk?.length) continue;
      for (const problem of cat.primaryKeyProblems(record.data, pk)) {
        problems.add(`${record.stream}: ${problem}`);
      }
    }
    expect([...problems]).toEqual([]);
  });

  test('every stream has records, except the bypassed empty_streams', () => {
    const withRecords = new Set(recordsOf(result).map((r) => r.stream));
    const empty = names(catalog).filter(
      (name) => !withRecords.has(name) && !EMPTY_STREAMS.has(name),
    );
    expect(empty).toEqual([]);
  });

  test('STREAM states with sourceStats for every stream', () => {
    expect(cat.stateMessageProblems(result.messages, names(catalog))).toEqual([]);
  });

  test('stream statuses STARTED, RUNNING, COMPLETE for every stream', () => {
    expect(cat.streamStatusProblems(result.messages, names(catalog))).toEqual([]);
  });

  test('a catalog with an unknown stream yields a TRACE ERROR and a non-zero exit', async () => {
    const invalid = {
      streams: [
        {
          stream: {
            name: '__AIRBYTE__stream_that_does_not_exist',
            json_schema: { type: 'object', properties: { f1: { type: 'string' } } },
            supported_sync_modes: ['full_refresh'],
          },
          sync_mode: 'INVALID',
          destination_sync_mode: 'INVALID',
        },
      ],
    };
    const bad = await read(invalid);
    expectValidProtocol(bad);
    expect(errorsOf(bad).length).toBeGreaterThanOrEqual(1);
    expect(bad.code).not.toBe(0);
  });
});

describe('full_refresh (TestFullRefresh)', () => {
  let first: RunResult;
  let second: RunResult;

  beforeAll(async () => {
    const catalog = catalogFromFile(TEST_FILES.fullRefreshCatalog, 'full_refresh');
    first = await read(catalog);
    await new Promise((resolve) => setTimeout(resolve, 100));
    second = await read(catalog);
  }, 90_000);

  test('both reads succeed', () => {
    for (const result of [first, second]) {
      expectValidProtocol(result);
      expect([result.code, errorsOf(result).map((m) => m.trace.error.message)]).toEqual([0, []]);
    }
  });

  test('every emitted_at of the second read is later than every one of the first', () => {
    const firstRecords = recordsOf(first);
    expect(firstRecords.length).toBeGreaterThan(0);
    const maxFirst = Math.max(...firstRecords.map((r) => r.emitted_at));
    const minSecond = Math.min(...recordsOf(second).map((r) => r.emitted_at));
    expect(minSecond).toBeGreaterThan(maxFirst);
  });

  test('both reads return the same records (modulo emitted_at and ignored_fields)', () => {
    // CAT's ignored_fields: per stream, field paths ("a/b") left out of the comparison.
    const ignored: Record<string, Array<{ name: string }>> = testsOf('full_refresh')[0]
      ?.ignored_fields ?? {};
    const comparable = (name: string, data: any): any => {
      const copy = structuredClone(data);
      for (const { name: field } of ignored[name] ?? []) {
        const parts = field.split('/');
        const parent = parts.slice(0, -1).reduce((node, key) => node?.[key], copy);
        if (parent && typeof parent === 'object') delete parent[parts[parts.length - 1]];
      }
      return copy;
    };
    const a = byStream(recordsOf(first), (r) => r.stream);
    const b = byStream(recordsOf(second), (r) => r.stream);
    const differing: string[] = [];
    for (const name of new Set([...a.keys(), ...b.keys()])) {
      const one = (a.get(name) ?? []).map((r) => comparable(name, r.data));
      const two = (b.get(name) ?? []).map((r) => comparable(name, r.data));
      if (!cat.sameRecords(one, two)) {
        const left = new Set(one.map(cat.canonical));
        const changed = two.find((data) => !left.has(cat.canonical(data)));
        differing.push(
          `${name}: ${one.length} vs ${two.length} records` +
            (changed ? `, e.g. ${keyOf(name, changed)} changed` : ''),
        );
      }
    }
    expect(differing).toEqual([]);
  });
});

describe('incremental (TestIncremental)', () => {
  let catalog: any;
  let first: RunResult;
  let second: RunResult;
  let stateInput: any[];

  beforeAll(async () => {
    catalog = catalogFromFile(TEST_FILES.incrementalCatalog, 'incremental');
    first = await read(catalog);
    stateInput = cat.latestStateInput(first.messages);
    second = await read(catalog, stateInput);
  }, 90_000);

  test('the incremental catalog covers every incremental stream with its default cursor', () => {
    const incremental = streams.filter((s) => s.supported_sync_modes.includes('incremental'));
    expect(names(catalog).sort()).toEqual(incremental.map((s) => s.name).sort());
    for (const entry of catalog.streams) {
      expect([entry.stream.name, entry.cursor_field]).toEqual([
        entry.stream.name,
        entry.stream.default_cursor_field,
      ]);
    }
  });

  test('both reads succeed and the first yields records and states', () => {
    for (const result of [first, second]) {
      expectValidProtocol(result);
      expect([result.code, errorsOf(result).map((m) => m.trace.error.message)]).toEqual([0, []]);
    }
    expect(recordsOf(first).length).toBeGreaterThan(0);
    expect(cat.stateMessageProblems(first.messages, names(catalog))).toEqual([]);
  });

  test('test_two_sequential_reads: records change, and no stream returns more the second time', () => {
    const one = recordsOf(first);
    const two = recordsOf(second);
    expect(
      cat.sameRecords(
        one.map((r) => r.data),
        two.map((r) => r.data),
      ),
    ).toBe(false);
    const counts1 = byStream(one, (r) => r.stream);
    const grew = [...byStream(two, (r) => r.stream)]
      .filter(([name, records]) => records.length > (counts1.get(name)?.length ?? 0))
      .map(([name, records]) => `${name}: ${counts1.get(name)?.length ?? 0} → ${records.length}`);
    expect(grew).toEqual([]);
  });

  test('records of the first read are not newer than the final state cursor', () => {
    const states = finalStates(first.messages);
    const problems = new Set<string>();
    for (const record of recordsOf(first)) {
      const cursor = discovered.get(record.stream)?.default_cursor_field?.[0];
      const saved = states.get(record.stream)?.[cursor];
      const value = record.data[cursor];
      if (typeof saved !== 'string' || typeof value !== 'string') continue;
      if (Date.parse(value) > Date.parse(saved)) {
        problems.add(`${record.stream}: ${cursor} ${value} > state ${saved}`);
      }
    }
    expect([...problems].slice(0, 10)).toEqual([]);
  });

  test('test_read_sequential_slices: resuming from sampled states loses no record', async () => {
    const problems: string[] = [];
    await Promise.all(
      catalog.streams.map(async (entry: any) => {
        const name = entry.stream.name;
        const single = { streams: [entry] };
        const full = await read(single);
        const records = recordsOf(full);
        if (records.length === 0 || ofType(full, 'STATE').length === 0) return;
        const checkpoints = cat.selectCheckpoints(full.messages);
        // Beyond CAT's sample: the first intermediate checkpoint, where most records follow.
        const intermediate = full.messages.findIndex(
          (m, i) =>
            m.type === 'STATE' &&
            m.state.sourceStats.recordCount > 0 &&
            full.messages.slice(i + 1).some((later) => later.type === 'RECORD'),
        );
        if (intermediate >= 0 && !checkpoints.some((c) => c.index === intermediate)) {
          checkpoints.push({
            index: intermediate,
            message: full.messages[intermediate],
            expectedRecords: 0,
          });
        }
        if (checkpoints.length === 0) {
          problems.push(`${name}: no suitable state checkpoint (zero record counts in states?)`);
          return;
        }
        for (const checkpoint of checkpoints) {
          const state = cat.latestStateInput([checkpoint.message]);
          const resumed = await read(single, state);
          const again = recordsOf(resumed);
          const label = `${name} from ${JSON.stringify(state[0].stream.stream_state)}`;
          if (resumed.code !== 0) problems.push(`${label}: exit ${resumed.code}`);
          if (again.length < checkpoint.expectedRecords) {
            problems.push(
              `${label}: ${again.length} records, CAT expects ≥ ${checkpoint.expectedRecords}`,
            );
          }
          if (
            cat.sameRecords(
              records.map((r) => r.data),
              again.map((r) => r.data),
            )
          ) {
            problems.push(`${label}: same records as the read without state`);
          }
          const after = full.messages
            .slice(checkpoint.index + 1)
            .filter((m) => m.type === 'RECORD')
            .map((m) => keyOf(name, m.record.data));
          const got = new Set(again.map((r) => keyOf(name, r.data)));
          const lost = after.filter((key) => !got.has(key));
          if (lost.length) {
            problems.push(
              `${label}: ${lost.length} records read after this state are missing, e.g. ${lost[0]}`,
            );
          }
        }
      }),
    );
    expect(problems.sort()).toEqual([]);
  }, 120_000);

  test('future_state.json covers every incremental stream with far-future positions', () => {
    const future: any[] = readJson(TEST_FILES.futureState);
    const missingAllowed = new Set(
      (testsOf('incremental')[0]?.future_state?.missing_streams ?? []).map((m: any) => m.name),
    );
    const byName = new Map(future.map((s) => [s.stream?.stream_descriptor?.name, s]));
    const problems: string[] = [];
    const states = finalStates(first.messages);
    for (const name of names(catalog)) {
      if (missingAllowed.has(name)) continue;
      const entry = byName.get(name);
      if (entry?.type !== 'STREAM') {
        problems.push(`${name}: no STREAM state in future_state.json`);
        continue;
      }
      const futureState = entry.stream.stream_state ?? {};
      for (const key of Object.keys(states.get(name) ?? {})) {
        if (!(key in futureState)) problems.push(`${name}: future state lacks ${key}`);
      }
      for (const [key, value] of Object.entries(futureState)) {
        // Sets, not positions: delete detection's known ids and the fan-out memory.
        if (key === 'known_ids' || key === 'fanned_out') continue;
        if (typeof value !== 'string' || Date.parse(value) < Date.parse('2100-01-01T00:00:00Z')) {
          problems.push(
            `${name}: ${key}=${JSON.stringify(value)} is not far in the future (${FAR_FUTURE})`,
          );
        }
      }
    }
    for (const name of byName.keys()) {
      if (!discovered.has(name)) problems.push(`future_state.json names unknown stream ${name}`);
    }
    expect(problems).toEqual([]);
  });

  test('test_state_with_abnormally_large_values: a future state yields no records and a STATE per stream', async () => {
    const result = await read(catalog, readJson(TEST_FILES.futureState));
    expectValidProtocol(result);
    expect([result.code, errorsOf(result).map((m) => m.trace.error.message)]).toEqual([0, []]);
    const leaked = [...byStream(recordsOf(result), (r) => r.stream)].map(
      ([name, records]) => `${name}: ${records.length} records`,
    );
    expect(leaked).toEqual([]);
    expect(cat.stateMessageProblems(result.messages, names(catalog))).toEqual([]);
  });
});

describe('secrets', () => {
  test('the API token never appears in any output of any command', () => {
    const leaks = outputs
      .filter((result) => `${result.stdout}\n${result.stderr}`.includes(fake.token))
      .map(
        (result) => result.stdout.split('\n').find((line) => line.includes(fake.token)) ?? 'stderr',
      );
    expect(leaks).toEqual([]);
  });
});
