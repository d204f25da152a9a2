/** The ported CAT rules (helpers/cat.ts) catch what CAT catches. */
import * as cat from './helpers/cat';

const spec = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  connectionSpecification: { type: 'object', properties, ...extra },
});

describe('specProblems', () => {
  test('accepts the connector spec shape', () => {
    expect(
      cat.specProblems(
        spec({
          api_token: { type: 'string', airbyte_secret: true, order: 0 },
          start_date: { type: ['string', 'null'], format: 'date-time', order: 1 },
        }),
      ),
    ).toEqual([]);
  });

  test.each([
    ['an unmarked secret', { api_token: { type: 'string' } }, 'airbyte_secret'],
    [
      'a secret that cannot hold one',
      { token: { type: 'boolean', airbyte_secret: true } },
      'cannot hold',
    ],
    ['null first in a type list', { a: { type: ['null', 'string'] } }, 'must be [T, "null"]'],
    ['anyOf', { a: { anyOf: [{ type: 'string' }] } }, 'forbidden_complex_types'],
    ['$ref', { a: { $ref: '#/definitions/x' } }, '$ref'],
    [
      'duplicate order',
      { a: { type: 'string', order: 1 }, b: { type: 'string', order: 1 } },
      'order',
    ],
    ['an empty object', { a: { type: 'object' } }, 'empty object'],
    ['duplicate enum values', { a: { type: 'string', enum: ['x', 'x'] } }, 'enum'],
    [
      'oneOf without a const discriminator',
      { a: { type: 'object', oneOf: [{ properties: { m: { type: 'string' } } }] } },
      'const',
    ],
  ])('flags %s', (_, properties, fragment) => {
    const problems = cat.specProblems(spec(properties as Record<string, unknown>));
    expect(problems.join('\n')).toContain(fragment);
  });

  test('flags additionalProperties: false', () => {
    expect(cat.specProblems(spec({}, { additionalProperties: false })).join()).toContain(
      'additionalProperties',
    );
  });

  test('a property merely named like a keyword is fine', () => {
    expect(cat.specProblems(spec({ not: { type: 'string' } }))).toEqual([]);
  });
});

describe('specProblems: groups and advanced_auth', () => {
  const withGroups = (properties: Record<string, unknown>, groups: unknown) =>
    spec(properties, { groups });

  test('the same order in different groups is fine; each group must be declared', () => {
    const groups = [{ id: 'auth', title: 'Authentication' }, { id: 'advanced' }];
    expect(
      cat.specProblems(
        withGroups(
          {
            a: { type: 'string', order: 0, group: 'auth' },
            b: { type: 'string', order: 0, group: 'advanced' },
          },
          groups,
        ),
      ),
    ).toEqual([]);
    expect(
      cat.specProblems(withGroups({ a: { type: 'string', group: 'replication' } }, groups)).join(),
    ).toContain('names group replication, not in groups');
    expect(
      cat.specProblems(withGroups({ a: { type: 'string', group: 'x' } }, undefined)).join(),
    ).toContain('not in groups');
  });

  test.each([
    ['a duplicate id', [{ id: 'a' }, { id: 'a' }], 'declared twice'],
    ['an entry without id', [{ title: 'A' }], 'has no string id'],
    ['not a list', { id: 'a' }, 'must be a list'],
  ])('flags groups with %s', (_, groups, fragment) => {
    expect(cat.specProblems(withGroups({}, groups)).join()).toContain(fragment);
  });

  const credentials = (first: string, second: string) => ({
    credentials: {
      type: 'object',
      oneOf: [first, second].map((kind) => ({
        type: 'object',
        properties: {
          auth_type: { type: 'string', const: kind },
          ...(kind === 'oauth2'
            ? { refresh_token: { type: 'string', airbyte_secret: true } }
            : { api_token: { type: 'string', airbyte_secret: true } }),
        },
      })),
    },
  });
  const advancedAuth = (path: string[]) => ({
    auth_flow_type: 'oauth2.0',
    predicate_key: ['credentials', 'auth_type'],
    predicate_value: 'oauth2',
    oauth_config_specification: {
      oauth_connector_input_specification: { consent_url: 'c', access_token_url: 't' },
      complete_oauth_output_specification: {
        properties: { refresh_token: { type: 'string', path_in_connector_config: path } },
      },
    },
  });

  test('accepts advanced_auth whose paths exist, OAuth first', () => {
    const ok = {
      ...spec(credentials('oauth2', 'api_token')),
      advanced_auth: advancedAuth(['credentials', 'refresh_token']),
    };
    expect(cat.specProblems(ok)).toEqual([]);
  });

  test('flags an advanced_auth path the spec does not have (test_oauth_flow_parameters)', () => {
    const bad = {
      ...spec(credentials('oauth2', 'api_token')),
      advanced_auth: advancedAuth(['credentials', 'refreshToken']),
    };
    expect(cat.specProblems(bad).join()).toContain('/credentials/refreshToken is not in');
  });

  test('flags OAuth that is not the first option (test_oauth_is_default_method)', () => {
    const bad = {
      ...spec(credentials('api_token', 'oauth2')),
      advanced_auth: advancedAuth(['credentials', 'refresh_token']),
    };
    expect(cat.specProblems(bad).join()).toContain('test_oauth_is_default_method');
  });

  test('expectedSchemaPaths walks through oneOf variants like CAT', () => {
    expect(
      cat.expectedSchemaPaths(spec(credentials('oauth2', 'api_token')).connectionSpecification),
    ).toEqual([
      '/credentials/auth_type',
      '/credentials/refresh_token',
      '/credentials/auth_type',
      '/credentials/api_token',
    ]);
  });
});

