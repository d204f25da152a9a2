/**
 * OAuth 2 end to end: bin/main against the fake Pipedrive's token endpoint (`oauth_url`) and
 * API. The connector refreshes before expiry and once on a 401, calls the api_domain the token
 * answer names, hands a rotated refresh token to Airbyte in exactly one CONTROL message per
 * rotation, and reports a revoked refresh token as a config_error. No secret appears anywhere
 * but in the CONTROL message that must carry it.
 */
import { FakePipedrive, type FakePipedriveOptions } from './fake-pipedrive';
import {
  configuredCatalog,
  errorsOf,
  expectValidProtocol,
  ofType,
  recordsOf,
  runConnector,
  type RunOptions,
  type RunResult,
  statusesOf,
} from './helpers/connector';

const SIZES = { deals: 900, persons: 700, organizations: 40, activities: 50, notes: 40 };
const CATALOG = configuredCatalog([
  'users',
  { name: 'persons', syncMode: 'incremental' },
  { name: 'deals', syncMode: 'incremental' },
]);

const fakes: FakePipedrive[] = [];
const runs: RunResult[] = [];

afterAll(() => Promise.all(fakes.map((fake) => fake.stop())));

async function startFake(options: FakePipedriveOptions = {}): Promise<FakePipedrive> {
  const fake = new FakePipedrive({ seed: 41, sizes: SIZES, ...options });
  await fake.start();
  fakes.push(fake);
  return fake;
}

/** An OAuth config for the fake: its token endpoint, no api_url (api_domain decides). */
function oauthConfig(fake: FakePipedrive, credentials: Record<string, unknown> = {}) {
  return {
    credentials: {
      auth_type: 'oauth2',
      client_id: fake.oauth.clientId,
      client_secret: fake.oauth.clientSecret,
      refresh_token: fake.oauth.currentRefreshToken,
      ...credentials,
    },
    oauth_url: fake.url,
    start_date: '2020-01-01',
  };
}

async function run(command: string[], options: RunOptions): Promise<RunResult> {
  const result = await runConnector(command, options);
  runs.push(result);
  expectValidProtocol(result);
  return result;
}

const controlsOf = (result: RunResult) => ofType(result, 'CONTROL').map((m) => m.control);
const bearerOf = (entry: { headers: Record<string, string> }) =>
  entry.headers.authorization?.replace(/^Bearer /, '');
const logsOf = (result: RunResult) => ofType(result, 'LOG').map((m) => m.log.message);

