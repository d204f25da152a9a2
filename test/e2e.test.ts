import { FakePipedrive } from './fake-pipedrive';
import {
  configuredCatalog,
  errorsOf,
  expectValidProtocol,
  lastStates,
  ofType,
  recordsOf,
  runConnector,
  statesOf,
  statusesOf,
} from './helpers/connector';

const FOUNDATION = ['users', 'pipelines', 'stages', 'activity_types'];

describe('bin/main end to end', () => {
  const fake = new FakePipedrive({ seed: 7 });
  let config: Record<string, unknown>;

  beforeAll(async () => {
    await fake.start();
    config = { api_token: fake.token, api_url: fake.url };
  });
  afterAll(() => fake.stop());

  /** Asserts the run never printed the token anywhere. */
  const expectNoToken = (result: { stdout: string; stderr: string }): void => {
    expect(result.stdout).not.toContain(fake.token);
    expect(result.stderr).not.toContain(fake.token);
  };

  test('spec prints one SPEC with exactly our properties', async () => {
    const result = await runConnector(['spec']);
    expect(result.code).toBe(0);
    expectValidProtocol(result);
    expect(result.messages).toHaveLength(1);
    const spec = result.messages[0].spec.connectionSpecification;
    expect(Object.keys(spec.properties).sort()).toEqual(
      [
        'api_token',
        'api_url',
        'company_domain',
        'credentials',
        'custom_field_names',
        'daily_token_reserve',
        'deals_lookback_hours',
        'delete_detection',
        'max_concurrent_requests',
        'max_requests_per_2_seconds',
        'notes_update_window_days',
        'oauth_url',
        'start_date',
      ].sort(),
    );
    const options = spec.properties.credentials.oneOf;
    expect(options.map((option: any) => option.properties.auth_type.const)).toEqual([
      'oauth2',
      'api_token',
    ]);
    for (const [option, name] of [
      [0, 'client_secret'],
      [0, 'refresh_token'],
      [0, 'access_token'],
      [1, 'api_token'],
    ] as const) {
      expect([name, options[option].properties[name].airbyte_secret]).toEqual([name, true]);
    }
    expect(spec.properties.api_token.airbyte_secret).toBe(true);
    // Configs of earlier versions (top-level api_token) still validate.
    expect(spec.required).toBeUndefined();
    expect(spec.properties.api_url.airbyte_hidden).toBe(true);
    expect(spec.properties.oauth_url.airbyte_hidden).toBe(true);
    // OAuth's default burst limit differs from the API token's: no single default in the spec.
    expect(spec.properties.max_requests_per_2_seconds.default).toBeUndefined();
    expect(result.messages[0].spec.advanced_auth.predicate_key).toEqual([
      'credentials',
      'auth_type',
    ]);
  });

  test('check succeeds with a valid token', async () => {
    const result = await runConnector(['check'], { config });
    expect(result.code).toBe(0);
    expectValidProtocol(result);
    const statuses = ofType(result, 'CONNECTION_STATUS');
    expect(statuses).toHaveLength(1);
    expect(statuses[0].connectionStatus.status).toBe('SUCCEEDED');
    expectNoToken(result);
  });

  test('check with a bad token fails naming the token, without printing it', async () => {
    const badToken = 'bad-token-does-not-exist-123';
    const result = await runConnector(['check'], {
      config: { api_token: badToken, api_url: fake.url },
    });
    expect(result.code).toBe(0);
    expectValidProtocol(result);
    const [status] = ofType(result, 'CONNECTION_STATUS');
    expect(status.connectionStatus.status).toBe('FAILED');
    expect(status.connectionStatus.message).toMatch(/API token is invalid or revoked/);
    expect(result.stdout).not.toContain(badToken);
  });

  test('check with an invalid config fails with what to fix', async () => {
    const result = await runConnector(['check'], {
      config: { api_token: fake.token, api_url: 'http://example.com' },
    });
    const [status] = ofType(result, 'CONNECTION_STATUS');
    expect(status.connectionStatus.status).toBe('FAILED');
    expect(status.connectionStatus.message).toMatch(/api_url.*plain http/);
    expectNoToken(result);
  });

  test('discover lists the streams with clean schemas', async () => {
    const result = await runConnector(['discover'], { config });
    expect(result.code).toBe(0);
    expectValidProtocol(result);
    const catalogs = ofType(result, 'CATALOG');
    expect(catalogs).toHaveLength(1);
    const streams = catalogs[0].catalog.streams;
    const names = streams.map((s: any) => s.name);
    for (const name of FOUNDATION) expect(names).toContain(name);
    for (const stream of streams) {
      expect(stream.source_defined_primary_key.length).toBeGreaterThan(0);
      expect(stream.json_schema.properties._ab_cdc_deleted_at).toEqual({
        type: ['null', 'string'],
        format: 'date-time',
      });
    }
    expect(result.stdout).not.toContain('__faros');
  });

  test('read of the foundation streams: records, states, statuses, nothing else', async () => {
    fake.resetStats();
    const result = await runConnector(['read'], {
      config,
      catalog: configuredCatalog(FOUNDATION),
    });
    expect(result.code).toBe(0);
    expectValidProtocol(result);
    expectNoToken(result);
    for (const name of FOUNDATION) {
      expect(statusesOf(result, name)).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
      const states = statesOf(result, name);
      expect(states.length).toBeGreaterThanOrEqual(1);
      const total = states.reduce((sum, s) => sum + s.state.sourceStats.recordCount, 0);
      expect(total).toBe(recordsOf(result, name).length);
    }
    const collections: Record<string, string> = {
      users: 'users',
      pipelines: 'pipelines',
      stages: 'stages',
      activity_types: 'activityTypes',
    };
    for (const [stream, collection] of Object.entries(collections)) {
      const expected = [...fake.list(collection as any)].map((r: any) => r.id).sort();
      const ids = recordsOf(result, stream)
        .map((r) => r.id)
        .sort();
      expect(ids).toEqual(expected);
    }
    // Timestamps are RFC 3339 UTC without fractions; v1 placeholders became null.
    for (const user of recordsOf(result, 'users')) {
      for (const field of ['created', 'modified', 'last_login']) {
        if (user[field] !== null) expect(user[field]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      }
      expect(typeof user.active_flag === 'boolean' || user.active_flag === null).toBe(true);
    }
    expect(result.stdout).not.toContain('__faros');
  });

  test('an unknown stream in the catalog is a config_error and a non-zero exit', async () => {
    const result = await runConnector(['read'], {
      config,
      catalog: configuredCatalog(['users', 'no_such_stream']),
    });
    expect(result.code).not.toBe(0);
    expectValidProtocol(result);
    const [error] = errorsOf(result);
    expect(error.failure_type).toBe('config_error');
    expect(error.message).toMatch(/no_such_stream/);
    expect(ofType(result, 'RECORD')).toHaveLength(0);
  });

  test('accepts the state array Airbyte passes back', async () => {
    const first = await runConnector(['read'], {
      config,
      catalog: configuredCatalog([{ name: 'deals', syncMode: 'incremental' }]),
    });
    expect(first.code).toBe(0);
    const second = await runConnector(['read'], {
      config,
      catalog: configuredCatalog([{ name: 'deals', syncMode: 'incremental' }]),
      state: lastStates(first),
    });
    expect(second.code).toBe(0);
    expectValidProtocol(second);
    expect(recordsOf(second, 'deals').length).toBeLessThan(recordsOf(first, 'deals').length);
  });

  test('a revoked token mid-sync is a config_error naming the token; exit non-zero', async () => {
    const revoked = new FakePipedrive({ seed: 8 });
    await revoked.start();
    try {
      revoked.revokeToken();
      const result = await runConnector(['read'], {
        config: { api_token: revoked.token, api_url: revoked.url },
        catalog: configuredCatalog(['users', 'stages']),
      });
      expect(result.code).toBe(1);
      expectValidProtocol(result);
      const errors = errorsOf(result);
      expect(errors).toHaveLength(1);
      expect(errors[0].failure_type).toBe('config_error');
      expect(errors[0].message).toMatch(/API token/);
      // Both streams start at once; both end INCOMPLETE, and nothing follows the refusal.
      expect(statusesOf(result, 'users')).toEqual(['STARTED', 'RUNNING', 'INCOMPLETE']);
      expect(statusesOf(result, 'stages')).toEqual(['STARTED', 'RUNNING', 'INCOMPLETE']);
      expect(revoked.stats.requests).toBeLessThanOrEqual(2);
      expect(result.stdout).not.toContain(revoked.token);
    } finally {
      await revoked.stop();
    }
  });
});

describe('a sync you can follow', () => {
  test('progress LOG lines at a steady pace, one line per stream at its end, failures named as such', async () => {
    const fake = new FakePipedrive({
      seed: 9,
      latency: { baseMs: 50, jitterMs: 20 },
      burstLimit: 10,
      dailyTokenBudget: 1_000_000,
      sizes: { deals: 1200, persons: 1200, flowEventsPerDealMax: 1 },
    });
    await fake.start();
    try {
      // The flow endpoint refuses: deals_flow fails, the others finish.
      fake.denyPermission('/api/v1/deals');
      const result = await runConnector(['read'], {
        config: { api_token: fake.token, api_url: fake.url, max_requests_per_2_seconds: 10 },
        catalog: configuredCatalog(
          ['deals', 'deals_flow', 'persons'].map((name) => ({
            name,
            syncMode: 'incremental' as const,
          })),
        ),
        env: { PIPEDRIVE_PROGRESS_INTERVAL_MS: '300' },
      });
      expect(result.code).toBe(1);
      const logs = ofType(result, 'LOG').map((m) => m.log.message as string);
      const progress = logs.filter((m) => /^Progress after \d+ s: /.test(m));
      expect(progress.length).toBeGreaterThanOrEqual(2);
      // Per stream records, checkpoints, requests and tokens, and the budget Pipedrive reports.
      expect(progress[0]).toMatch(/deals \d+ records\/\d+ checkpoints\/\d+ requests\/\d+ tokens/);
      expect(progress[0]).toMatch(/Daily budget left: \d+ of 1000000 tokens/);
      const finished = (name: string) => logs.filter((m) => m.startsWith(`Finished ${name} in`));
      expect(finished('deals')).toHaveLength(1);
      expect(finished('persons')).toHaveLength(1);
      expect(finished('deals_flow')).toHaveLength(0);
      expect(logs.filter((m) => m.startsWith('Stream deals_flow failed after'))).toHaveLength(1);
    } finally {
      await fake.stop();
    }
  });
});
