/**
 * src/pipedrive/auth.ts in-process against the fake's token endpoint over HTTP, with a clock
 * the test moves: refresh before expiry during a long sync, one refresh for concurrent 401s,
 * and the client's single retry after a refresh.
 */
import { AccountError } from '../src/errors';
import { ApiTokenAuth, OAuthSession } from '../src/pipedrive/auth';
import { PipedriveClient } from '../src/pipedrive/client';
import { FakePipedrive } from './fake-pipedrive';

const fake = new FakePipedrive({ seed: 61, oauth: { accessTokenLifetimeSeconds: 3600 } });
beforeAll(() => fake.start());
afterAll(() => fake.stop());

function session(now: () => number, onConfigChange = async (_: unknown) => undefined) {
  const secrets: string[] = [];
  const auth = new OAuthSession({
    credentials: {
      auth_type: 'oauth2',
      client_id: fake.oauth.clientId,
      client_secret: fake.oauth.clientSecret,
      refresh_token: fake.oauth.currentRefreshToken,
    },
    tokenUrl: `${fake.url}/oauth/token`,
    rawConfig: { credentials: { auth_type: 'oauth2' }, start_date: '2024-01-01' },
    addSecret: (secret) => secrets.push(secret),
    onConfigChange,
    now,
    retryBaseMs: 1,
  });
  return { auth, secrets };
}

describe('OAuthSession', () => {
  test('refreshes when the access token nears its expiry, not before', async () => {
    fake.oauth.log.length = 0;
    let clock = 1_000_000;
    const configs: any[] = [];
    const { auth, secrets } = session(
      () => clock,
      async (config) => void configs.push(config),
    );
    const first = await auth.headers();
    expect(fake.oauth.log).toHaveLength(1);
    clock += 50 * 60_000; // 50 minutes: still 10 minutes left
    expect(await auth.headers()).toEqual(first);
    expect(fake.oauth.log).toHaveLength(1);
    clock += 6 * 60_000; // 4 minutes left: inside the 5-minute margin
    const second = await auth.headers();
    expect(second).not.toEqual(first);
    expect(fake.oauth.log).toHaveLength(2);
    // Each rotation persisted the whole config, and every token was registered as a secret.
    expect(configs).toHaveLength(2);
    expect(configs[1]).toMatchObject({
      start_date: '2024-01-01',
      credentials: { refresh_token: fake.oauth.currentRefreshToken, api_domain: fake.url },
    });
    expect(secrets).toEqual(
      expect.arrayContaining([
        fake.oauth.clientSecret,
        fake.oauth.currentRefreshToken,
        second.authorization.replace('Bearer ', ''),
      ]),
    );
    expect(auth.apiDomain).toBe(fake.url);
  });

  test('concurrent 401s with the same token share one refresh', async () => {
    fake.oauth.log.length = 0;
    const { auth } = session(Date.now);
    const sent = await auth.headers();
    const results = await Promise.all([1, 2, 3, 4].map(() => auth.renewAfter401(sent)));
    expect(results).toEqual([true, true, true, true]);
    expect(fake.oauth.log).toHaveLength(2);
    // A request sent with a token that was replaced meanwhile just retries, no new refresh.
    expect(await auth.renewAfter401(sent)).toBe(true);
    expect(fake.oauth.log).toHaveLength(2);
  });

  test('the API token cannot be renewed', async () => {
    const auth = new ApiTokenAuth('token-x');
    expect(await auth.headers()).toEqual({ 'x-api-token': 'token-x' });
    expect(await auth.renewAfter401()).toBe(false);
  });
});

describe('PipedriveClient with OAuth', () => {
  test('a 401 refreshes once and retries; a second 401 is a config_error', async () => {
    const { auth } = session(Date.now);
    const client = new PipedriveClient({ baseUrl: fake.url, auth, maxRequestsPer2Seconds: 50 });
    fake.oauth.log.length = 0;
    fake.failNext(/\/users\/me/, 401, 1);
    await expect(client.get('v1', '/users/me')).resolves.toMatchObject({ success: true });
    expect(fake.oauth.log).toHaveLength(2); // the first token, then the refresh on the 401

    fake.failNext(/\/users\/me/, 401, 2);
    const error = await client.get('v1', '/users/me').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccountError);
    expect((error as AccountError).message).toMatch(/freshly refreshed OAuth access token/);
    expect((error as AccountError).info).toMatchObject({ status: 401 });
    expect(fake.oauth.log).toHaveLength(3);
  });
});
