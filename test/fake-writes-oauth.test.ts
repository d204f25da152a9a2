/**
 * The standalone fake's write calls, clock control and OAuth token endpoint, over real HTTP
 * (what a person does with curl while trying the connector).
 */
import { FakePipedrive } from './fake-pipedrive';

const fake = new FakePipedrive({ seed: 31, sizes: { deals: 20, persons: 20, notes: 20 } });

beforeAll(() => fake.start());
afterAll(() => fake.stop());

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = { 'x-api-token': fake.token },
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${fake.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

describe('write calls on Pipedrive’s paths', () => {
  test.each([
    ['deals', { title: 'Walk-through deal', value: 1200 }, { value: 1500 }],
    ['persons', { name: 'Ada Lovelace' }, { name: 'Ada King' }],
    ['organizations', { name: 'Analytical Engines Ltd' }, { name: 'AE Ltd' }],
    ['activities', { subject: 'Call Ada', deal_id: 1 }, { subject: 'Call Ada again' }],
    ['products', { name: 'Difference engine' }, { name: 'Difference engine 2' }],
  ])('v2 %s: POST creates, PATCH updates, DELETE removes', async (entity, create, patch) => {
    const created = await call('POST', `/api/v2/${entity}`, create);
    expect(created.status).toBe(201);
    const id = created.body.data.id;
    expect(created.body.data).toMatchObject(create);
    expect(fake.get(entity as any, id)).toMatchObject(create);

    fake.clock.advance(60);
    const updated = await call('PATCH', `/api/v2/${entity}/${id}`, patch);
    expect(updated.status).toBe(200);
    expect(updated.body.data).toMatchObject(patch);
    expect(updated.body.data.update_time > created.body.data.update_time).toBe(true);

    const deleted = await call('DELETE', `/api/v2/${entity}/${id}`);
    expect([deleted.status, deleted.body]).toEqual([200, { success: true, data: { id } }]);
    expect((await call('DELETE', `/api/v2/${entity}/${id}`)).status).toBe(404);
  });

  test('v1 notes: POST, PUT, DELETE', async () => {
    const created = await call('POST', '/api/v1/notes', { content: 'First call', deal_id: 1 });
    expect(created.status).toBe(201);
    const id = created.body.data.id;
    const updated = await call('PUT', `/v1/notes/${id}`, { content: 'First call, edited' });
    expect([updated.status, updated.body.data.content]).toEqual([200, 'First call, edited']);
    const deleted = await call('DELETE', `/api/v1/notes/${id}`);
    expect([deleted.status, deleted.body]).toEqual([200, { success: true, data: true }]);
    expect(fake.get('notes', id)?.active_flag).toBe(false);
  });

  test('a form-encoded v1 body works too', async () => {
    const response = await fetch(`${fake.url}/api/v1/notes`, {
      method: 'POST',
      headers: {
        'x-api-token': fake.token,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'content=From+a+form&person_id=2',
    });
    expect(response.status).toBe(201);
    expect(((await response.json()) as any).data).toMatchObject({
      content: 'From a form',
      person_id: 2,
    });
  });

  test.each([
    ['no token', 'POST', '/api/v2/deals', { title: 'x' }, {}, 401],
    ['a missing required field', 'POST', '/api/v2/deals', { value: 1 }, undefined, 400],
    ['a note without a parent', 'POST', '/api/v1/notes', { content: 'x' }, undefined, 400],
    ['an unknown id', 'PATCH', '/api/v2/persons/999999', { name: 'x' }, undefined, 404],
    ['an unsupported write', 'POST', '/api/v2/pipelines', { name: 'x' }, undefined, 404],
    ['a bad id', 'DELETE', '/api/v2/deals/abc', undefined, undefined, 400],
  ])('%s: %s %s is refused', async (_, method, path, body, headers, status) => {
    const response = await call(method, path, body, headers);
    expect(response.status).toBe(status);
    expect(response.body.success).toBe(false);
  });

  test('a write is visible to the next incremental read of the list', async () => {
    const since = fake.clock
      .now()
      .toISOString()
      .replace(/\.\d+Z$/, 'Z');
    fake.clock.advance(3600);
    const created = await call('POST', '/api/v2/persons', { name: 'New since' });
    const list = await call('GET', `/api/v2/persons?updated_since=${since}&sort_by=update_time`);
    expect(list.body.data.map((p: any) => p.id)).toContain(created.body.data.id);
  });
});

describe('clock control', () => {
  test('POST /_fake/clock/advance?seconds=N moves the fake clock', async () => {
    const before = fake.clock.nowSeconds();
    const response = await call('POST', '/_fake/clock/advance?seconds=3600');
    expect(response.status).toBe(200);
    expect(fake.clock.nowSeconds()).toBe(before + 3600);
    expect(response.body.now).toBe(fake.clock.now().toISOString());
    expect((await call('GET', '/_fake/clock')).body.now).toBe(fake.clock.now().toISOString());
    expect((await call('POST', '/_fake/clock/advance?seconds=-1')).status).toBe(400);
    expect((await call('GET', '/_fake/clock/advance')).status).toBe(405);
  });
});

describe('OAuth token endpoint', () => {
  const oauth = new FakePipedrive({ seed: 32, oauth: { accessTokenLifetimeSeconds: 60 } });
  beforeAll(() => oauth.start());
  afterAll(() => oauth.stop());

  const basic = (id = oauth.oauth.clientId, secret = oauth.oauth.clientSecret) =>
    `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

  async function refresh(refreshToken: string, authorization = basic()) {
    const response = await fetch(`${oauth.url}/oauth/token`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
    });
    return { status: response.status, body: (await response.json()) as any };
  }

  const me = (accessToken: string) =>
    fetch(`${oauth.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${accessToken}` } });

  test('refresh: a bearer access token for the API, a rotated refresh token, api_domain', async () => {
    const first = oauth.oauth.currentRefreshToken;
    const answer = await refresh(first);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 60,
      api_domain: oauth.url,
    });
    expect(answer.body.refresh_token).not.toBe(first);
    expect((await me(answer.body.access_token)).status).toBe(200);
    // The spent refresh token is refused.
    expect((await refresh(first)).body.error).toBe('invalid_grant');
    expect(oauth.oauth.log.map((entry) => [entry.status, entry.rotated])).toEqual([
      [200, true],
      [400, false],
    ]);
  });

  test('expired and unknown access tokens answer 401', async () => {
    const { body } = await refresh(oauth.oauth.currentRefreshToken);
    oauth.oauth.expireAccessTokens();
    expect((await me(body.access_token)).status).toBe(401);
    expect((await me('fake-access-unknown')).status).toBe(401);
  });

  test('wrong client credentials → 401 invalid_client; revocation → invalid_grant', async () => {
    const wrong = await refresh(oauth.oauth.currentRefreshToken, basic('x', 'y'));
    expect([wrong.status, wrong.body.error]).toEqual([401, 'invalid_client']);
    const { accessToken } = oauth.oauth.issueAccessToken();
    oauth.oauth.revoke();
    expect((await refresh(oauth.oauth.currentRefreshToken)).body.error).toBe('invalid_grant');
    expect((await me(accessToken)).status).toBe(401);
  });
});
