import fs from 'node:fs';
import path from 'node:path';

import { FakePipedrive, JsonObject } from './fake-pipedrive';
import { parseArguments } from './fake-pipedrive/cli';
import { CUSTOM_FIELD_SPECS } from './fake-pipedrive/data/fields';

/** The fake Pipedrive itself, over real HTTP. */

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

async function call(
  fake: FakePipedrive,
  path: string,
  options: { token?: string | null; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const token = options.token === undefined ? fake.token : options.token;
  const headers: Record<string, string> = { ...options.headers };
  if (token !== null) headers['x-api-token'] = token;
  const response = await fetch(`${fake.url}${path}`, { headers });
  const text = await response.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

/** Follows v2 cursors to the end; returns every record and the number of pages. */
async function readAllV2(
  fake: FakePipedrive,
  path: string,
): Promise<{ records: any[]; pages: number }> {
  const records: any[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const reply = await call(fake, `${path}${cursor ? `${separator}cursor=${cursor}` : ''}`);
    expect(reply.status).toBe(200);
    records.push(...reply.body.data);
    cursor = reply.body.additional_data.next_cursor;
    pages++;
  } while (cursor);
  return { records, pages };
}

async function readAllV1(
  fake: FakePipedrive,
  path: string,
): Promise<{ records: any[]; pages: number }> {
  const records: any[] = [];
  let start: number | undefined = 0;
  let pages = 0;
  while (start !== undefined) {
    const separator = path.includes('?') ? '&' : '?';
    const reply = await call(fake, `${path}${separator}start=${start}`);
    expect(reply.status).toBe(200);
    records.push(...(reply.body.data ?? []));
    start = reply.body.additional_data.pagination.next_start;
    pages++;
  }
  return { records, pages };
}

const ids = (records: JsonObject[]) => records.map((record) => record.id);
const seconds = (text: string) => Date.parse(text) / 1000;
const v2Time = (epochSeconds: number) =>
  new Date(epochSeconds * 1000).toISOString().slice(0, 19) + 'Z';

describe('generated data', () => {
  test('the same seed gives the same data; another seed does not', () => {
    const first = new FakePipedrive({ seed: 5 });
    const second = new FakePipedrive({ seed: 5 });
    const other = new FakePipedrive({ seed: 6 });
    for (const collection of ['deals', 'persons', 'notes', 'leads', 'dealProducts'] as const) {
      expect(second.list(collection)).toEqual(first.list(collection));
    }
    expect(second.db.flow).toEqual(first.db.flow);
    expect(other.list('deals')).not.toEqual(first.list('deals'));
  });

  test('default sizes: a small realistic company', () => {
    const fake = new FakePipedrive();
    const deals = fake.list('deals');
    expect(deals).toHaveLength(400 + 15 + 10);
    expect(deals.filter((deal) => deal.is_archived)).toHaveLength(15);
    expect(deals.filter((deal) => deal.status === 'deleted' && deal.is_deleted)).toHaveLength(10);
    expect(fake.list('persons')).toHaveLength(300);
    expect(fake.list('organizations')).toHaveLength(120);
    expect(fake.list('stages')).toHaveLength(15);
    expect(fake.list('users')).toHaveLength(8);
    expect(fake.list('leads').length).toBe(60 + 8);
    expect(fake.count('dealProducts')).toBeGreaterThan(100);
    expect(Object.keys(fake.db.flow).length).toBeGreaterThan(100);
    // Realistic record sizes: a deal with its custom fields is 1–2 KB of JSON.
    const averageDealSize = JSON.stringify(deals).length / deals.length;
    expect(averageDealSize).toBeGreaterThan(1000);
    expect(averageDealSize).toBeLessThan(2200);
  });

  test('records reference each other consistently', () => {
    const fake = new FakePipedrive({ seed: 3 });
    const stages = new Map(fake.list('stages').map((stage) => [stage.id, stage]));
    for (const deal of fake.list('deals')) {
      expect((stages.get(deal.stage_id) as JsonObject).pipeline_id).toBe(deal.pipeline_id);
      expect(seconds(deal.update_time as string)).toBeGreaterThanOrEqual(
        seconds(deal.add_time as string),
      );
      expect(deal.update_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    for (const [dealId, items] of Object.entries(fake.db.flow)) {
      const deal = fake.get('deals', Number(dealId)) as JsonObject;
      const stageChanges = items.filter((item) => item.data.field_key === 'stage_id');
      // Newest first, and the newest stage change lands on the deal's current stage.
      expect([...items].sort((a, b) => (a.timestamp < b.timestamp ? 1 : -1))).toEqual(items);
      if (stageChanges.length > 0) expect(stageChanges[0].data.new_value).toBe(deal.stage_id);
    }
  });

  test('field definitions cover every custom field type and the awkward names', () => {
    const fields = new FakePipedrive().fields();
    const all = Object.values(fields).flat();
    const types = new Set(
      all.filter((field) => /^[0-9a-f]{40}$/.test(field.key)).map((f) => f.field_type),
    );
    for (const type of [
      'int',
      'double',
      'monetary',
      'boolean',
      'varchar',
      'text',
      'phone',
      'varchar_auto',
      'varchar_options',
      'enum',
      'set',
      'date',
      'daterange',
      'time',
      'timerange',
      'address',
      'user',
      'org',
      'people',
      'deal',
      'lead',
      'stage',
      'status',
      'visible_to',
      'json',
      'picture',
    ]) {
      expect(types).toContain(type);
    }
    const dealNames = fields.deal.map((field) => field.name);
    expect(dealNames).toEqual(
      expect.arrayContaining([
        'Deal Source',
        'deal source',
        'Número de série',
        '!!!',
        '2nd Contact',
      ]),
    );
    expect(dealNames.filter((name) => name === 'Value')).toHaveLength(2);
    expect(fields.deal.find((field) => field.name === 'Legacy Score')?.active_flag).toBe(false);
    const enumField = fields.deal.find((field) => field.name === 'Deal Source');
    expect(enumField?.options?.map((option) => option.label)).toEqual(
      CUSTOM_FIELD_SPECS.deal[0].options,
    );
  });

  test('custom field values use the v2 format in v2 records and the v1 format in leads', () => {
    const fake = new FakePipedrive({ seed: 2 });
    const byName = new Map(fake.fields().deal.map((field) => [field.name, field]));
    const key = (name: string) => (byName.get(name) as JsonObject).key as string;
    const deals = fake.list('deals');
    const values = (name: string) =>
      deals.map((deal) => (deal.custom_fields as JsonObject)[key(name)]).filter((v) => v !== null);
    expect(values('Contract Value')[0]).toEqual({
      value: expect.any(Number),
      currency: expect.any(String),
    });
    expect(values('Deal Source')[0]).toEqual(expect.any(Number));
    expect(values('Industries').every(Array.isArray)).toBe(true);
    expect(values('Contract Period')[0]).toEqual({
      value: expect.any(String),
      until: expect.any(String),
    });
    expect(values('Billing Address')[0]).toMatchObject({
      route: expect.any(String),
      locality: expect.any(String),
    });
    // Inactive fields keep their values hidden.
    expect(
      deals.every((deal) => !(key('Legacy Score') in (deal.custom_fields as JsonObject))),
    ).toBe(true);

    const leads = fake.list('leads');
    const monetary = leads.find((lead) => lead[key('Contract Value')] !== undefined) as JsonObject;
    expect(typeof monetary[key('Contract Value')]).toBe('number');
    expect(typeof monetary[`${key('Contract Value')}_currency`]).toBe('string');
    const set = leads.find((lead) => typeof lead[key('Industries')] === 'string') as JsonObject;
    expect(set[key('Industries')]).toMatch(/^\d+(,\d+)*$/);
    expect(leads[0].id).toMatch(/^[0-9a-f-]{36}$/);
    expect(leads[0].add_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test('20k deals generate fast and page completely', async () => {
    const started = Date.now();
    const fake = new FakePipedrive({ seed: 9, sizes: { deals: 20_000 } });
    expect(Date.now() - started).toBeLessThan(3000);
    await fake.start();
    try {
      // One custom field per deal keeps the 40 pages quick to encode and parse; every deal is
      // still generated in full on the server.
      const seats = fake.fields().deal.find((field) => field.name === 'Seats')?.key;
      const { records, pages } = await readAllV2(
        fake,
        `/api/v2/deals?limit=500&sort_by=update_time&custom_fields=${seats}`,
      );
      expect(Object.keys(records[0].custom_fields)).toEqual([seats]);
      expect(pages).toBe(40);
      expect(new Set(ids(records)).size).toBe(20_000);
      const times = records.map((deal) => seconds(deal.update_time));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
    } finally {
      await fake.stop();
    }
  });
});

describe('over HTTP', () => {
  let fake: FakePipedrive;

  beforeEach(async () => {
    fake = new FakePipedrive({ seed: 11 });
    await fake.start();
  });

  afterEach(async () => {
    await fake.stop();
  });

  describe('auth and envelopes', () => {
    test('accepts the token as header or query parameter, on /api/v1, /v1 and /api/v2', async () => {
      expect((await call(fake, '/api/v1/users/me')).body.data.company_domain).toBe('acme');
      expect(
        (await call(fake, `/v1/users/me?api_token=${fake.token}`, { token: null })).status,
      ).toBe(200);
      expect((await call(fake, '/api/v2/pipelines')).body.success).toBe(true);
      expect(fake.stats.byEndpoint['GET /api/v1/users/me'].requests).toBe(2);
    });

    test('a missing, wrong or revoked token is 401 with Pipedrive’s body', async () => {
      const expected = {
        success: false,
        error: 'unauthorized access',
        errorCode: 401,
        error_info: 'Please check developers.pipedrive.com',
      };
      expect((await call(fake, '/api/v2/deals', { token: null })).body).toEqual(expected);
      expect((await call(fake, '/api/v2/deals', { token: 'nope' })).status).toBe(401);
      fake.revokeToken();
      const revoked = await call(fake, '/api/v2/deals');
      expect(revoked.status).toBe(401);
      expect(revoked.body).toEqual(expected);
    });

    test('unknown paths are 404, denied ones 403, gone legacy teams 410', async () => {
      expect((await call(fake, '/api/v2/nothing')).status).toBe(404);
      fake.denyPermission('/v1/notes');
      const denied = await call(fake, '/api/v1/notes');
      expect(denied.status).toBe(403);
      expect(denied.body).toMatchObject({ success: false, data: null, additional_data: null });
      expect((await call(fake, '/api/v1/legacyTeams')).status).toBe(200);
      fake.legacyTeamsGone = true;
      const gone = await call(fake, '/api/v1/legacyTeams/1/users');
      expect(gone.status).toBe(410);
      expect(gone.body).toMatchObject({ success: false, error: 'Gone', data: null });
    });
  });

  describe('v2 cursor pagination and filters', () => {
    test('pages deals by id: every visible deal once, archived and deleted ones left out', async () => {
      const { records, pages } = await readAllV2(fake, '/api/v2/deals?limit=37');
      const expected = fake.list('deals').filter((deal) => !deal.is_archived && !deal.is_deleted);
      expect(ids(records)).toEqual(ids(expected));
      expect(pages).toBe(Math.ceil(expected.length / 37));
    });

    test('descending order and opaque cursors', async () => {
      const first = await call(fake, '/api/v2/persons?limit=5&sort_direction=desc');
      expect(ids(first.body.data)).toEqual([300, 299, 298, 297, 296]);
      const cursor = first.body.additional_data.next_cursor;
      expect(typeof cursor).toBe('string');
      const second = await call(
        fake,
        `/api/v2/persons?limit=5&sort_direction=desc&cursor=${cursor}`,
      );
      expect(ids(second.body.data)).toEqual([295, 294, 293, 292, 291]);
      expect((await call(fake, `/api/v2/persons?cursor=${cursor}`)).status).toBe(400);
      expect((await call(fake, '/api/v2/persons?cursor=garbage')).status).toBe(400);
    });

    test('updated_since is inclusive, updated_until exclusive, both strict RFC 3339', async () => {
      const deals = fake.list('deals').filter((deal) => !deal.is_archived && !deal.is_deleted);
      // A second shared by two deals: the inclusive boundary must keep both.
      const counts = new Map<string, number>();
      for (const deal of deals)
        counts.set(deal.update_time as string, (counts.get(deal.update_time as string) ?? 0) + 1);
      const tie = [...counts].find(([, count]) => count > 1)?.[0] as string;
      expect(tie).toBeDefined();
      const since = await readAllV2(
        fake,
        `/api/v2/deals?limit=500&sort_by=update_time&updated_since=${tie}`,
      );
      expect(since.records.length).toBe(
        deals.filter((deal) => seconds(deal.update_time as string) >= seconds(tie)).length,
      );
      expect(since.records.filter((deal) => deal.update_time === tie).length).toBe(counts.get(tie));
      const until = await readAllV2(fake, `/api/v2/deals?limit=500&updated_until=${tie}`);
      expect(until.records.length).toBe(deals.length - since.records.length);

      for (const bad of [
        '2025-01-01T10:20:00.000Z',
        '2025-01-01 10:20:00',
        'yesterday',
        '2025-01-01',
      ]) {
        const reply = await call(fake, `/api/v2/deals?updated_since=${encodeURIComponent(bad)}`);
        expect(reply.status).toBe(400);
        expect(reply.body).toMatchObject({ success: false, data: null, additional_data: null });
      }
      expect(
        (await call(fake, '/api/v2/deals?updated_since=2025-01-01T10:20:00%2B02:00')).status,
      ).toBe(200);
      expect(
        (await call(fake, '/api/v2/pipelines?updated_since=2025-01-01T00:00:00Z')).status,
      ).toBe(400);
      expect((await call(fake, '/api/v2/stages?updated_since=2025-01-01T00:00:00Z')).status).toBe(
        400,
      );
      expect((await call(fake, '/api/v2/products?updated_since=2025-01-01T00:00:00Z')).status).toBe(
        200,
      );
    });

    test('limit: default 100, at most 500', async () => {
      expect((await call(fake, '/api/v2/persons')).body.data).toHaveLength(100);
      expect((await call(fake, '/api/v2/persons?limit=500')).body.data).toHaveLength(300);
      expect((await call(fake, '/api/v2/persons?limit=501')).status).toBe(400);
    });

    test('keyset cursors lose nothing when records change between pages', async () => {
      const before = fake.list('deals').filter((deal) => !deal.is_archived && !deal.is_deleted);
      const seen: any[] = [];
      let cursor: string | null = null;
      let page = 0;
      do {
        const reply = await call(
          fake,
          `/api/v2/deals?limit=50&sort_by=update_time${cursor ? `&cursor=${cursor}` : ''}`,
        );
        seen.push(...reply.body.data);
        cursor = reply.body.additional_data.next_cursor;
        if (page++ === 1) {
          // Someone edits a deal on a later page and one already read, and adds a deal.
          fake.clock.advance(60);
          fake.update('deals', before[300].id as number, { title: 'moved to the end' });
          fake.update('deals', before[10].id as number, { value: 1 });
          fake.insert('deals', { title: 'brand new' });
        }
      } while (cursor);
      const seenIds = new Set(ids(seen));
      for (const deal of before) expect(seenIds).toContain(deal.id);
      expect(seen.find((deal) => deal.title === 'brand new')).toBeDefined();
      expect(seen.filter((deal) => deal.id === before[10].id)).toHaveLength(2);
    });

    test('status: deleted deals for 30 days; archived deals only from /deals/archived', async () => {
      const deleted = fake.list('deals').filter((deal) => deal.status === 'deleted');
      const archived = fake.list('deals').filter((deal) => deal.is_archived);
      const withDeleted = await readAllV2(
        fake,
        '/api/v2/deals?limit=500&status=open,won,lost,deleted',
      );
      expect(withDeleted.records.filter((deal) => deal.is_deleted)).toHaveLength(deleted.length);
      const onlyDeleted = await readAllV2(fake, '/api/v2/deals?limit=500&status=deleted');
      expect(ids(onlyDeleted.records).sort()).toEqual(ids(deleted).sort());
      const won = await readAllV2(fake, '/api/v2/deals?limit=500&status=won');
      expect(won.records.every((deal) => deal.status === 'won')).toBe(true);
      expect((await call(fake, '/api/v2/deals?status=bogus')).status).toBe(400);

      const archivedReply = await readAllV2(fake, '/api/v2/deals/archived?limit=500');
      expect(ids(archivedReply.records)).toEqual(ids(archived));
      expect(fake.stats.byEndpoint['GET /api/v2/deals/archived'].tokens).toBe(20);

      fake.clock.advance(31 * 86_400);
      const purged = await call(fake, '/api/v2/deals?limit=500&status=deleted');
      expect(purged.body.data).toEqual([]);
    });

    test('deal products of up to 100 deals, cursor paged', async () => {
      const dealIds = Array.from({ length: 100 }, (_, index) => index + 1);
      const expected = dealIds.flatMap((id) => fake.dealProductsOf(id));
      const { records } = await readAllV2(
        fake,
        `/api/v2/deals/products?limit=20&deal_ids=${dealIds.join(',')}`,
      );
      expect(ids(records)).toEqual(ids(expected).sort((a: any, b: any) => a - b));
      expect(records[0]).toMatchObject({
        deal_id: expect.any(Number),
        sum: expect.any(Number),
        tax_method: expect.any(String),
      });
      expect(
        (await call(fake, `/api/v2/deals/products?deal_ids=${[...dealIds, 101].join(',')}`)).status,
      ).toBe(400);
      expect((await call(fake, '/api/v2/deals/products')).status).toBe(400);
      const oneDeal = expected[0].deal_id as number;
      const single = await call(fake, `/api/v2/deals/${oneDeal}/products`);
      expect(ids(single.body.data)).toEqual(ids(fake.dealProductsOf(oneDeal)));
    });

    test('v2 shapes: persons, organizations, products, stages', async () => {
      const person = (await call(fake, '/api/v2/persons?limit=1')).body.data[0];
      expect(person.emails[0]).toEqual({ value: expect.any(String), primary: true, label: 'work' });
      expect(person.custom_fields).toEqual(expect.any(Object));
      const organizations = (await call(fake, '/api/v2/organizations?limit=50')).body.data;
      expect(organizations.find((org: any) => org.address)?.address).toMatchObject({
        locality: expect.any(String),
      });
      const product = (await call(fake, '/api/v2/products?limit=1')).body.data[0];
      expect(product.prices[0]).toMatchObject({
        product_id: product.id,
        price: expect.any(Number),
      });
      const stages = (await call(fake, '/api/v2/stages?pipeline_id=2')).body.data;
      expect(stages.every((stage: any) => stage.pipeline_id === 2)).toBe(true);
    });
  });

  describe('v1 offset pagination', () => {
    test('notes: start/limit, next_start only when more, data null past the end', async () => {
      const first = await call(fake, '/api/v1/notes?limit=200');
      expect(first.body.additional_data.pagination).toEqual({
        start: 0,
        limit: 200,
        more_items_in_collection: true,
        next_start: 200,
      });
      const { records, pages } = await readAllV1(fake, '/api/v1/notes?limit=200');
      expect(pages).toBe(3);
      expect(ids(records)).toEqual(ids(fake.list('notes')));
      const last = await call(fake, '/api/v1/notes?limit=200&start=400');
      expect(last.body.additional_data.pagination).toEqual({
        start: 400,
        limit: 200,
        more_items_in_collection: false,
      });
      const beyond = await call(fake, '/api/v1/notes?start=10000');
      expect(beyond.body.data).toBeNull();
      expect(
        (await call(fake, '/api/v1/notes?limit=1000')).body.additional_data.pagination.limit,
      ).toBe(500);
    });

    test('notes: update_time ASC, inclusive updated_since, joined sub-objects, add-time dates', async () => {
      const notes = fake.list('notes');
      const pivot = notes[250].update_time as string;
      const since = `${pivot.replace(' ', 'T')}Z`;
      const { records } = await readAllV1(
        fake,
        `/api/v1/notes?sort=${encodeURIComponent('update_time ASC')}&updated_since=${since}&limit=500`,
      );
      expect(records.length).toBe(
        notes.filter((note) => (note.update_time as string) >= pivot).length,
      );
      expect(records.map((note) => note.update_time)).toEqual(
        [...records.map((note) => note.update_time)].sort(),
      );
      const withDeal = records.find((note) => note.deal_id !== null);
      expect(withDeal.deal.title).toBe(fake.get('deals', withDeal.deal_id)?.title);
      expect(withDeal.user.email).toMatch(/@/);
      expect(records.find((note) => note.deal_id === null).deal).toBeNull();

      const day = (notes[100].add_time as string).slice(0, 10);
      const onDay = await call(fake, `/api/v1/notes?start_date=${day}&end_date=${day}&limit=500`);
      expect(onDay.body.data.length).toBe(
        notes.filter((note) => (note.add_time as string).startsWith(day)).length,
      );
      expect((await call(fake, '/api/v1/notes?sort=nope%20ASC')).status).toBe(400);
    });

    test('leads: uuid ids, archived ones apart, updated_since', async () => {
      const leads = fake.list('leads');
      const inbox = await readAllV1(
        fake,
        `/api/v1/leads?sort=${encodeURIComponent('update_time ASC')}&limit=25`,
      );
      expect(inbox.records.length).toBe(leads.filter((lead) => !lead.is_archived).length);
      expect(inbox.records.every((lead) => !lead.is_archived)).toBe(true);
      const archived = await readAllV1(fake, '/api/v1/leads/archived');
      expect(archived.records.length).toBe(8);
      expect(fake.stats.byEndpoint['GET /api/v1/leads/archived'].tokens).toBe(40);
      const all = await readAllV1(fake, '/api/v1/leads?archived_status=all&limit=500');
      expect(all.records.length).toBe(leads.length);
      const pivot = inbox.records[30].update_time;
      const since = await readAllV1(
        fake,
        `/api/v1/leads?updated_since=${pivot.slice(0, 19)}Z&limit=500`,
      );
      expect(
        since.records.every((lead) => lead.update_time.slice(0, 19) >= pivot.slice(0, 19)),
      ).toBe(true);
    });

    test('fields, users, teams, currencies, activity types, lead labels', async () => {
      const dealFields = await readAllV1(fake, '/api/v1/dealFields?limit=10');
      expect(dealFields.records).toEqual(fake.fields().deal);
      for (const path of [
        'personFields',
        'organizationFields',
        'productFields',
        'activityFields',
      ]) {
        expect((await call(fake, `/api/v1/${path}`)).body.data.length).toBeGreaterThan(5);
      }
      const users = await call(fake, '/api/v1/users');
      expect(users.body.data).toHaveLength(8);
      expect(users.body.additional_data).toBeUndefined();
      const teams = await call(fake, '/api/v1/legacyTeams');
      const members = await call(fake, `/api/v1/legacyTeams/${teams.body.data[0].id}/users`);
      expect(members.body.data).toEqual(teams.body.data[0].users);
      expect((await call(fake, '/api/v1/legacyTeams/999/users')).status).toBe(404);
      expect((await call(fake, '/api/v1/currencies')).body.data.map((c: any) => c.code)).toContain(
        'EUR',
      );
      expect(
        (await call(fake, '/api/v1/activityTypes')).body.data.some((t: any) => t.is_custom_flag),
      ).toBe(true);
      expect((await call(fake, '/api/v1/leadLabels')).body.data).toHaveLength(5);
    });

    test('deal flow: newest first, custom-field changes only with all_changes=1, 404 for unknown deals', async () => {
      const dealId = Number(
        Object.entries(fake.db.flow).sort((a, b) => b[1].length - a[1].length)[0][0],
      );
      const items = fake.flowOf(dealId) as any[];
      const all = await readAllV1(fake, `/api/v1/deals/${dealId}/flow?all_changes=1&limit=2`);
      expect(all.records).toEqual(items);
      const withoutCustom = await call(fake, `/api/v1/deals/${dealId}/flow`);
      const customChanges = items.filter((item) =>
        /^[0-9a-f]{40}$/.test(item.data.field_key ?? ''),
      );
      expect((withoutCustom.body.data ?? []).length).toBe(items.length - customChanges.length);
      const onlyChanges = await call(
        fake,
        `/api/v1/deals/${dealId}/flow?all_changes=1&items=dealChange`,
      );
      expect((onlyChanges.body.data ?? []).every((item: any) => item.object === 'dealChange')).toBe(
        true,
      );
      expect(items[0].timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      const change = items.find((item) => item.object === 'dealChange');
      expect(Object.keys(change.data).sort()).toEqual(
        [
          'id',
          'item_id',
          'user_id',
          'field_key',
          'old_value',
          'new_value',
          'is_bulk_update_flag',
          'log_time',
          'change_source',
          'change_source_user_agent',
          'origin',
          'origin_id',
          'additional_data',
        ].sort(),
      );
      expect(change.data.item_id).toBe(dealId);
      expect((await call(fake, '/api/v1/deals/999999/flow')).status).toBe(404);
      expect(fake.stats.byEndpoint['GET /api/v1/deals/{id}/flow'].tokens).toBe(
        40 * (all.pages + 3),
      );
    });
  });

  describe('mutations and the clock', () => {
    test('update stamps update_time with the fake clock and shows up in updated_since', async () => {
      const start = fake.clock.nowSeconds();
      fake.clock.advance(3600);
      const deal = fake.update('deals', 5, { title: 'Renamed' });
      expect(deal.update_time).toBe(v2Time(start + 3600));
      const changed = await call(fake, `/api/v2/deals?updated_since=${v2Time(start + 1)}`);
      expect(ids(changed.body.data)).toEqual([5]);
      expect(changed.body.data[0].title).toBe('Renamed');
      const note = fake.update('notes', 3, { content: 'edited' });
      expect(note.update_time).toBe(
        v2Time(start + 3600)
          .replace('T', ' ')
          .replace('Z', ''),
      );
    });

    test('moving a deal to another stage writes a dealChange flow item', () => {
      const deal = fake.get('deals', 7) as JsonObject;
      const target = fake
        .list('stages')
        .find(
          (stage) => stage.id !== deal.stage_id && stage.pipeline_id === deal.pipeline_id,
        ) as JsonObject;
      fake.clock.advance(10);
      const updated = fake.update('deals', 7, { stage_id: target.id });
      expect(updated.stage_change_time).toBe(updated.update_time);
      const newest = (fake.flowOf(7) as any[])[0];
      expect(newest).toMatchObject({
        object: 'dealChange',
        data: { field_key: 'stage_id', old_value: deal.stage_id, new_value: target.id },
      });
      fake.update('deals', 7, { status: 'won' });
      expect(fake.get('deals', 7)?.won_time).toBe(fake.get('deals', 7)?.update_time);
    });

    test('insert, remove and archive behave like Pipedrive', async () => {
      const created = fake.insert('deals', { title: 'Fresh' });
      expect(created.id).toBe(426);
      expect(created).toMatchObject({ status: 'open', is_deleted: false, is_archived: false });
      expect(created.add_time).toBe(created.update_time);
      const person = fake.insert('persons', { name: 'New Person' });
      expect(person.id).toBe(301);

      fake.remove('deals', 1);
      expect(fake.get('deals', 1)).toMatchObject({ status: 'deleted', is_deleted: true });
      fake.remove('persons', 2);
      fake.remove('notes', 3);
      expect(fake.get('notes', 3)?.active_flag).toBe(false);
      fake.archive('deals', 4);
      fake.archive(
        'leads',
        (fake.list('leads').find((lead) => !lead.is_archived) as JsonObject).id as string,
      );

      const persons = await readAllV2(fake, '/api/v2/persons?limit=500');
      expect(ids(persons.records)).not.toContain(2);
      expect(ids(persons.records)).toContain(301);
      const deleted = await call(fake, '/api/v2/deals?status=deleted&limit=500');
      expect(ids(deleted.body.data)).toContain(1);
      const archived = await readAllV2(fake, '/api/v2/deals/archived?limit=500');
      expect(ids(archived.records)).toContain(4);
      const notes = await readAllV1(fake, '/api/v1/notes?limit=500');
      expect(ids(notes.records)).not.toContain(3);
      expect((await readAllV1(fake, '/api/v1/leads/archived')).records).toHaveLength(9);
    });

    test('deal products, product prices and new custom fields', async () => {
      fake.clock.advance(100);
      const line = fake.addDealProduct(2, { product_id: 3, quantity: 2, item_price: 50 });
      expect(line).toMatchObject({ deal_id: 2, product_id: 3, sum: 100 });
      expect(fake.get('deals', 2)?.update_time).toBe(v2Time(fake.clock.nowSeconds()));
      const reply = await call(fake, '/api/v2/deals/products?deal_ids=2');
      expect(ids(reply.body.data)).toContain(line.id);
      fake.removeDealProduct(line.id as number);
      const generated = fake.dealProductsOf(2)[0];
      if (generated) fake.removeDealProduct(generated.id as number);
      const after = await call(fake, '/api/v2/deals/products?deal_ids=2');
      expect(ids(after.body.data)).not.toContain(line.id);
      if (generated) expect(ids(after.body.data)).not.toContain(generated.id);

      const product = fake.setProductPrices(4, [{ price: 9.5, currency: 'USD' }]);
      expect(product.prices).toEqual([
        { product_id: 4, price: 9.5, currency: 'USD', cost: 0, direct_cost: null, notes: '' },
      ]);

      const field = fake.addCustomField('deal', { name: 'Added Later', type: 'varchar' });
      const deals = (await call(fake, '/api/v2/deals?limit=3')).body.data;
      expect(deals.every((deal: any) => deal.custom_fields[field.key] === null)).toBe(true);
      const definitions = await readAllV1(fake, '/api/v1/dealFields');
      expect(definitions.records.map((f) => f.key)).toContain(field.key);
    });
  });
});

describe('rate limits', () => {
  test('burst limit: a rolling 2 s window per token, with headers', async () => {
    const fake = new FakePipedrive({ burstLimit: 5 });
    await fake.start();
    try {
      const replies = await Promise.all(
        Array.from({ length: 8 }, () => call(fake, '/api/v1/users/me')),
      );
      const ok = replies.filter((reply) => reply.status === 200);
      const limited = replies.filter((reply) => reply.status === 429);
      expect(ok).toHaveLength(5);
      expect(limited).toHaveLength(3);
      expect(limited[0].body).toEqual({
        success: false,
        error: 'Request over limit',
        errorCode: 429,
      });
      expect(limited[0].headers.get('x-ratelimit-limit')).toBe('5');
      expect(limited[0].headers.get('x-ratelimit-remaining')).toBe('0');
      expect(Number(limited[0].headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(1);
      expect(ok.map((reply) => Number(reply.headers.get('x-ratelimit-remaining'))).sort()).toEqual([
        0, 1, 2, 3, 4,
      ]);
      expect(fake.stats.responses429).toBe(3);
      expect(fake.stats.maxRequestsInAnyWindow).toBe(8);

      await new Promise((resolve) => setTimeout(resolve, 2100));
      expect((await call(fake, '/api/v1/users/me')).status).toBe(200);
      fake.setBurstLimit(null);
      const unlimited = await Promise.all(
        Array.from({ length: 10 }, () => call(fake, '/api/v1/users/me')),
      );
      expect(unlimited.every((reply) => reply.status === 200)).toBe(true);
      expect(unlimited[0].headers.get('x-ratelimit-limit')).toBeNull();
    } finally {
      await fake.stop();
    }
  });

  test('daily budget: token costs, exhaustion, reset and the Cloudflare block', async () => {
    const fake = new FakePipedrive({ dailyTokenBudget: 45, blockAfterBudget429s: 2 });
    await fake.start();
    try {
      const first = await call(fake, '/api/v2/deals');
      expect(first.headers.get('x-daily-ratelimit-token-limit')).toBe('45');
      expect(first.headers.get('x-daily-ratelimit-token-remaining')).toBe('35');
      await call(fake, '/api/v1/notes');
      await call(fake, '/api/v2/stages');
      const last = await call(fake, '/api/v2/stages');
      expect(last.status).toBe(200);
      expect(last.headers.get('x-daily-ratelimit-token-remaining')).toBe('5');
      await call(fake, '/api/v2/deals');
      const exhausted = await call(fake, '/api/v1/users/me');
      expect(exhausted.status).toBe(429);
      expect(exhausted.body).toMatchObject({
        success: false,
        error: 'daily request budget exceeded',
      });
      expect(exhausted.headers.get('x-daily-ratelimit-token-remaining')).toBe('0');
      expect((await call(fake, '/api/v1/users/me')).status).toBe(429);
      const blocked = await call(fake, '/api/v1/users/me');
      expect(blocked.status).toBe(403);
      expect(blocked.text).toMatch(/Cloudflare/);
      expect(fake.stats.tokensSpent).toBe(50);

      fake.resetDailyBudget();
      expect((await call(fake, '/api/v1/users/me')).status).toBe(200);
      fake.setDailyBudget(null);
      expect(
        (await call(fake, '/api/v1/users/me')).headers.get('x-daily-ratelimit-token-limit'),
      ).toBeNull();
    } finally {
      await fake.stop();
    }
  });

  test('daily budget headers can be switched off', async () => {
    const fake = new FakePipedrive({ dailyTokenBudget: 100, sendDailyBudgetHeaders: false });
    await fake.start();
    try {
      const reply = await call(fake, '/api/v1/users/me');
      expect(reply.headers.get('x-daily-ratelimit-token-remaining')).toBeNull();
    } finally {
      await fake.stop();
    }
  });
});

describe('faults', () => {
  let fake: FakePipedrive;

  beforeAll(async () => {
    fake = new FakePipedrive({ slowMs: 300 });
    await fake.start();
  });

  afterAll(async () => {
    await fake.stop();
  });

  const expectRecovery = async (path: string, expected: any) => {
    const retry = await call(fake, path);
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(expected);
  };

  test('each kind of fault, then the right answer on retry', async () => {
    const path = '/api/v2/stages?limit=3';
    const good = (await call(fake, path)).body;

    fake.failNext(/\/stages/, 500);
    const error = await call(fake, path);
    expect(error.status).toBe(500);
    expect(error.body).toMatchObject({ success: false, data: null, additional_data: null });
    await expectRecovery(path, good);

    fake.failNext(/\/stages/, 503);
    expect((await call(fake, path)).status).toBe(503);

    fake.failNext(/\/stages/, 502);
    const gateway = await call(fake, path);
    expect(gateway.status).toBe(502);
    expect(gateway.text).toMatch(/<html>/);

    fake.failNext(/\/stages/, 504);
    const empty = await call(fake, path);
    expect(empty.status).toBe(504);
    expect(empty.text).toBe('');

    fake.failNext(/\/stages/, 'reset');
    await expect(call(fake, path)).rejects.toThrow();
    await expectRecovery(path, good);

    fake.failNext(/\/stages/, 'truncated');
    const truncated = await call(fake, path);
    expect(truncated.status).toBe(200);
    expect(truncated.body).toBeUndefined();
    expect(good && JSON.stringify(good).startsWith(truncated.text)).toBe(true);

    fake.failNext(/\/stages/, 'slow');
    const started = Date.now();
    const slow = await call(fake, path);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(slow.body).toEqual(good);

    fake.failNext(/\/stages/, 'dataNull');
    expect((await call(fake, path)).body).toEqual({ success: true, data: null });
    fake.failNext(/\/stages/, 'noData');
    expect((await call(fake, path)).body).toEqual({ success: true });
    fake.failNext(/\/stages/, 'html');
    const html = await call(fake, path);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/text\/html/);

    fake.failNext(/\/stages/, 500, 2);
    expect((await call(fake, path)).status).toBe(500);
    expect((await call(fake, '/api/v2/pipelines')).status).toBe(200);
    expect((await call(fake, path)).status).toBe(500);
    await expectRecovery(path, good);
    expect(fake.stats.faultsInjected).toBe(12);
  });

  test('random faults are seeded and leave the data alone', async () => {
    const outcomes = async (seed: number) => {
      const faulty = new FakePipedrive({
        faults: { rate: 0.5, kinds: ['500', '503', 'noData'], seed },
      });
      await faulty.start();
      try {
        const statuses: string[] = [];
        for (let index = 0; index < 20; index++) {
          const reply = await call(faulty, '/api/v2/pipelines');
          statuses.push(`${reply.status}:${reply.body?.data ? 'data' : '-'}`);
        }
        return { statuses, injected: faulty.stats.faultsInjected, data: faulty.list('pipelines') };
      } finally {
        await faulty.stop();
      }
    };
    const first = await outcomes(42);
    const second = await outcomes(42);
    expect(second).toEqual(first);
    expect(first.injected).toBeGreaterThan(3);
    expect(first.injected).toBeLessThan(17);
    expect(first.data).toEqual(new FakePipedrive().list('pipelines'));
  });
});

describe('stats', () => {
  test('request log, per-endpoint counters and reset', async () => {
    const fake = new FakePipedrive();
    await fake.start();
    try {
      await call(fake, '/api/v2/deals?limit=2', { headers: { 'user-agent': 'jest' } });
      await call(fake, '/v1/deals/3/flow');
      await call(fake, '/api/v2/deals', { token: 'wrong' });
      expect(fake.stats.requests).toBe(3);
      expect(fake.stats.byEndpoint['GET /api/v2/deals']).toEqual({ requests: 2, tokens: 10 });
      expect(fake.stats.byEndpoint['GET /api/v1/deals/{id}/flow']).toEqual({
        requests: 1,
        tokens: 40,
      });
      expect(fake.requestLog[0]).toMatchObject({
        method: 'GET',
        path: '/api/v2/deals',
        query: { limit: '2' },
        status: 200,
        cost: 10,
        headers: expect.objectContaining({ 'user-agent': 'jest', 'x-api-token': fake.token }),
      });
      expect(fake.requestLog[2]).toMatchObject({ status: 401, cost: 0 });
      fake.resetStats();
      expect(fake.stats.requests).toBe(0);
      expect(fake.requestLog).toEqual([]);
    } finally {
      await fake.stop();
    }
  });
});

describe('command line', () => {
  test('parses sizes, limits and faults', () => {
    const options = parseArguments([
      '--port',
      '0',
      '--seed',
      '3',
      '--deals',
      '1000000',
      '--archived-deals=20',
      '--burst-limit',
      '120',
      '--daily-budget',
      '30000',
      '--no-daily-headers',
      '--fault-rate',
      '0.05',
      '--fault-kinds',
      '500,reset',
      '--slow-ms',
      '2000',
    ]);
    expect(options).toEqual({
      port: 0,
      seed: 3,
      sizes: { deals: 1_000_000, archivedDeals: 20 },
      burstLimit: 120,
      dailyTokenBudget: 30_000,
      sendDailyBudgetHeaders: false,
      faults: { rate: 0.05, kinds: ['500', 'reset'], seed: undefined },
      slowMs: 2000,
    });
    expect(() => parseArguments(['--bogus', '1'])).toThrow(/Unknown option --bogus/);
    expect(() => parseArguments(['--deals', 'many'])).toThrow(/needs a number/);
  });
});

describe('activity participants and attendees', () => {
  let fake: FakePipedrive;

  beforeAll(async () => {
    fake = new FakePipedrive({ seed: 12 });
    await fake.start();
  });

  afterAll(() => fake.stop());

  test('participants start with the activity’s person; attendees are users, persons, guests', () => {
    const users = new Map(fake.list('users').map((user) => [user.id, user]));
    const persons = new Map(fake.list('persons').map((person) => [person.id, person]));
    const activities = fake.list('activities');
    for (const activity of activities) {
      const participants = activity.participants as JsonObject[];
      if (activity.person_id === null) {
        expect(participants).toEqual([]);
        continue;
      }
      expect(participants[0]).toEqual({ person_id: activity.person_id, primary: true });
      expect(participants.slice(1).every((p) => p.primary === false)).toBe(true);
      const ids = participants.map((p) => p.person_id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of ids) expect(persons.has(id)).toBe(true);
      expect(participants.length).toBeLessThanOrEqual(3);
    }
    const withAttendees = activities.filter((a) => (a.attendees as JsonObject[]).length > 0);
    expect(withAttendees.length).toBeGreaterThan(activities.length / 5);
    expect(withAttendees.length).toBeLessThan(activities.length / 2);
    for (const activity of withAttendees) {
      const [organizer, ...others] = activity.attendees as JsonObject[];
      const owner = users.get(activity.owner_id) as JsonObject;
      expect(organizer).toEqual({
        email: owner.email,
        name: owner.name,
        status: 'accepted',
        is_organizer: true,
        person_id: null,
        user_id: owner.id,
      });
      for (const attendee of others) {
        expect(attendee.is_organizer).toBe(false);
        if (attendee.person_id !== null) {
          const person = persons.get(attendee.person_id) as JsonObject;
          expect(attendee.email).toBe((person.emails as JsonObject[])[0].value);
          expect(attendee.name).toBe(person.name);
        } else {
          expect(attendee.user_id).toBeNull();
        }
      }
    }
    // Outside guests exist too.
    expect(
      withAttendees.some((a) =>
        (a.attendees as JsonObject[]).some((x) => x.person_id === null && x.user_id === null),
      ),
    ).toBe(true);
  });

  test('attendees are only sent with include_fields=attendees', async () => {
    const plain = await readAllV2(fake, '/api/v2/activities?limit=500');
    expect(plain.records.every((activity) => !('attendees' in activity))).toBe(true);
    const asked = await readAllV2(fake, '/api/v2/activities?limit=500&include_fields=attendees');
    expect(asked.records.map((activity) => activity.attendees)).toEqual(
      fake
        .list('activities')
        .filter((activity) => !activity.is_deleted)
        .map((activity) => activity.attendees),
    );
    const single = await call(fake, '/api/v2/activities/3?include_fields=attendees');
    expect(single.body.data.attendees).toEqual(fake.get('activities', 3)?.attendees);
    expect((await call(fake, '/api/v2/activities/3')).body.data.attendees).toBeUndefined();
    expect((await call(fake, '/api/v2/activities?include_fields=bogus')).status).toBe(400);
  });

  test('changing participants or attendees is an update of the activity', async () => {
    fake.clock.advance(120);
    const attendees = [
      {
        email: 'x@y.example',
        name: 'X Y',
        status: 'accepted',
        is_organizer: true,
        person_id: null,
        user_id: null,
      },
    ];
    const updated = fake.update('activities', 9, {
      participants: [{ person_id: 2, primary: true }],
      attendees,
    });
    expect(updated.update_time).toBe(v2Time(fake.clock.nowSeconds()));
    const changed = await call(
      fake,
      `/api/v2/activities?include_fields=attendees&updated_since=${updated.update_time}`,
    );
    expect(changed.body.data).toEqual([
      expect.objectContaining({
        id: 9,
        participants: [{ person_id: 2, primary: true }],
        attendees,
      }),
    ]);
  });

  test('sizes bound both lists', () => {
    const sparse = new FakePipedrive({
      seed: 12,
      sizes: { activityParticipantsMax: 1, activityAttendeesMax: 0 },
    });
    const activities = sparse.list('activities');
    expect(activities.every((a) => (a.participants as JsonObject[]).length <= 1)).toBe(true);
    expect(activities.every((a) => (a.attendees as JsonObject[]).length === 0)).toBe(true);
    // Other fields do not depend on these lists.
    expect(activities.map((a) => a.subject)).toEqual(fake.list('activities').map((a) => a.subject));
  });
});

describe('the Projects add-on', () => {
  let fake: FakePipedrive;

  beforeEach(async () => {
    fake = new FakePipedrive({ seed: 13 });
    await fake.start();
  });

  afterEach(() => fake.stop());

  const V1_MILLIS = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/;

  test('boards, phases, projects and tasks reference each other and the CRM', () => {
    const boards = fake.projectItems('projectBoards');
    const phases = fake.projectItems('projectPhases');
    const projects = fake.projectItems('projects');
    const tasks = fake.projectItems('tasks');
    expect(boards).toHaveLength(2);
    expect(phases).toHaveLength(8);
    expect(projects).toHaveLength(24 + 3 + 2);
    expect(projects.filter((p) => p.status === 'deleted')).toHaveLength(2);
    expect(projects.filter((p) => p.archive_time !== null)).toHaveLength(3);
    const phaseBoard = new Map(phases.map((phase) => [phase.id, phase.board_id]));
    for (const project of projects) {
      expect(phaseBoard.get(project.phase_id)).toBe(project.board_id);
      for (const dealId of project.deal_ids as number[]) {
        const deal = fake.get('deals', dealId) as JsonObject;
        expect(project.org_id).toBe(deal.org_id);
        expect(project.person_id).toBe(deal.person_id);
      }
      expect(project.add_time).toMatch(V1_MILLIS);
      expect(String(project.update_time) >= String(project.add_time)).toBe(true);
      expect(String(project.status_change_time) >= String(project.add_time)).toBe(true);
    }
    const byId = new Map(tasks.map((task) => [task.id, task]));
    const projectIds = new Set(projects.map((project) => project.id));
    expect(tasks.length).toBeGreaterThan(20);
    expect(tasks.some((task) => task.parent_task_id !== null)).toBe(true);
    for (const task of tasks) {
      expect(projectIds.has(task.project_id)).toBe(true);
      expect([0, 1]).toContain(task.done);
      expect(task.marked_as_done_time === null).toBe(task.done === 0);
      if (task.parent_task_id !== null) {
        const parent = byId.get(task.parent_task_id) as JsonObject;
        expect(parent.parent_task_id).toBeNull();
        expect(parent.project_id).toBe(task.project_id);
      }
    }
  });

  test('/projects: cursor paged, archived and deleted ones only on request, filters', async () => {
    const projects = fake.projectItems('projects');
    const visible = projects.filter((p) => p.status !== 'deleted' && p.archive_time === null);
    const { records, pages } = await readAllV2(fake, '/api/v1/projects?limit=5');
    expect(ids(records)).toEqual(ids(visible));
    expect(pages).toBe(Math.ceil(visible.length / 5));
    const archived = await call(fake, '/api/v1/projects?include_archived=true&limit=500');
    expect(ids(archived.body.data)).toEqual(ids(projects.filter((p) => p.status !== 'deleted')));
    const deleted = await call(fake, '/api/v1/projects?status=deleted&include_archived=1');
    expect(ids(deleted.body.data)).toEqual(ids(projects.filter((p) => p.status === 'deleted')));
    const phaseId = visible[0].phase_id;
    const inPhase = await call(fake, `/api/v1/projects?phase_id=${phaseId}&limit=500`);
    expect(ids(inPhase.body.data)).toEqual(ids(visible.filter((p) => p.phase_id === phaseId)));
    const open = await call(fake, '/api/v1/projects?status=open,canceled&limit=500');
    expect(open.body.data.every((p: any) => ['open', 'canceled'].includes(p.status))).toBe(true);
    for (const bad of ['status=gone', 'limit=501', 'limit=0', 'cursor=nope', 'phase_id=x']) {
      expect((await call(fake, `/api/v1/projects?${bad}`)).status).toBe(400);
    }
    expect(fake.stats.byEndpoint['GET /api/v1/projects'].tokens).toBe(
      20 * fake.stats.byEndpoint['GET /api/v1/projects'].requests,
    );
  });

  test('/projects serves 100 by default, /tasks up to 500', async () => {
    const big = new FakePipedrive({ seed: 13, sizes: { projects: 150, tasksPerProjectMax: 6 } });
    await big.start();
    try {
      const projects = await call(big, '/api/v1/projects');
      expect(projects.body.data).toHaveLength(100);
      expect(projects.body.additional_data.next_cursor).toEqual(expect.any(String));
      const tasks = await call(big, '/api/v1/tasks');
      const all = big.projectItems('tasks');
      expect(all.length).toBeGreaterThan(100);
      expect(ids(tasks.body.data)).toEqual(ids(all).slice(0, 500));
    } finally {
      await big.stop();
    }
  });

  test('/tasks filters by project, assignee, parent and done', async () => {
    const tasks = fake.projectItems('tasks');
    const sub = tasks.find((task) => task.parent_task_id !== null) as JsonObject;
    const assigned = tasks.find((task) => task.assignee_id !== null) as JsonObject;
    const cases: Array<[string, (task: JsonObject) => boolean]> = [
      [`project_id=${sub.project_id}`, (task) => task.project_id === sub.project_id],
      [`assignee_id=${assigned.assignee_id}`, (task) => task.assignee_id === assigned.assignee_id],
      ['parent_task_id=null', (task) => task.parent_task_id === null],
      [
        `parent_task_id=${sub.parent_task_id}`,
        (task) => task.parent_task_id === sub.parent_task_id,
      ],
      ['done=1', (task) => task.done === 1],
      ['done=0&parent_task_id=null', (task) => task.done === 0 && task.parent_task_id === null],
    ];
    for (const [query, keep] of cases) {
      const reply = await call(fake, `/api/v1/tasks?${query}`);
      expect(ids(reply.body.data)).toEqual(ids(tasks.filter(keep)));
    }
    const paged = await readAllV2(fake, '/api/v1/tasks?limit=7');
    expect(ids(paged.records)).toEqual(ids(tasks));
    expect((await call(fake, '/api/v1/tasks?done=true')).status).toBe(400);
    expect((await call(fake, '/api/v1/tasks?parent_task_id=top')).status).toBe(400);
  });

  test('boards and their phases; phases need an existing board_id', async () => {
    const boards = await call(fake, '/api/v1/projects/boards');
    expect(boards.body).toEqual({
      success: true,
      data: fake.projectItems('projectBoards'),
      additional_data: null,
    });
    const phases = await call(fake, '/api/v1/projects/phases?board_id=2');
    expect(phases.body.data.map((phase: any) => [phase.board_id, phase.order_nr])).toEqual([
      [2, 1],
      [2, 2],
      [2, 3],
      [2, 4],
    ]);
    expect(phases.body.data[0].add_time).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect((await call(fake, '/api/v1/projects/phases')).status).toBe(400);
    expect((await call(fake, '/api/v1/projects/phases?board_id=two')).status).toBe(400);
    expect((await call(fake, '/api/v1/projects/phases?board_id=99')).status).toBe(404);
    expect(fake.stats.byEndpoint['GET /api/v1/projects/phases'].tokens).toBe(4 * 20);
  });

  test('without the add-on every projects endpoint answers the chosen status', async () => {
    const paths = [
      '/api/v1/projects',
      '/api/v1/tasks',
      '/api/v1/projects/boards',
      '/api/v1/projects/phases?board_id=1',
    ];
    expect(fake.projectsAddon).toBe(true);
    fake.projectsAddon = false;
    expect(fake.projectsAddon).toBe(false);
    for (const path of paths) {
      const reply = await call(fake, path);
      expect(reply.status).toBe(403);
      expect(reply.body).toMatchObject({ success: false, errorCode: 403, data: null });
    }
    // The rest of the account is unaffected.
    expect((await call(fake, '/api/v2/deals?limit=1')).status).toBe(200);
    fake.setProjectsAddon(false, 402);
    expect((await call(fake, '/api/v1/tasks')).status).toBe(402);
    fake.setProjectsAddon(false, 404);
    expect((await call(fake, '/api/v1/projects/boards')).status).toBe(404);
    fake.projectsAddon = true;
    for (const path of paths) expect((await call(fake, path)).status).toBe(200);
  });

  test('mutations: insert, update, archive and delete like Pipedrive', async () => {
    fake.clock.advance(3600);
    const now = v2Time(fake.clock.nowSeconds()).replace('T', ' ').replace('Z', '.000');
    const created = fake.insertProjectItem('projects', { title: 'Rollout', board_id: 2 });
    expect(created).toMatchObject({ id: 30, status: 'open', board_id: 2, add_time: now });
    expect(fake.projectItems('projectPhases').find((p) => p.id === created.phase_id)).toMatchObject(
      { board_id: 2 },
    );
    fake.clock.advance(60);
    const completed = fake.updateProjectItem('projects', 30, { status: 'completed' });
    expect(completed.status_change_time).toBe(completed.update_time);
    expect(completed.update_time).not.toBe(now);

    const archived = fake.archiveProject(1);
    expect(archived.archive_time).toBe(archived.update_time);
    const removed = fake.removeProjectItem('projects', 2);
    expect(removed).toMatchObject({ id: 2, status: 'deleted' });
    const listed = ids((await call(fake, '/api/v1/projects?limit=500')).body.data);
    expect(listed).toContain(30);
    expect(listed).not.toContain(1);
    expect(listed).not.toContain(2);
    const deleted = await call(fake, '/api/v1/projects?status=deleted&limit=500');
    expect(ids(deleted.body.data)).toContain(2);

    const task = fake.insertProjectItem('tasks', { project_id: 30, title: 'Plan' });
    const subtask = fake.insertProjectItem('tasks', { project_id: 30, parent_task_id: task.id });
    expect(() =>
      fake.insertProjectItem('tasks', { project_id: 30, parent_task_id: subtask.id }),
    ).toThrow(/subtask/);
    expect(() => fake.insertProjectItem('tasks', { title: 'orphan' })).toThrow(/project_id/);
    expect(() => fake.insertProjectItem('projects', { phase_id: 1, board_id: 2 })).toThrow(
      /phase_id/,
    );
    const done = fake.updateProjectItem('tasks', task.id as number, { done: 1 });
    expect(done.marked_as_done_time).toBe(done.update_time);
    expect(fake.removeProjectItem('tasks', task.id as number)).toBeNull();
    const tasks = ids((await call(fake, '/api/v1/tasks?project_id=30')).body.data);
    expect(tasks).toEqual([]);
    expect(fake.projectItems('tasks').some((t) => t.id === subtask.id)).toBe(false);

    const board = fake.insertProjectItem('projectBoards', { name: 'New board' });
    fake.insertProjectItem('projectPhases', { board_id: board.id, name: 'Only phase' });
    const phases = await call(fake, `/api/v1/projects/phases?board_id=${board.id}`);
    expect(phases.body.data.map((phase: any) => phase.name)).toEqual(['Only phase']);
    fake.removeProjectItem('projectBoards', board.id as number);
    expect((await call(fake, `/api/v1/projects/phases?board_id=${board.id}`)).status).toBe(404);
  });
});

describe('followers, deal participants, installments and product variations', () => {
  let fake: FakePipedrive;

  beforeEach(async () => {
    fake = new FakePipedrive({ seed: 14 });
    await fake.start();
  });

  afterEach(() => fake.stop());

  const TABLES = ['deals', 'persons', 'organizations', 'products'] as const;

  test('followers: the owner first, distinct users, cursor paged, 404 for unknown parents', async () => {
    for (const table of TABLES) {
      const records = fake.list(table);
      let total = 0;
      for (const record of records) {
        const followers = fake.followersOf(table, record.id as number) as JsonObject[];
        total += followers.length;
        const users = followers.map((follower) => follower.user_id as number);
        expect(new Set(users).size).toBe(users.length);
        expect(users.every((id) => id >= 1 && id <= 8)).toBe(true);
        if (followers.length > 0) {
          expect(followers[0]).toEqual({ user_id: record.owner_id, add_time: record.add_time });
        }
        for (const follower of followers) {
          expect(seconds(follower.add_time as string)).toBeGreaterThanOrEqual(
            seconds(record.add_time as string),
          );
        }
      }
      expect(total).toBeGreaterThan(records.length * 0.8);
      const id = records.find((r) => fake.followersOf(table, r.id as number)!.length > 1)!.id;
      const { records: served, pages } = await readAllV2(
        fake,
        `/api/v2/${table}/${id}/followers?limit=1`,
      );
      const expected = fake.followersOf(table, id as number) as JsonObject[];
      expect(served).toEqual(
        [...expected].sort((a, b) => (a.user_id as number) - (b.user_id as number)),
      );
      expect(pages).toBe(expected.length);
      expect((await call(fake, `/api/v2/${table}/999999/followers`)).status).toBe(404);
      expect((await call(fake, `/api/v2/${table}/abc/followers`)).status).toBe(400);
      expect((await call(fake, `/api/v2/${table}/${id}/followers?limit=501`)).status).toBe(400);
      expect(fake.stats.byEndpoint[`GET /api/v2/${table}/{id}/followers`].tokens).toBe(
        10 * fake.stats.byEndpoint[`GET /api/v2/${table}/{id}/followers`].requests,
      );
    }
  });

  test('adding and removing followers leaves the parent’s update_time alone', async () => {
    const deal = fake.get('deals', 5) as JsonObject;
    const following = (fake.followersOf('deals', 5) as JsonObject[]).map((f) => f.user_id);
    const newcomer = [1, 2, 3, 4, 5, 6, 7, 8].find((id) => !following.includes(id)) as number;
    fake.clock.advance(600);
    const added = fake.addFollower('deals', 5, newcomer);
    expect(added).toEqual({ user_id: newcomer, add_time: v2Time(fake.clock.nowSeconds()) });
    expect(() => fake.addFollower('deals', 5, newcomer)).toThrow(/already follows/);
    expect(() => fake.addFollower('deals', 5, 99)).toThrow(/users/);
    const reply = await call(fake, '/api/v2/deals/5/followers');
    expect(reply.body.data).toContainEqual(added);
    expect(fake.get('deals', 5)?.update_time).toBe(deal.update_time);
    const counts = await call(fake, '/api/v2/deals/5?include_fields=followers_count');
    expect(counts.body.data.followers_count).toBe(following.length + 1);
    fake.removeFollower('deals', 5, newcomer);
    expect((await call(fake, '/api/v2/deals/5/followers')).body.data).not.toContainEqual(added);
    expect(() => fake.removeFollower('deals', 5, newcomer)).toThrow(/does not follow/);
    const person = fake.insert('persons', { name: 'Fresh' });
    expect(fake.followersOf('persons', person.id as number)).toEqual([]);
    fake.addFollower('persons', person.id as number, 2);
    expect((await call(fake, `/api/v2/persons/${person.id}/followers`)).body.data).toHaveLength(1);
  });

  test('deal participants: the contact person first, v1 shape with joined person and user', async () => {
    const deals = fake.list('deals');
    for (const deal of deals) {
      const participants = fake.dealParticipantsOf(deal.id as number) as JsonObject[];
      if (deal.person_id !== null) expect(participants[0].person_id).toBe(deal.person_id);
      const persons = participants.map((p) => p.person_id);
      expect(new Set(persons).size).toBe(persons.length);
    }
    const deal = deals.find(
      (d) => d.person_id !== null && fake.dealParticipantsOf(d.id as number)!.length === 3,
    ) as JsonObject;
    const rows = fake.dealParticipantsOf(deal.id as number) as JsonObject[];
    const reply = await call(fake, `/api/v1/deals/${deal.id}/participants`);
    expect(reply.status).toBe(200);
    const [first] = reply.body.data;
    const person = fake.get('persons', deal.person_id as number) as JsonObject;
    expect(first).toMatchObject({
      id: rows[0].id,
      person_id: { value: person.id, name: person.name, active_flag: true },
      add_time: rows[0].add_time,
      active_flag: true,
      related_item_data: { deal_id: deal.id, title: deal.title },
      person: { id: person.id, name: person.name, first_name: person.first_name },
      added_by_user_id: { value: rows[0].added_by_user_id },
      related_item_type: 'deal',
      related_item_id: deal.id,
    });
    expect(first.add_time).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(first.person.update_time).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(Object.keys(reply.body.related_objects.person).map(Number).sort()).toEqual(
      rows.map((row) => row.person_id).sort(),
    );
    const paged = await readAllV1(fake, `/api/v1/deals/${deal.id}/participants?limit=2`);
    expect(paged.pages).toBe(2);
    expect(ids(paged.records)).toEqual(ids(rows));
    // Joined when read: a renamed person shows its new name.
    fake.update('persons', person.id as number, { name: 'Renamed Person' });
    const again = await call(fake, `/api/v1/deals/${deal.id}/participants?limit=1`);
    expect(again.body.data[0].person.name).toBe('Renamed Person');
    expect((await call(fake, '/api/v1/deals/999999/participants')).status).toBe(404);
    expect(fake.stats.byEndpoint['GET /api/v1/deals/{id}/participants'].tokens).toBe(10 * 5);
  });

  test('participants: add and remove without touching the deal; empty pages are null', async () => {
    const empty = fake
      .list('deals')
      .find((d) => fake.dealParticipantsOf(d.id as number)!.length === 0) as JsonObject;
    const reply = await call(fake, `/api/v1/deals/${empty.id}/participants`);
    expect(reply.body.data).toBeNull();
    expect(reply.body.additional_data.pagination.more_items_in_collection).toBe(false);
    fake.clock.advance(30);
    const added = fake.addDealParticipant(empty.id as number, 7, 3);
    expect(added).toMatchObject({ deal_id: empty.id, person_id: 7, added_by_user_id: 3 });
    expect(added.id).toBeGreaterThan(425 * 3);
    expect(() => fake.addDealParticipant(empty.id as number, 7)).toThrow(/already/);
    const listed = await call(fake, `/api/v1/deals/${empty.id}/participants`);
    expect(listed.body.data.map((p: any) => p.person.id)).toEqual([7]);
    expect(fake.get('deals', empty.id as number)?.update_time).toBe(empty.update_time);
    const counted = await call(fake, `/api/v2/deals/${empty.id}?include_fields=participants_count`);
    expect(counted.body.data.participants_count).toBe(1);
    fake.removeDealParticipant(empty.id as number, added.id as number);
    expect((await call(fake, `/api/v1/deals/${empty.id}/participants`)).body.data).toBeNull();
  });

  test('installments: only on deals of one-time products, adding up to their sum', async () => {
    const deals = fake.list('deals');
    let withInstallments = 0;
    for (const deal of deals) {
      const installments = fake.installmentsOf(deal.id as number);
      if (installments.length === 0) continue;
      withInstallments++;
      const lines = fake.dealProductsOf(deal.id as number);
      expect(lines.every((line) => line.billing_frequency === 'one-time')).toBe(true);
      const total = lines.reduce((sum, line) => sum + (line.sum as number), 0);
      const paid = installments.reduce((sum, item) => sum + (item.amount as number), 0);
      expect(paid).toBeCloseTo(total, 2);
      expect(installments.every((item) => item.deal_id === deal.id)).toBe(true);
      expect(installments[0].billing_date).toMatch(/^\d{4}-\d\d-\d\d$/);
    }
    expect(withInstallments).toBeGreaterThan(10);
    const dealIds = deals.slice(0, 100).map((deal) => deal.id as number);
    const expected = dealIds.flatMap((id) => fake.installmentsOf(id));
    const { records } = await readAllV2(
      fake,
      `/api/v2/deals/installments?limit=2&deal_ids=${dealIds.join(',')}`,
    );
    expect(ids(records)).toEqual(ids(expected).sort((a: any, b: any) => a - b));
    const byDate = await call(
      fake,
      `/api/v2/deals/installments?limit=500&sort_by=billing_date&sort_direction=desc&deal_ids=${dealIds.join(',')}`,
    );
    const dates = byDate.body.data.map((item: any) => item.billing_date);
    expect(dates).toEqual([...dates].sort().reverse());
    expect((await call(fake, '/api/v2/deals/installments')).status).toBe(400);
    expect(
      (await call(fake, `/api/v2/deals/installments?deal_ids=${[...dealIds, 101].join(',')}`))
        .status,
    ).toBe(400);
    expect((await call(fake, '/api/v2/deals/installments?deal_ids=1&sort_by=amount')).status).toBe(
      400,
    );
  });

  test('installments: add, update, remove; recurring products refuse them', async () => {
    const eligible = fake
      .list('deals')
      .find(
        (d) =>
          fake.installmentsOf(d.id as number).length === 0 &&
          fake.dealProductsOf(d.id as number).length > 0 &&
          fake.dealProductsOf(d.id as number).every((l) => l.billing_frequency === 'one-time'),
      ) as JsonObject;
    const recurring = fake
      .list('deals')
      .find((d) =>
        fake.dealProductsOf(d.id as number).some((l) => l.billing_frequency !== 'one-time'),
      ) as JsonObject;
    expect(() => fake.addInstallment(recurring.id as number)).toThrow(/one-time/);
    const dealId = eligible.id as number;
    const added = fake.addInstallment(dealId, {
      description: 'Setup fee',
      amount: 250,
      billing_date: '2026-07-01',
    });
    expect(added).toEqual({
      id: expect.any(Number),
      amount: 250,
      billing_date: '2026-07-01',
      description: 'Setup fee',
      deal_id: dealId,
    });
    fake.updateInstallment(dealId, added.id as number, { amount: 300 });
    const reply = await call(fake, `/api/v2/deals/installments?deal_ids=${dealId}`);
    expect(reply.body.data).toEqual([{ ...added, amount: 300 }]);
    expect(fake.get('deals', dealId)?.update_time).toBe(eligible.update_time);
    fake.removeInstallment(dealId, added.id as number);
    expect((await call(fake, `/api/v2/deals/installments?deal_ids=${dealId}`)).body.data).toEqual(
      [],
    );
    expect(() => fake.removeInstallment(dealId, added.id as number)).toThrow(/installment/);
  });

  test('product variations: priced in the product’s currencies, add, update, remove', async () => {
    const products = fake.list('products');
    const withVariations = products.filter(
      (p) => (fake.productVariationsOf(p.id as number) as JsonObject[]).length > 0,
    );
    expect(withVariations.length).toBeGreaterThan(3);
    expect(withVariations.length).toBeLessThan(products.length);
    const seen = new Set<number>();
    for (const product of withVariations) {
      for (const variation of fake.productVariationsOf(product.id as number) as JsonObject[]) {
        expect(seen.has(variation.id as number)).toBe(false);
        seen.add(variation.id as number);
        expect(variation.product_id).toBe(product.id);
        const prices = variation.prices as JsonObject[];
        expect(prices.map((price) => price.currency)).toEqual(
          (product.prices as JsonObject[]).map((price) => price.currency),
        );
        expect(prices.every((price) => price.product_variation_id === variation.id)).toBe(true);
      }
    }
    const product = withVariations[0];
    const served = await readAllV2(fake, `/api/v2/products/${product.id}/variations?limit=1`);
    expect(served.records).toEqual(fake.productVariationsOf(product.id as number));
    expect((await call(fake, '/api/v2/products/999999/variations')).status).toBe(404);

    fake.clock.advance(60);
    const added = fake.addProductVariation(product.id as number, { name: 'XL' });
    expect(added.prices).toEqual([
      {
        product_variation_id: added.id,
        currency: 'EUR',
        price: 0,
        cost: 0,
        direct_cost: 0,
        notes: '',
      },
    ]);
    expect(seen.has(added.id as number)).toBe(false);
    const renamed = fake.updateProductVariation(product.id as number, added.id as number, {
      name: 'XXL',
    });
    expect(renamed.name).toBe('XXL');
    const listed = await call(fake, `/api/v2/products/${product.id}/variations?limit=500`);
    expect(listed.body.data).toContainEqual(renamed);
    expect(fake.get('products', product.id as number)?.update_time).toBe(product.update_time);
    fake.removeProductVariation(product.id as number, added.id as number);
    const after = await call(fake, `/api/v2/products/${product.id}/variations?limit=500`);
    expect(ids(after.body.data)).not.toContain(added.id);
  });

  test('children are deterministic and sized by Sizes', () => {
    const again = new FakePipedrive({ seed: 14 });
    for (const id of [1, 2, 3, 50]) {
      expect(again.followersOf('organizations', id)).toEqual(fake.followersOf('organizations', id));
      expect(again.dealParticipantsOf(id)).toEqual(fake.dealParticipantsOf(id));
      expect(again.installmentsOf(id)).toEqual(fake.installmentsOf(id));
      expect(again.productVariationsOf(id)).toEqual(fake.productVariationsOf(id));
    }
    const none = new FakePipedrive({
      seed: 14,
      sizes: {
        followersPerItemMax: 0,
        dealParticipantsPerDealMax: 0,
        installmentsPerDealMax: 0,
        variationsPerProductMax: 0,
      },
    });
    for (const deal of none.list('deals')) {
      expect(none.followersOf('deals', deal.id as number)).toEqual([]);
      expect(none.dealParticipantsOf(deal.id as number)).toEqual([]);
      expect(none.installmentsOf(deal.id as number)).toEqual([]);
    }
    expect(none.productVariationsOf(1)).toEqual([]);
  });
});

describe('the schemas of the streams these endpoints feed', () => {
  const properties = (stream: string): Record<string, any> =>
    JSON.parse(
      fs.readFileSync(path.join(__dirname, '..', 'resources', 'schemas', `${stream}.json`), 'utf8'),
    ).properties;

  test('declare every field the fake serves, and nothing it lacks but derived columns', async () => {
    const fake = new FakePipedrive({ seed: 15 });
    await fake.start();
    try {
      const data = async (url: string) => (await call(fake, url)).body.data as JsonObject[];
      const deals = fake.list('deals').slice(0, 100);
      const dealIds = deals.map((deal) => deal.id).join(',');
      const withParent = (key: string, id: unknown, items: JsonObject[]) =>
        items.map((item) => ({ [key]: id, ...item }));
      const participantDeal = deals.find((d) => fake.dealParticipantsOf(d.id as number)!.length);
      const product = fake
        .list('products')
        .find((p) => fake.productVariationsOf(p.id as number)!.length > 0) as JsonObject;
      const activities = await data('/api/v2/activities?limit=500&include_fields=attendees');
      const activityRows = (field: string) =>
        activities.flatMap((activity) =>
          (activity[field] as JsonObject[]).map((item) => ({
            activity_id: activity.id,
            ...item,
            activity_update_time: activity.update_time,
          })),
        );
      const rows: Record<string, JsonObject[]> = {
        projects: await data(
          '/api/v1/projects?limit=500&status=open,completed,canceled,deleted&include_archived=1',
        ),
        tasks: await data('/api/v1/tasks'),
        project_boards: await data('/api/v1/projects/boards'),
        project_phases: await data('/api/v1/projects/phases?board_id=1'),
        deal_installments: await data(`/api/v2/deals/installments?limit=500&deal_ids=${dealIds}`),
        deal_participants: withParent(
          'deal_id',
          participantDeal?.id,
          await data(`/api/v1/deals/${participantDeal?.id}/participants`),
        ),
        product_variations: await data(`/api/v2/products/${product.id}/variations`),
        activity_participants: activityRows('participants'),
        activity_attendees: activityRows('attendees'),
      };
      for (const [stream, table, key] of [
        ['deal_followers', 'deals', 'deal_id'],
        ['person_followers', 'persons', 'person_id'],
        ['organization_followers', 'organizations', 'organization_id'],
        ['product_followers', 'products', 'product_id'],
      ] as const) {
        rows[stream] = withParent(key, 1, await data(`/api/v2/${table}/1/followers`));
      }
      const derived: Record<string, string[]> = { projects: ['is_deleted', 'is_archived'] };
      for (const [stream, records] of Object.entries(rows)) {
        expect([stream, records.length > 0]).toEqual([stream, true]);
        const declared = properties(stream);
        const served = new Set(records.flatMap((record) => Object.keys(record)));
        expect([stream, [...served].filter((name) => !(name in declared))]).toEqual([stream, []]);
        const missing = Object.keys(declared).filter(
          (name) => !served.has(name) && !(derived[stream] ?? []).includes(name),
        );
        expect([stream, missing]).toEqual([stream, []]);
      }
      // Nested objects: what the fake serves is declared too.
      const person = properties('deal_participants').person.properties;
      const persons = rows.deal_participants.map((row) => row.person as JsonObject);
      expect(persons.flatMap(Object.keys).filter((name) => !(name in person))).toEqual([]);
      const price = properties('product_variations').prices.items.properties;
      const prices = rows.product_variations.flatMap((row) => row.prices as JsonObject[]);
      expect(prices.flatMap(Object.keys).filter((name) => !(name in price))).toEqual([]);
    } finally {
      await fake.stop();
    }
  });

  test('primary key columns are the only non-nullable ones', () => {
    const keys: Record<string, string[]> = {
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
    for (const [stream, key] of Object.entries(keys)) {
      const required = Object.entries(properties(stream))
        .filter(([, property]) => !([] as unknown[]).concat(property.type).includes('null'))
        .map(([name]) => name);
      expect([stream, required]).toEqual([stream, key]);
    }
  });
});