describe('OAuth 2 through bin/main', () => {
  test('check: refreshes first, calls api_domain with the bearer token, one CONTROL for the rotation', async () => {
    const fake = await startFake({ burstLimit: 100, dailyTokenBudget: 60_000 });
    const config = oauthConfig(fake);
    const result = await run(['check'], { config });
    expect(result.code).toBe(0);
    const [status] = ofType(result, 'CONNECTION_STATUS');
    expect(status.connectionStatus.status).toBe('SUCCEEDED');
    // The plan's limits, as Pipedrive's headers report them; OAuth's default burst limit is 80.
    expect(status.connectionStatus.message).toMatch(
      /OAuth app .*burst limit 100 requests per 2 s \(the connector keeps to 80\); 5\d,\d{3} of 60,000 API tokens left today/,
    );

    expect(fake.oauth.log.map((entry) => [entry.status, entry.rotated])).toEqual([[200, true]]);
    // No api_url: every call went to the api_domain of the token answer, with the new token.
    expect(fake.requestLog.length).toBeGreaterThan(0);
    for (const entry of fake.requestLog) {
      expect(entry.headers['x-api-token']).toBeUndefined();
      expect(fake.oauth.accepts(bearerOf(entry) ?? '')).toBe(true);
    }

    const controls = controlsOf(result);
    expect(controls).toHaveLength(1);
    expect(controls[0].type).toBe('CONNECTOR_CONFIG');
    expect(typeof controls[0].emitted_at).toBe('number');
    const updated = controls[0].connectorConfig.config;
    // The whole config, with only the tokens, their expiry and the api_domain changed.
    expect(updated).toEqual({
      ...config,
      credentials: {
        ...config.credentials,
        refresh_token: fake.oauth.currentRefreshToken,
        access_token: bearerOf(fake.requestLog[0]),
        token_expiry_date: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        api_domain: fake.url,
      },
    });
    expect(updated.credentials.refresh_token).not.toBe(config.credentials.refresh_token);

    // The stored config works for the next run: a valid access token, no refresh needed.
    const next = await run(['check'], { config: updated });
    expect(ofType(next, 'CONNECTION_STATUS')[0].connectionStatus.status).toBe('SUCCEEDED');
    expect(fake.oauth.log).toHaveLength(1);
    expect(controlsOf(next)).toEqual([]);
  });

  test('an access token valid for an hour is used as it is; one expiring in a minute is refreshed first', async () => {
    const fake = await startFake();
    const valid = fake.oauth.issueAccessToken(3600);
    const fresh = await run(['check'], {
      config: oauthConfig(fake, {
        access_token: valid.accessToken,
        token_expiry_date: valid.expiresAt.toISOString(),
        api_domain: fake.url,
      }),
    });
    expect(ofType(fresh, 'CONNECTION_STATUS')[0].connectionStatus.status).toBe('SUCCEEDED');
    expect(fake.oauth.log).toHaveLength(0);
    expect(bearerOf(fake.requestLog[0])).toBe(valid.accessToken);

    fake.resetStats();
    const expiring = fake.oauth.issueAccessToken(60);
    const result = await run(['check'], {
      config: oauthConfig(fake, {
        access_token: expiring.accessToken,
        token_expiry_date: expiring.expiresAt.toISOString(),
        api_domain: fake.url,
      }),
    });
    expect(ofType(result, 'CONNECTION_STATUS')[0].connectionStatus.status).toBe('SUCCEEDED');
    expect(fake.oauth.log).toHaveLength(1);
    // Refreshed before the first API call, although the old token still worked.
    expect(bearerOf(fake.requestLog[0])).not.toBe(expiring.accessToken);
    expect(fake.oauth.accepts(expiring.accessToken)).toBe(true);
    expect(logsOf(result).some((m) => /Refreshed the OAuth access token/.test(m))).toBe(true);
  });

  test('read: a 401 mid-sync refreshes once and the sync completes; one CONTROL', async () => {
    const fake = await startFake();
    const valid = fake.oauth.issueAccessToken(3600);
    let expired = false;
    const result = await run(['read'], {
      config: oauthConfig(fake, {
        access_token: valid.accessToken,
        token_expiry_date: valid.expiresAt.toISOString(),
        api_domain: fake.url,
      }),
      catalog: CATALOG,
      onMessage: (message) => {
        if (!expired && message.type === 'RECORD' && message.record.stream === 'persons') {
          expired = true;
          fake.oauth.expireAccessTokens();
        }
      },
    });
    expect(expired).toBe(true);
    expect(errorsOf(result)).toEqual([]);
    expect(result.code).toBe(0);
    for (const name of ['users', 'persons', 'deals']) {
      expect(statusesOf(result, name)).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
    }
    expect(recordsOf(result, 'deals').length).toBeGreaterThan(500);
    // Concurrent requests that met the 401 shared one refresh.
    expect(fake.oauth.log.map((entry) => entry.status)).toEqual([200]);
    const statuses = fake.requestLog.map((entry) => entry.status);
    expect(statuses.filter((status) => status === 401).length).toBeGreaterThan(0);
    expect(controlsOf(result)).toHaveLength(1);
    expect(controlsOf(result)[0].connectorConfig.config.credentials.refresh_token).toBe(
      fake.oauth.currentRefreshToken,
    );
  });

  test('without rotation a refresh needs no CONTROL message', async () => {
    const fake = await startFake({ oauth: { rotateRefreshTokens: false } });
    const result = await run(['check'], { config: oauthConfig(fake) });
    expect(ofType(result, 'CONNECTION_STATUS')[0].connectionStatus.status).toBe('SUCCEEDED');
    expect(fake.oauth.log.map((entry) => [entry.status, entry.rotated])).toEqual([[200, false]]);
    expect(controlsOf(result)).toEqual([]);
  });

  test('a revoked refresh token: check FAILED and read a config_error, both saying to re-authorise', async () => {
    const fake = await startFake();
    const config = oauthConfig(fake);
    fake.oauth.revoke();
    const check = await run(['check'], { config });
    expect(check.code).toBe(0);
    const [status] = ofType(check, 'CONNECTION_STATUS');
    expect(status.connectionStatus.status).toBe('FAILED');
    expect(status.connectionStatus.message).toMatch(
      /refused the OAuth refresh token.*Re-authorise/,
    );

    const read = await run(['read'], { config, catalog: CATALOG });
    expect(read.code).toBe(1);
    const errors = errorsOf(read);
    expect(errors).toHaveLength(1);
    expect(errors[0].failure_type).toBe('config_error');
    expect(errors[0].message).toMatch(/invalid_grant.*60 days unused.*Re-authorise/);
    expect(ofType(read, 'RECORD')).toEqual([]);
    expect(fake.requestLog).toEqual([]);
  });

  test('revoked mid-sync: the sync stops with a config_error and keeps its states', async () => {
    // Enough pages that requests are still to come after the first STATE (the first requests
    // of every stream leave together, so a small company can be read before it).
    const fake = await startFake({ sizes: { ...SIZES, deals: 6000, persons: 4000 } });
    const valid = fake.oauth.issueAccessToken(3600);
    let revoked = false;
    const result = await run(['read'], {
      config: oauthConfig(fake, {
        access_token: valid.accessToken,
        token_expiry_date: valid.expiresAt.toISOString(),
        api_domain: fake.url,
      }),
      catalog: CATALOG,
      onMessage: (message) => {
        if (!revoked && message.type === 'STATE') {
          revoked = true;
          fake.oauth.revoke();
        }
      },
    });
    expect(result.code).toBe(1);
    const errors = errorsOf(result);
    expect(errors.map((error) => error.failure_type)).toEqual(['config_error']);
    expect(errors[0].message).toMatch(/Re-authorise/);
    expect(statusesOf(result, 'deals').pop()).toBe('INCOMPLETE');
  });

  test('wrong client credentials: FAILED naming client_id and client_secret', async () => {
    const fake = await startFake();
    const result = await run(['check'], {
      config: oauthConfig(fake, { client_secret: 'not-the-secret-0123' }),
    });
    expect(ofType(result, 'CONNECTION_STATUS')[0].connectionStatus.message).toMatch(
      /invalid_client.*credentials.client_id and credentials.client_secret/,
    );
  });

  test('no secret in any output: only the CONTROL message carries the new tokens', () => {
    expect(runs.length).toBeGreaterThanOrEqual(9);
    const secrets = new Set<string>();
    for (const fake of fakes) {
      secrets.add(fake.oauth.clientSecret);
      secrets.add(fake.oauth.currentRefreshToken);
      for (const entry of fake.requestLog) {
        const token = bearerOf(entry);
        if (token) secrets.add(token);
      }
    }
    for (const result of runs) {
      for (const control of controlsOf(result)) {
        const credentials = control.connectorConfig.config.credentials;
        secrets.add(credentials.refresh_token);
        secrets.add(credentials.access_token);
      }
    }
    secrets.add('not-the-secret-0123');
    expect(secrets.size).toBeGreaterThan(8);
    const leaks: string[] = [];
    for (const result of runs) {
      const lines = result.stdout
        .split('\n')
        .filter((line) => !line.startsWith('{"type":"CONTROL"'));
      const text = `${lines.join('\n')}\n${result.stderr}`;
      for (const secret of secrets) if (text.includes(secret)) leaks.push(secret.slice(0, 12));
    }
    expect(leaks).toEqual([]);
  });
});