describe('catalogProblems', () => {
  const stream = (overrides: Record<string, unknown> = {}) => ({
    name: 's',
    json_schema: {
      type: 'object',
      properties: { id: { type: 'integer' }, updated: { type: ['null', 'string'] } },
    },
    supported_sync_modes: ['full_refresh', 'incremental'],
    source_defined_primary_key: [['id']],
    default_cursor_field: ['updated'],
    ...overrides,
  });

  test('accepts a well-formed stream', () => {
    expect(cat.catalogProblems([stream()])).toEqual([]);
  });

  test.each([
    ['duplicate names', [stream(), stream()], 'duplicate'],
    ['a missing cursor', [stream({ default_cursor_field: ['nope'] })], 'cursor'],
    ['a missing primary key', [stream({ source_defined_primary_key: [['nope']] })], 'primary key'],
    [
      'an object primary key',
      [
        stream({
          json_schema: { type: 'object', properties: { id: { type: 'object' } } },
          default_cursor_field: [],
        }),
      ],
      'forbidden type',
    ],
    ['an invalid schema', [stream({ json_schema: { type: 'nonsense' } })], 'draft-07'],
    ['no sync modes', [stream({ supported_sync_modes: [] })], 'supported_sync_modes'],
  ])('flags %s', (_, streams, fragment) => {
    expect(cat.catalogProblems(streams).join('\n')).toContain(fragment);
  });
});

describe('recordValidator', () => {
  const validate = cat.recordValidator({
    type: 'object',
    properties: {
      id: { type: 'integer' },
      at: { type: ['null', 'string'], format: 'date-time' },
      n: { type: ['null', 'integer'] },
    },
  });

  test('accepts CAT-valid records', () => {
    expect(validate({ id: 1, at: '2024-01-02T03:04:05Z', n: null })).toEqual([]);
    expect(validate({ id: 1, at: '2024-1-2 3:04:05.123+02:00' })).toEqual([]);
  });

  test.each([
    [{ id: 1.5 }, 'integer'],
    [{ id: 1e21 }, 'not an integer'],
    [{ id: 1, at: '2024-01-02' }, 'format'],
    [{ id: 1, at: '0000-00-00 00:00:00' }, 'format'],
    [{ id: 1, extra: true }, 'additional properties'],
  ])('rejects %j', (data, fragment) => {
    expect(validate(data).join('\n')).toContain(fragment);
  });
});

describe('selectCheckpoints (CAT test_read_sequential_slices)', () => {
  const state = (position: string, recordCount: number) => ({
    type: 'STATE',
    state: {
      type: 'STREAM',
      stream: { stream_descriptor: { name: 's' }, stream_state: { t: position } },
      sourceStats: { recordCount },
    },
  });
  const record = { type: 'RECORD', record: { stream: 's', data: {}, emitted_at: 0 } };

  test('one page: the last unique state, expecting no record after it', () => {
    const messages = [record, state('a', 1), state('a', 0)];
    expect(cat.selectCheckpoints(messages).map((c) => [c.index, c.expectedRecords])).toEqual([
      [1, 0],
    ]);
  });

  test('many pages: a sample without the first and the last, with the records still to come', () => {
    const messages = ['a', 'b', 'c', 'd', 'e', 'f'].flatMap((p) => [record, record, state(p, 2)]);
    expect(cat.selectCheckpoints(messages).map((c) => c.expectedRecords)).toEqual([8, 6, 4, 2]);
  });

  test('states without records are never selected', () => {
    expect(cat.selectCheckpoints([state('a', 0), state('b', 0)])).toEqual([]);
  });
});

describe('stream statuses and states', () => {
  const status = (name: string, value: string) => ({
    type: 'TRACE',
    trace: { type: 'STREAM_STATUS', stream_status: { stream_descriptor: { name }, status: value } },
  });

  test('wants STARTED, RUNNING…, COMPLETE for every stream', () => {
    const good = ['STARTED', 'RUNNING', 'COMPLETE'].map((s) => status('a', s));
    expect(cat.streamStatusProblems(good, ['a'])).toEqual([]);
    expect(cat.streamStatusProblems(good, ['a', 'b']).join()).toContain('missing b');
    const incomplete = ['STARTED', 'RUNNING', 'INCOMPLETE'].map((s) => status('a', s));
    expect(cat.streamStatusProblems(incomplete, ['a'])).toHaveLength(1);
  });

  test('wants a STREAM state with sourceStats per stream', () => {
    const legacy = { type: 'STATE', state: { type: 'LEGACY', data: {} } };
    expect(cat.stateMessageProblems([legacy], ['a']).join('\n')).toMatch(
      /LEGACY[\s\S]*sourceStats/,
    );
  });
});
