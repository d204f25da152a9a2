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

describe('latency and requests in flight', () => {
  const timed = async <T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> => {
    const started = Date.now();
    const result = await work();
    return { result, ms: Date.now() - started };
  };

  test('concurrent requests wait their latency side by side, not one after another', async () => {
    const fake = new FakePipedrive({ latencyMs: 300 });
    await fake.start();
    try {
      const { result, ms } = await timed(() =>
        Promise.all(Array.from({ length: 6 }, () => call(fake, '/api/v2/pipelines'))),
      );
      expect(result.every((reply) => reply.status === 200)).toBe(true);
      expect(ms).toBeGreaterThanOrEqual(290);
      expect(ms).toBeLessThan(3 * 300);
      expect(fake.stats.maxInFlight).toBe(6);
      expect(fake.stats.inFlight).toBe(0);

      fake.setLatency(0);
      fake.resetStats();
      expect((await timed(() => call(fake, '/api/v2/pipelines'))).ms).toBeLessThan(250);
      expect(fake.stats.maxInFlight).toBe(1);
    } finally {
      await fake.stop();
    }
  });

  test('in flight means from arrival to the end of the response, counted while it waits', async () => {
    const fake = new FakePipedrive({ latencyMs: 400 });
    await fake.start();
    try {
      const pending = Promise.all([call(fake, '/api/v2/stages'), call(fake, '/api/v1/users')]);
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(fake.stats.inFlight).toBe(2);
      // A reset keeps the requests still under way.
      fake.resetStats();
      expect(fake.stats).toMatchObject({ requests: 0, inFlight: 2, maxInFlight: 2 });
      await pending;
      expect(fake.stats.inFlight).toBe(0);

      fake.failNext(/\/stages/, 'reset');
      await expect(call(fake, '/api/v2/stages')).rejects.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(fake.stats.inFlight).toBe(0);
    } finally {
      await fake.stop();
    }
  });

  test('a big page with custom fields takes longer than a small v1 list', async () => {
    const fake = new FakePipedrive({ latency: { baseMs: 20, perKbMs: 0.5 } });
    await fake.start();
    try {
      const small = await timed(() => call(fake, '/api/v1/currencies'));
      const big = await timed(() => call(fake, '/api/v2/deals?limit=400'));
      expect(big.result.body.data).toHaveLength(400);
      const bigKb = big.result.text.length / 1024;
      expect(bigKb).toBeGreaterThan(400);
      expect(big.ms).toBeGreaterThanOrEqual(20 + 0.5 * bigKb - 10);
      expect(big.ms).toBeGreaterThan(small.ms + 150);
      expect(small.ms).toBeLessThan(20 + 0.5 * (small.result.text.length / 1024) + 150);
    } finally {
      await fake.stop();
    }
  });

  test('jitter is drawn from a seeded RNG on top of the base delay', async () => {
    const durations = async (seed: number) => {
      const fake = new FakePipedrive({ latency: { baseMs: 50, jitterMs: 400, seed } });
      await fake.start();
      try {
        const measured: number[] = [];
        for (let index = 0; index < 6; index++) {
          measured.push((await timed(() => call(fake, '/api/v2/pipelines'))).ms);
        }
        return measured;
      } finally {
        await fake.stop();
      }
    };
    const first = await durations(2);
    expect(Math.min(...first)).toBeGreaterThanOrEqual(45);
    expect(Math.max(...first)).toBeLessThan(50 + 400 + 150);
    expect(Math.max(...first) - Math.min(...first)).toBeGreaterThan(100);
    // Same seed, same draws: seed 2 makes the second answer the slowest by 200 ms or more.
    const again = await durations(2);
    const slowest = (values: number[]) => values.indexOf(Math.max(...values));
    expect(slowest(again)).toBe(slowest(first));
  });

  test('the burst limiter counts arrivals, not answers, while latency holds the answers', async () => {
    const fake = new FakePipedrive({ burstLimit: 5, latencyMs: 300 });
    await fake.start();
    try {
      const replies = await Promise.all(
        Array.from({ length: 8 }, () => call(fake, '/api/v1/users/me')),
      );
      expect(replies.filter((reply) => reply.status === 429)).toHaveLength(3);
      expect(fake.stats.maxRequestsInAnyWindow).toBe(8);
      expect(fake.stats.maxInFlight).toBe(8);
    } finally {
      await fake.stop();
    }
  });
});

describe('x-token-cost and a budget shared with other integrations', () => {
  test('every charged answer says its cost, and the remaining budget drops by exactly that', async () => {
    const fake = new FakePipedrive({ dailyTokenBudget: 1000, dailyTokensSpentByOthers: 500 });
    await fake.start();
    try {
      const first = await call(fake, '/api/v2/deals');
      expect(first.headers.get('x-token-cost')).toBe('10');
      expect(first.headers.get('x-daily-ratelimit-token-limit')).toBe('1000');
      expect(first.headers.get('x-daily-ratelimit-token-remaining')).toBe('490');

      let remaining = 490;
      const charged: Array<[string, number]> = [
        ['/api/v1/notes', 20],
        ['/api/v2/stages', 5],
        ['/v1/users/me', 2],
        ['/api/v1/deals/3/flow', 40],
        ['/api/v2/deals/archived', 20],
        // The caller's own mistakes are charged too.
        ['/api/v2/deals?limit=501', 10],
      ];
      for (const [path, cost] of charged) {
        const reply = await call(fake, path);
        expect([path, reply.headers.get('x-token-cost')]).toEqual([path, String(cost)]);
        const now = Number(reply.headers.get('x-daily-ratelimit-token-remaining'));
        expect(remaining - now).toBe(cost);
        remaining = now;
      }
      expect(fake.dailyTokensSpent).toBe(107);
      expect(fake.dailyTokensSpentByOthers).toBe(500);

      // Nothing charged, no cost header: bad token, unknown path, injected fault.
      expect(
        (await call(fake, '/api/v2/deals', { token: 'nope' })).headers.get('x-token-cost'),
      ).toBeNull();
      expect((await call(fake, '/api/v2/nothing')).headers.get('x-token-cost')).toBeNull();
      fake.failNext(/\/stages/, 503);
      const fault = await call(fake, '/api/v2/stages');
      expect(fault.headers.get('x-token-cost')).toBeNull();

      fake.spendDailyTokensByOthers(300);
      const after = await call(fake, '/api/v2/stages');
      expect(Number(after.headers.get('x-daily-ratelimit-token-remaining'))).toBe(
        remaining - 300 - 5,
      );

      fake.setTokenCostHeader(false);
      const silent = await call(fake, '/api/v2/stages');
      expect(silent.headers.get('x-token-cost')).toBeNull();
      expect(Number(silent.headers.get('x-daily-ratelimit-token-remaining'))).toBe(
        remaining - 300 - 10,
      );
    } finally {
      await fake.stop();
    }
  });

  test('other integrations can exhaust the budget while this client spent little', async () => {
    const fake = new FakePipedrive({
      dailyTokenBudget: 100,
      dailyTokensSpentByOthers: 80,
      sendTokenCostHeader: false,
    });
    await fake.start();
    try {
      const first = await call(fake, '/api/v2/deals');
      expect(first.headers.get('x-daily-ratelimit-token-remaining')).toBe('10');
      expect(first.headers.get('x-token-cost')).toBeNull();
      expect((await call(fake, '/api/v2/deals')).status).toBe(200);
      const exhausted = await call(fake, '/api/v2/deals');
      expect(exhausted.status).toBe(429);
      expect(exhausted.body.error).toBe('daily request budget exceeded');
      expect(fake.dailyTokensSpent).toBe(20);

      // Midnight forgives everyone.
      fake.resetDailyBudget();
      const fresh = await call(fake, '/api/v2/deals');
      expect(fresh.headers.get('x-daily-ratelimit-token-remaining')).toBe('90');
      expect(fake.dailyTokensSpentByOthers).toBe(0);
    } finally {
      await fake.stop();
    }
  });
});

describe('host modes', () => {
  const unknownMethod = {
    success: false,
    error: 'Unknown method .',
    error_info: 'Please check developers.pipedrive.com',
    data: null,
    additional_data: null,
    errorCode: 404,
  };

  test('company host: /api/v1 and /api/v2 answer, /v1 is an unknown method', async () => {
    const fake = new FakePipedrive({ hostMode: 'company' });
    await fake.start();
    try {
      expect((await call(fake, '/api/v1/users/me')).status).toBe(200);
      expect((await call(fake, '/api/v1/leads')).status).toBe(200);
      expect((await call(fake, '/api/v2/deals')).status).toBe(200);
      for (const path of ['/v1/users/me', '/v1/notes', '/v1/leads']) {
        const refused = await call(fake, path);
        expect([path, refused.status, refused.body]).toEqual([path, 404, unknownMethod]);
      }
      // Not charged, and counted under the raw path: no endpoint answered it.
      expect(fake.stats.byEndpoint['GET /v1/notes']).toEqual({ requests: 1, tokens: 0 });
    } finally {
      await fake.stop();
    }
  });

  test('global host: /v1 and /api/v2 answer, every /api/v1 path is an unknown method', async () => {
    const fake = new FakePipedrive({ hostMode: 'global' });
    await fake.start();
    try {
      expect((await call(fake, '/v1/users/me')).status).toBe(200);
      expect((await call(fake, '/v1/leads')).status).toBe(200);
      expect((await call(fake, '/api/v2/persons')).status).toBe(200);
      for (const path of ['/api/v1/leads', '/api/v1/leadLabels', '/api/v1/users/me']) {
        const refused = await call(fake, path);
        expect([path, refused.status, refused.body]).toEqual([path, 404, unknownMethod]);
      }
      // Switchable at runtime: back to the lenient default that takes both.
      fake.setHostMode('any');
      expect((await call(fake, '/api/v1/leads')).status).toBe(200);
      fake.setHostMode('company');
      expect((await call(fake, '/v1/leads')).status).toBe(404);
    } finally {
      await fake.stop();
    }
  });
});

describe('answers that differ from the documentation', () => {
  let fake: FakePipedrive;

  beforeEach(async () => {
    fake = new FakePipedrive({ seed: 4 });
    await fake.start();
  });

  afterEach(async () => {
    await fake.stop();
  });

  test('200 with success false, and 400/422 carrying their error and error_info', async () => {
    fake.failNext(/\/persons/, 'successFalse');
    const failed = await call(fake, '/api/v2/persons');
    expect(failed.status).toBe(200);
    expect(failed.body).toEqual({
      success: false,
      error: 'Request could not be completed',
      error_info: 'Please check developers.pipedrive.com',
      data: null,
    });
    expect(failed.headers.get('x-token-cost')).toBeNull();

    fake.failNext(/\/persons/, { status: 200, error: 'Search failed', errorInfo: 'Retry later' });
    expect((await call(fake, '/api/v2/persons')).body).toEqual({
      success: false,
      error: 'Search failed',
      error_info: 'Retry later',
      data: null,
    });

    fake.failNext(/\/deals/, 422);
    const unprocessable = await call(fake, '/api/v2/deals');
    expect(unprocessable.status).toBe(422);
    expect(unprocessable.body).toMatchObject({
      success: false,
      error: 'Unprocessable entity',
      error_info: 'Please check developers.pipedrive.com',
      data: null,
    });

    for (const status of [400, 422]) {
      const error = `custom field ${status} cannot be filtered`;
      const errorInfo = `Remove the filter (${status})`;
      fake.failNext(/\/deals/, { status, error, errorInfo });
      const reply = await call(fake, '/api/v2/deals');
      expect(reply.status).toBe(status);
      expect(reply.body).toMatchObject({ success: false, error, error_info: errorInfo });
    }
    expect((await call(fake, '/api/v2/deals')).status).toBe(200);
  });

  test('a list without its paging block, data unchanged and charged', async () => {
    const normalV1 = await call(fake, '/api/v1/notes?limit=10');
    fake.failNext(/\/notes/, 'noPagination');
    const v1 = await call(fake, '/api/v1/notes?limit=10');
    expect(v1.body.data).toEqual(normalV1.body.data);
    expect(normalV1.body.additional_data.pagination.more_items_in_collection).toBe(true);
    expect(v1.body).not.toHaveProperty('additional_data');
    expect(v1.headers.get('x-token-cost')).toBe('20');

    const normalV2 = await call(fake, '/api/v2/deals?limit=10');
    fake.failNext(/\/deals/, 'noPagination');
    const v2 = await call(fake, '/api/v2/deals?limit=10');
    expect(v2.body).toEqual({ success: true, data: normalV2.body.data });
    expect(normalV2.body.additional_data.next_cursor).toEqual(expect.any(String));
  });

  test('v1 paging that never progresses: the same page, next_start one past start', async () => {
    const firstPage = ids((await call(fake, '/api/v1/notes?limit=10')).body.data);
    fake.failNext(/\/v1\/notes/, 'stuckPagination', Infinity);
    for (const start of [0, 1, 2, 7]) {
      const reply = await call(fake, `/api/v1/notes?limit=10&start=${start}`);
      expect(ids(reply.body.data)).toEqual(firstPage);
      expect(reply.body.additional_data.pagination).toEqual({
        start,
        limit: 10,
        more_items_in_collection: true,
        next_start: start + 1,
      });
    }
    fake.clearFaults();
    const progressed = await call(fake, '/api/v1/notes?limit=10&start=1');
    expect(ids(progressed.body.data).slice(0, 9)).toEqual(firstPage.slice(1));
    expect(progressed.body.additional_data.pagination.next_start).toBe(11);
  });

  test('v2 cursors that cycle back to a cursor issued earlier in the same pass', async () => {
    fake.failNext(/\/api\/v2\/deals/, 'cursorCycle');
    const page1 = await call(fake, '/api/v2/deals?limit=20');
    const c1 = page1.body.additional_data.next_cursor;
    const page2 = await call(fake, `/api/v2/deals?limit=20&cursor=${c1}`);
    const c2 = page2.body.additional_data.next_cursor;
    // The first two pages have no earlier cursor to point back to: the rule waits.
    expect(fake.stats.faultsInjected).toBe(0);
    const page3 = await call(fake, `/api/v2/deals?limit=20&cursor=${c2}`);
    expect(page3.body.additional_data.next_cursor).toBe(c1);
    expect(c1).not.toBe(c2);
    expect(fake.stats.faultsInjected).toBe(1);
    // Following it reads page 2 again; the data of page 3 itself was right.
    const again = await call(fake, `/api/v2/deals?limit=20&cursor=${c1}`);
    expect(ids(again.body.data)).toEqual(ids(page2.body.data));
    const expected = fake.list('deals').filter((deal) => !deal.is_archived && !deal.is_deleted);
    expect(ids(page3.body.data)).toEqual(ids(expected.slice(40, 60)));
    const page3Again = await call(fake, `/api/v2/deals?limit=20&cursor=${c2}`);
    expect(page3Again.body.additional_data.next_cursor).not.toBe(c1);
  });

  test('records older than updated_since slip into v1 and v2 answers', async () => {
    const persons = fake.list('persons');
    const since = persons[150].update_time as string;
    const v2Path = `/api/v2/persons?updated_since=${since}&sort_by=update_time&limit=50`;
    fake.failNext(/\/persons/, 'staleRecords');
    const v2 = await call(fake, v2Path);
    const older = (record: any) => seconds(record.update_time) < seconds(since);
    expect(v2.body.data.slice(0, 2).every(older)).toBe(true);
    expect(v2.body.data.slice(2).some(older)).toBe(false);
    expect(v2.body.data.slice(2)).toEqual((await call(fake, v2Path)).body.data);

    const notes = fake.list('notes');
    const noteSince = v2Time(seconds(`${notes[200].update_time}Z`));
    const v1Path = `/api/v1/notes?updated_since=${noteSince}&sort=update_time ASC&limit=20`;
    fake.failNext(/\/notes/, 'staleRecords');
    const v1 = await call(fake, v1Path);
    const olderNote = (note: any) => seconds(`${note.update_time}Z`) < seconds(noteSince);
    expect(v1.body.data).toHaveLength(22);
    expect(v1.body.data.slice(0, 2).every(olderNote)).toBe(true);
    expect(v1.body.data.slice(2).some(olderNote)).toBe(false);
  });

  test('deleted rows without a usable update_time, and rows without an id', async () => {
    const normal = (await call(fake, '/api/v2/deals?limit=5')).body.data;
    fake.failNext(/\/deals/, 'deletedNullTime');
    const deals = (await call(fake, '/api/v2/deals?limit=5')).body.data;
    expect(deals.slice(0, 4)).toEqual(normal.slice(0, 4));
    expect(deals[4]).toMatchObject({
      id: normal[4].id,
      is_deleted: true,
      status: 'deleted',
      update_time: null,
    });

    fake.failNext(/\/notes/, 'deletedBadTime');
    const notes = (await call(fake, '/api/v1/notes?limit=5')).body.data;
    expect(notes[4]).toMatchObject({
      is_deleted: true,
      active_flag: false,
      update_time: '0000-00-00 00:00:00',
    });
    expect(notes[3].update_time).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);

    fake.failNext(/\/leads/, 'missingId');
    const leads = (await call(fake, '/api/v1/leads?limit=5')).body.data;
    expect(leads).toHaveLength(5);
    expect(leads[4]).not.toHaveProperty('id');
    expect(leads[4].title).toEqual(expect.any(String));
    expect(leads.slice(0, 4).every((lead: any) => typeof lead.id === 'string')).toBe(true);
  });
});

describe('servers older than the documentation', () => {
  test('v1 notes and leads that silently ignore updated_since', async () => {
    const fake = new FakePipedrive({ v1IgnoresUpdatedSince: true });
    await fake.start();
    try {
      const notes = fake.list('notes').filter((note) => note.active_flag !== false);
      const since = v2Time(seconds(`${notes[notes.length - 5].update_time}Z`));
      const filtered = `/api/v1/notes?updated_since=${since}&limit=500`;
      const ignored = await call(fake, filtered);
      expect(ignored.status).toBe(200);
      expect(ids(ignored.body.data)).toEqual(
        ids((await call(fake, '/api/v1/notes?limit=500')).body.data),
      );
      expect(fake.requestLog[0].query.updated_since).toBe(since);
      for (const path of ['/api/v1/leads', '/v1/leads/archived']) {
        const all = (await call(fake, `${path}?limit=500`)).body.data;
        const future = `${path}?limit=500&updated_since=2030-01-01T00:00:00Z`;
        expect(ids((await call(fake, future)).body.data)).toEqual(ids(all));
      }

      fake.setV1IgnoresUpdatedSince(false);
      const honoured = (await call(fake, filtered)).body.data;
      expect(honoured.length).toBeGreaterThanOrEqual(5);
      expect(honoured.length).toBeLessThan(notes.length);
      expect(
        (await call(fake, '/api/v1/leads?updated_since=2030-01-01T00:00:00Z')).body.data,
      ).toEqual([]);
    } finally {
      await fake.stop();
    }
  });

  test('v2 products that refuse updated_since and updated_until with a validation error', async () => {
    const fake = new FakePipedrive();
    await fake.start();
    try {
      const path = '/api/v2/products?updated_since=2025-01-01T00:00:00Z';
      expect((await call(fake, path)).status).toBe(200);
      fake.setProductsRejectUpdatedSince(true);
      const refused = await call(fake, path);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({
        success: false,
        error: "Parameter 'updated_since' is not allowed here",
        code: 'ERR_SCHEMA_VALIDATION_FAILED',
        data: null,
      });
      // Pipedrive charges the caller's mistakes.
      expect(refused.headers.get('x-token-cost')).toBe('10');
      const until = await call(fake, '/api/v2/products?updated_until=2025-01-01T00:00:00Z');
      expect(until.status).toBe(400);
      expect(until.body.error).toMatch(/updated_until/);
      expect((await call(fake, '/api/v2/products?sort_by=update_time')).status).toBe(200);
      expect((await call(fake, '/api/v2/persons?updated_since=2025-01-01T00:00:00Z')).status).toBe(
        200,
      );
    } finally {
      await fake.stop();
    }
    const constructed = new FakePipedrive({ productsRejectUpdatedSince: true });
    await constructed.start();
    try {
      expect(
        (await call(constructed, '/api/v2/products?updated_since=2025-01-01T00:00:00Z')).status,
      ).toBe(400);
    } finally {
      await constructed.stop();
    }
  });
});

describe('another client on the same token', () => {
  test('its requests fill the burst window, so 429s come while ours are few', async () => {
    const fake = new FakePipedrive({ burstLimit: 10, otherClientRequestsPerSecond: 4 });
    await fake.start();
    try {
      // Its 4 requests a second leave 2 of the 10 a window for us.
      const replies = await Promise.all(
        Array.from({ length: 5 }, () => call(fake, '/api/v1/users/me')),
      );
      const limited = replies.filter((reply) => reply.status === 429);
      expect(limited.length).toBeGreaterThanOrEqual(2);
      expect(limited.length).toBeLessThanOrEqual(3);
      const admitted = replies.filter((reply) => reply.status === 200);
      expect(Math.min(...admitted.map((r) => Number(r.headers.get('x-ratelimit-remaining'))))).toBe(
        0,
      );
      // The stats are this client's own.
      expect(fake.stats.maxRequestsInAnyWindow).toBe(5);
      expect(fake.stats.requests).toBe(5);

      fake.setOtherClient(0);
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const alone = await Promise.all(
        Array.from({ length: 5 }, () => call(fake, '/api/v1/users/me')),
      );
      expect(alone.every((reply) => reply.status === 200)).toBe(true);
      expect(
        alone.map((reply) => Number(reply.headers.get('x-ratelimit-remaining'))).sort(),
      ).toEqual([5, 6, 7, 8, 9]);
    } finally {
      await fake.stop();
    }
  });
});

describe('hooks between the read and the answer', () => {
  test('a change made after the read is missing from the data but not newer than the Date', async () => {
    const fake = new FakePipedrive();
    await fake.start();
    try {
      const readAt = fake.clock.nowSeconds();
      fake.onAfterRead(
        /^\/api\/v2\/deals$/,
        async (inside) => {
          // Async work is awaited before the answer goes out.
          await new Promise((resolve) => setTimeout(resolve, 20));
          inside.clock.advance(7);
          inside.update('deals', 1, { title: 'Changed between read and Date' });
        },
        1,
      );
      const reply = await call(fake, '/api/v2/deals?limit=3');
      expect(reply.body.data[0].id).toBe(1);
      expect(reply.body.data[0].title).not.toBe('Changed between read and Date');
      const dateSeconds = Date.parse(reply.headers.get('date') as string) / 1000;
      expect(dateSeconds).toBe(readAt + 7);
      expect(seconds(fake.get('deals', 1)?.update_time as string)).toBe(dateSeconds);

      // Used up: the next read sees the change and leaves the clock alone.
      const next = await call(fake, '/api/v2/deals?limit=3');
      expect(next.body.data[0].title).toBe('Changed between read and Date');
      expect(fake.clock.nowSeconds()).toBe(readAt + 7);
    } finally {
      await fake.stop();
    }
  });

  test('hooks match the path or path and query, run until removed, and skip other paths', async () => {
    const fake = new FakePipedrive();
    await fake.start();
    try {
      const seen: string[] = [];
      const remove = fake.onAfterRead(/\/notes\?.*updated_since=/, () => {
        seen.push('notes');
      });
      await call(fake, '/api/v1/notes?limit=1');
      await call(fake, '/api/v1/notes?limit=1&updated_since=2025-01-01T00:00:00Z');
      await call(fake, '/api/v1/notes?limit=1&updated_since=2025-01-01T00:00:00Z');
      await call(fake, '/api/v2/deals?updated_since=2025-01-01T00:00:00Z');
      expect(seen).toEqual(['notes', 'notes']);
      remove();
      await call(fake, '/api/v1/notes?limit=1&updated_since=2025-01-01T00:00:00Z');
      expect(seen).toHaveLength(2);
      // Requests that never reach an endpoint read nothing: no hook.
      fake.onAfterRead(/.*/, () => {
        seen.push('any');
      });
      await call(fake, '/api/v2/deals', { token: 'wrong' });
      await call(fake, '/api/v2/nothing');
      expect(seen).toHaveLength(2);
      await call(fake, '/api/v2/stages');
      expect(seen).toEqual(['notes', 'notes', 'any']);
    } finally {
      await fake.stop();
    }
  });
});

describe('field definitions that change between discover and read', () => {
  let fake: FakePipedrive;

  beforeEach(async () => {
    fake = new FakePipedrive({ seed: 9 });
    await fake.start();
  });

  afterEach(async () => {
    await fake.stop();
  });

  const dealFields = async () => (await readAllV1(fake, '/api/v1/dealFields?limit=500')).records;
  const keyOf = (name: string) =>
    fake.fields().deal.find((field) => field.name === name)?.key as string;
  const deals = async () => (await call(fake, '/api/v2/deals?limit=100')).body.data as any[];
  const leads = async () => (await call(fake, '/api/v1/leads?limit=100')).body.data as any[];

  test('a renamed field keeps its key and its values', async () => {
    const key = keyOf('Seats');
    fake.update('deals', 2, { title: 'changed before the rename' });
    const before = (await deals()).map((deal) => deal.custom_fields[key]);
    expect(before.filter((value) => value !== null).length).toBeGreaterThan(10);
    fake.clock.advance(60);
    const renamed = fake.renameCustomField('deal', key, 'Licensed Seats');
    expect(renamed).toMatchObject({ key, name: 'Licensed Seats' });
    const definition = (await dealFields()).find((field) => field.key === key);
    expect(definition).toMatchObject({
      name: 'Licensed Seats',
      update_time: v2Time(fake.clock.nowSeconds()).replace('T', ' ').replace('Z', ''),
    });
    expect((await dealFields()).filter((field) => field.name === 'Seats')).toEqual([]);
    expect((await deals()).map((deal) => deal.custom_fields[key])).toEqual(before);

    const address = keyOf('Billing Address');
    fake.renameCustomField('deal', address, 'Invoice Address');
    const subfields = (await dealFields()).find((field) => field.key === address).subfields;
    expect(subfields.every((sub: any) => sub.name.endsWith('of Invoice Address'))).toBe(true);
  });

  test('a deactivated field hides its values (v2 and v1 leads) until it is reactivated', async () => {
    const key = keyOf('Contract Value');
    const leadWithValue = (await leads()).find((lead) => lead[key] !== undefined);
    expect(leadWithValue[`${key}_currency`]).toEqual(expect.any(String));
    // Changed records hold their values themselves: they must follow too.
    fake.update('deals', 1, { title: 'changed' });
    fake.update('leads', leadWithValue.id, { title: 'changed lead' });
    const beforeDeals = await deals();
    const beforeLeads = await leads();

    fake.deactivateCustomField('deal', key);
    expect((await dealFields()).find((field) => field.key === key).active_flag).toBe(false);
    expect((await deals()).some((deal) => key in deal.custom_fields)).toBe(false);
    const hidden = await leads();
    expect(hidden.some((lead) => Object.keys(lead).some((name) => name.startsWith(key)))).toBe(
      false,
    );
    // Other fields are untouched.
    const seats = keyOf('Seats');
    expect((await deals()).map((deal) => deal.custom_fields[seats])).toEqual(
      beforeDeals.map((deal) => deal.custom_fields[seats]),
    );

    fake.reactivateCustomField('deal', key);
    expect((await dealFields()).find((field) => field.key === key).active_flag).toBe(true);
    expect(await deals()).toEqual(beforeDeals);
    expect(await leads()).toEqual(beforeLeads);
  });

  test('a deleted field is gone everywhere, and a new one of the same name gets a new key', async () => {
    const key = keyOf('Go-live Date');
    fake.update('deals', 3, { title: 'changed' });
    const customChange = (item: JsonObject) =>
      /^[0-9a-f]{40}$/.test(String((item.data as JsonObject).field_key));
    const [flowDeal, flowBefore] = Object.entries(fake.db.flow).find(([, items]) =>
      items.some(customChange),
    ) as [string, JsonObject[]];
    fake.deleteCustomField('deal', key);
    expect((await dealFields()).map((field) => field.key)).not.toContain(key);
    expect((await deals()).some((deal) => key in deal.custom_fields)).toBe(false);
    expect(Object.keys(fake.get('deals', 3)?.custom_fields as object)).not.toContain(key);
    // History does not change with today's fields.
    expect(fake.flowOf(Number(flowDeal))).toEqual(flowBefore);

    const again = fake.addCustomField('deal', { name: 'Go-live Date', type: 'date' });
    expect(again.key).toMatch(/^[0-9a-f]{40}$/);
    expect(again.key).not.toBe(key);
    const twin = fake.addCustomField('deal', { name: 'Seats', type: 'varchar' });
    expect(twin.key).not.toBe(keyOf('Seats'));
    const named = (await dealFields()).filter((field) => field.name === 'Seats');
    expect(named.map((field) => field.field_type).sort()).toEqual(['int', 'varchar']);
    const page = await deals();
    expect(page.every((deal) => deal.custom_fields[twin.key] === null)).toBe(true);
    expect(page.some((deal) => deal.custom_fields[keyOf('Seats')] !== null)).toBe(true);
  });

  test('moving a field changes the order of the definitions and their order_nr', async () => {
    const key = keyOf('Industries');
    fake.moveField('deal', key, 0);
    const moved = await dealFields();
    expect(moved[0].key).toBe(key);
    expect(moved.map((field) => field.order_nr)).toEqual(moved.map((_, index) => index + 1));
    fake.moveField('deal', 'title', moved.length - 1);
    const last = await dealFields();
    expect(last[last.length - 1].key).toBe('title');
    expect(last[0].key).toBe(key);
    expect(() => fake.moveField('deal', 'nope', 0)).toThrow(/No deal field/);
    expect(() => fake.renameCustomField('deal', 'title', 'Name')).toThrow(/No custom deal field/);
  });
});

describe('command line: the realism options', () => {
  test('latency, host mode, shared budget and limits, older servers', () => {
    const options = parseArguments([
      '--latency-ms',
      '200',
      '--latency-jitter-ms',
      '300',
      '--latency-per-kb-ms=0.5',
      '--latency-seed',
      '9',
      '--host-mode',
      'global',
      '--other-client-rps',
      '6',
      '--daily-budget',
      '30000',
      '--daily-spent-by-others',
      '15000',
      '--no-token-cost-header',
      '--v1-ignores-updated-since',
      '--products-reject-updated-since',
    ]);
    expect(options).toEqual({
      latencyMs: 200,
      latency: { jitterMs: 300, perKbMs: 0.5, seed: 9 },
      hostMode: 'global',
      otherClientRequestsPerSecond: 6,
      dailyTokenBudget: 30_000,
      dailyTokensSpentByOthers: 15_000,
      sendTokenCostHeader: false,
      v1IgnoresUpdatedSince: true,
      productsRejectUpdatedSince: true,
      sizes: {},
    });
    expect(() => parseArguments(['--host-mode', 'eu'])).toThrow(/company, global or any/);
  });

  test('the parsed options build a fake that behaves accordingly', async () => {
    const fake = new FakePipedrive(
      parseArguments([
        '--host-mode=company',
        '--latency-ms=150',
        '--daily-budget=100',
        '--daily-spent-by-others=50',
      ]),
    );
    await fake.start();
    try {
      const started = Date.now();
      const reply = await call(fake, '/api/v2/stages');
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      expect(reply.headers.get('x-daily-ratelimit-token-remaining')).toBe('45');
      expect(reply.headers.get('x-token-cost')).toBe('5');
      expect((await call(fake, '/v1/users/me')).status).toBe(404);
    } finally {
      await fake.stop();
    }
  });
});

describe('files, filters, goals, mailbox, call logs, roles and permission sets', () => {
  let fake: FakePipedrive;

  beforeEach(async () => {
    fake = new FakePipedrive({ seed: 11 });
    await fake.start();
  });

  afterEach(async () => {
    await fake.stop();
  });

  test('seeded like the rest, sized by the new Sizes entries', () => {
    const collections = ['files', 'filters', 'goals', 'mailThreads', 'callLogs', 'roles'] as const;
    const again = new FakePipedrive({ seed: 11 });
    const other = new FakePipedrive({ seed: 12 });
    for (const collection of collections) {
      expect(again.list(collection)).toEqual(fake.list(collection));
    }
    expect(again.mailMessagesOf(3)).toEqual(fake.mailMessagesOf(3));
    expect(other.list('mailThreads')).not.toEqual(fake.list('mailThreads'));
    const small = new FakePipedrive({
      sizes: { files: 5, filters: 2, goals: 3, mailThreads: 4, callLogs: 0, roles: 2 },
    });
    expect(collections.map((collection) => small.count(collection))).toEqual([5, 2, 3, 4, 0, 2]);
    const perThread = new FakePipedrive({
      sizes: { mailThreads: 20, mailMessagesPerThreadMax: 1 },
    });
    const counts = perThread.list('mailThreads').map((thread) => thread.message_count);
    expect(new Set(counts)).toEqual(new Set([1]));
  });

  const v1Time = (epochSeconds: number) => v2Time(epochSeconds).replace('T', ' ').replace('Z', '');
  const isoMillis = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString();
  const newestFirst = `sort=${encodeURIComponent('update_time DESC')}`;

  describe('files and filters', () => {
    test('files: update_time DESC, at most 100 a page, deleted files left out, data null past the end', async () => {
      const files = fake.list('files');
      const live = files.filter((file) => file.active_flag === true);
      expect(live.length).toBeLessThan(files.length);
      const capped = await call(fake, `/api/v1/files?${newestFirst}&limit=500`);
      expect(capped.body.additional_data.pagination.limit).toBe(100);
      const { records, pages } = await readAllV1(fake, `/api/v1/files?${newestFirst}&limit=7`);
      expect(pages).toBe(Math.ceil(live.length / 7));
      const expected = [...live].sort(
        (a, b) =>
          String(b.update_time).localeCompare(String(a.update_time)) ||
          (b.id as number) - (a.id as number),
      );
      expect(ids(records)).toEqual(ids(expected));
      expect((await call(fake, '/api/v1/files?start=1000')).body.data).toBeNull();
      expect(fake.stats.byEndpoint['GET /api/v1/files'].tokens).toBe(20 * (pages + 2));
      expect((await call(fake, '/api/v1/files?sort=file_name%20ASC')).status).toBe(400);
      expect((await call(fake, '/api/v1/files?limit=0')).status).toBe(400);
    });

    test('files: item names are joined when served, so renames show', async () => {
      const file = fake.list('files').find((candidate) => candidate.deal_id !== null) as JsonObject;
      fake.update('deals', file.deal_id as number, { title: 'Renamed deal' });
      const { records } = await readAllV1(fake, '/api/v1/files?limit=100');
      const served = records.find((candidate) => candidate.id === file.id);
      expect(served).toMatchObject({ deal_name: 'Renamed deal', person_name: null });
      expect(served.url).toBe(`https://acme.pipedrive.com/v1/files/${file.id}/download`);
    });

    test('files: inserts and updates stamp v1 times and come first; a removed file is hidden but kept', async () => {
      fake.clock.advance(60);
      const now = fake.clock.nowSeconds();
      const created = fake.insert('files', { name: 'fresh.pdf', deal_id: 3 });
      expect(created).toMatchObject({ add_time: v1Time(now), update_time: v1Time(now) });
      fake.clock.advance(60);
      const changed = fake.update('files', 5, { description: 'v2' });
      expect(changed.update_time).toBe(v1Time(now + 60));
      const first = await call(fake, `/api/v1/files?${newestFirst}&limit=2`);
      expect(ids(first.body.data)).toEqual([5, created.id]);
      fake.remove('files', 5);
      expect(fake.get('files', 5)?.active_flag).toBe(false);
      const { records } = await readAllV1(fake, '/api/v1/files?limit=100');
      expect(ids(records)).not.toContain(5);
      expect(ids(records)).toContain(created.id);
    });

    test('filters: all in one answer, filtered by type, removed ones hidden', async () => {
      const all = await call(fake, '/api/v1/filters');
      expect(all.body.data).toHaveLength(12);
      expect(all.body.additional_data).toBeUndefined();
      const deals = await call(fake, '/api/v1/filters?type=deals');
      expect(deals.body.data.length).toBeGreaterThan(0);
      expect(deals.body.data.every((filter: any) => filter.type === 'deals')).toBe(true);
      expect((await call(fake, '/api/v1/filters?type=invoices')).status).toBe(400);
      fake.clock.advance(5);
      expect(fake.update('filters', 2, { name: 'Renamed' }).update_time).toBe(
        v1Time(fake.clock.nowSeconds()),
      );
      fake.remove('filters', 1);
      const after = await call(fake, '/api/v1/filters');
      expect(ids(after.body.data)).not.toContain(1);
      expect(after.body.data.find((filter: any) => filter.id === 2).name).toBe('Renamed');
    });
  });

  describe('goals', () => {
    const find = async (query = '') => {
      const reply = await call(fake, `/api/v1/goals/find${query}`);
      expect(reply.status).toBe(200);
      return reply.body.data.goals as any[];
    };

    test('find: only the token user’s active goals unless an everyone parameter is given', async () => {
      const goals = fake.list('goals');
      expect(goals.every((goal) => /^[0-9a-f]{32}$/.test(goal.id as string))).toBe(true);
      const mine = await find();
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.every((goal) => goal.assignee.type === 'person' && goal.assignee.id === 1)).toBe(
        true,
      );
      const everyone: any[] = [];
      for (const type of ['person', 'company', 'team']) {
        for (const active of ['true', 'false']) {
          everyone.push(...(await find(`?assignee.type=${type}&is_active=${active}`)));
        }
      }
      expect(ids(everyone).sort()).toEqual(ids(goals).sort());
      const ended = await find('?assignee.type=person&is_active=false');
      expect(ended.every((goal) => goal.is_active === false)).toBe(true);
      const byType = await find('?type.name=deals_won');
      expect(byType.every((goal) => goal.type.name === 'deals_won')).toBe(true);
      expect(fake.stats.byEndpoint['GET /api/v1/goals/find'].tokens).toBe(20 * 9);
      for (const bad of ['?is_active=maybe', '?type.name=calls_made', '?period.start=2026-01-01']) {
        expect((await call(fake, `/api/v1/goals/find${bad}`)).status).toBe(400);
      }
    });

    test('results: progress over the goal’s own period, growing with the clock', async () => {
      const goal = (await find())[0];
      const { start, end } = goal.duration;
      const path = `/api/v1/goals/${goal.id}/results?period.start=${start}&period.end=${end}`;
      const before = await call(fake, path);
      expect(before.body).toMatchObject({ success: true, data: { goal } });
      expect(Number.isInteger(before.body.data.progress)).toBe(true);
      fake.clock.advance(40 * 86_400);
      const after = await call(fake, path);
      expect(after.body.data.progress).toBeGreaterThan(before.body.data.progress);
      const firstWeek = await call(
        fake,
        `/api/v1/goals/${goal.id}/results?period.start=${start}&period.end=${start}`,
      );
      expect(firstWeek.body.data.progress).toBeLessThanOrEqual(after.body.data.progress);
      expect(fake.stats.byEndpoint['GET /api/v1/goals/{id}/results'].tokens).toBe(60);
    });

    test('results: both period ends required and inside the goal, open-ended goals take any end', async () => {
      const goals = fake.list('goals');
      const bounded = goals.find((goal) => (goal.duration as any).end !== null) as any;
      const open = goals.find((goal) => (goal.duration as any).end === null) as any;
      const results = (goal: any, query: string) =>
        call(fake, `/api/v1/goals/${goal.id}/results${query}`);
      const { start, end } = bounded.duration;
      expect((await results(bounded, '')).status).toBe(400);
      expect((await results(bounded, `?period.start=${start}`)).status).toBe(400);
      expect((await results(bounded, `?period.start=${start}&period.end=2099-12-31`)).status).toBe(
        400,
      );
      expect((await results(bounded, `?period.start=2000-01-01&period.end=${end}`)).status).toBe(
        400,
      );
      expect((await results(bounded, `?period.start=${end}&period.end=${start}`)).status).toBe(400);
      expect((await results(bounded, `?period.start=${start}&period.end=2026-02-30`)).status).toBe(
        400,
      );
      const today = fake.clock.now().toISOString().slice(0, 10);
      const openEnded = await results(
        open,
        `?period.start=${open.duration.start}&period.end=${today}`,
      );
      expect(openEnded.status).toBe(200);
      expect(
        (await call(fake, '/api/v1/goals/0123456789abcdef0123456789abcdef/results')).status,
      ).toBe(404);
    });

    test('goals are created, changed and deleted through the fake', async () => {
      const created = fake.insert('goals', {
        title: 'New goal',
        assignee: { id: 1, type: 'person' },
      });
      expect(created.id).toMatch(/^[0-9a-f]{32}$/);
      expect(ids(await find())).toContain(created.id);
      fake.update('goals', created.id as string, { title: 'Renamed goal' });
      expect((await find()).find((goal) => goal.id === created.id).title).toBe('Renamed goal');
      fake.remove('goals', created.id as string);
      expect(ids(await find())).not.toContain(created.id);
      const { start, end } = created.duration as any;
      const gone = await call(
        fake,
        `/api/v1/goals/${created.id}/results?period.start=${start}&period.end=${end ?? start}`,
      );
      expect(gone.status).toBe(404);
    });
  });

  describe('mailbox', () => {
    const folderIds = async (folder: string): Promise<number[]> =>
      (await readAllV1(fake, `/api/v1/mailbox/mailThreads?folder=${folder}&limit=7`)).records.map(
        (thread) => thread.id as number,
      );

    test('a thread is listed in every folder it is in; together the folders cover every thread', async () => {
      const seen = new Map<number, string[]>();
      for (const folder of ['inbox', 'drafts', 'sent', 'archive']) {
        const { records } = await readAllV1(
          fake,
          `/api/v1/mailbox/mailThreads?folder=${folder}&limit=7`,
        );
        const times = records.map((thread) => thread.last_message_timestamp);
        expect(times).toEqual([...times].sort().reverse());
        for (const thread of records) {
          expect(thread.folders).toContain(folder);
          expect(thread.user_id).toBe(1);
          seen.set(thread.id, [...(seen.get(thread.id) ?? []), folder]);
        }
      }
      expect([...seen.keys()].sort((a, b) => a - b)).toEqual(ids(fake.list('mailThreads')));
      const overlapping = [...seen.entries()].filter(([, folders]) => folders.length > 1);
      expect(overlapping.length).toBeGreaterThan(0);
      for (const [id, folders] of overlapping) {
        expect(fake.get('mailThreads', id)?.folders).toEqual(folders);
      }
      expect((await call(fake, '/api/v1/mailbox/mailThreads')).status).toBe(400);
      expect((await call(fake, '/api/v1/mailbox/mailThreads?folder=spam')).status).toBe(400);
      expect(
        (await call(fake, '/api/v1/mailbox/mailThreads?folder=inbox&start=1000')).body.data,
      ).toBeNull();
    });

    test('messages of a thread, and the thread agrees with them', async () => {
      const thread = fake.get('mailThreads', 4) as any;
      const reply = await call(fake, '/api/v1/mailbox/mailThreads/4/mailMessages');
      expect(reply.status).toBe(200);
      const messages = reply.body.data;
      expect(messages).toEqual(fake.mailMessagesOf(4));
      expect(messages.every((message: any) => message.mail_thread_id === 4)).toBe(true);
      expect(thread.message_count).toBe(messages.length);
      expect(thread.first_message_timestamp).toBe(messages[0].message_time);
      expect(thread.last_message_timestamp).toBe(messages[messages.length - 1].message_time);
      expect(thread.has_sent_flag).toBe(messages.some((m: any) => m.sent_flag === 1) ? 1 : 0);
      const messageIds = fake
        .list('mailThreads')
        .flatMap((t) => ids(fake.mailMessagesOf(t.id as number) ?? []));
      expect(new Set(messageIds).size).toBe(messageIds.length);
      expect((await call(fake, '/api/v1/mailbox/mailThreads/9999/mailMessages')).status).toBe(404);
    });

    test('a new message bumps the thread’s update_time and moves it between folders', async () => {
      const inboxOnly = fake
        .list('mailThreads')
        .find((thread) => (thread.folders as string[]).join() === 'inbox') as any;
      expect(await folderIds('sent')).not.toContain(inboxOnly.id);
      fake.clock.advance(3600);
      const now = fake.clock.nowSeconds();
      const message = fake.addMailMessage(inboxOnly.id, 'sent');
      expect(message).toMatchObject({
        mail_thread_id: inboxOnly.id,
        sent_flag: 1,
        add_time: isoMillis(now),
      });
      const thread = fake.get('mailThreads', inboxOnly.id) as any;
      expect(thread).toMatchObject({
        update_time: isoMillis(now),
        last_message_sent_timestamp: isoMillis(now),
        message_count: inboxOnly.message_count + 1,
        folders: ['inbox', 'sent'],
      });
      expect((await folderIds('sent'))[0]).toBe(inboxOnly.id);
      expect((await folderIds('inbox'))[0]).toBe(inboxOnly.id);
      fake.addMailMessage(inboxOnly.id, 'draft');
      expect(await folderIds('drafts')).toContain(inboxOnly.id);
      fake.addMailMessage(inboxOnly.id, 'received');
      expect(fake.get('mailThreads', inboxOnly.id)?.read_flag).toBe(0);

      fake.clock.advance(60);
      const edited = fake.updateMailMessage(message.id as number, { read_flag: 0 });
      expect(edited.update_time).toBe(isoMillis(now + 60));
      expect(fake.get('mailThreads', inboxOnly.id)?.update_time).toBe(isoMillis(now + 60));
    });

    test('archiving, deleting and starting threads', async () => {
      const inbox = await folderIds('inbox');
      fake.update('mailThreads', inbox[0], { archived_flag: 1 });
      expect(await folderIds('inbox')).not.toContain(inbox[0]);
      expect(await folderIds('archive')).toContain(inbox[0]);
      fake.remove('mailThreads', inbox[1]);
      for (const folder of ['inbox', 'drafts', 'sent', 'archive']) {
        expect(await folderIds(folder)).not.toContain(inbox[1]);
      }
      // Deleting marks the thread; its messages stay readable.
      expect(fake.get('mailThreads', inbox[1])?.deleted_flag).toBe(1);
      expect(
        (await call(fake, `/api/v1/mailbox/mailThreads/${inbox[1]}/mailMessages`)).status,
      ).toBe(200);
      fake.clock.advance(10);
      const started = fake.addMailThread({ subject: 'Hello there' });
      expect(started).toMatchObject({
        subject: 'Hello there',
        message_count: 1,
        folders: ['inbox'],
      });
      expect((await folderIds('inbox'))[0]).toBe(started.id);
    });
  });

  describe('call logs, lead sources, note fields', () => {
    test('call logs: only the token user’s, at most 50 a page, deletes are for good', async () => {
      const all = fake.list('callLogs');
      const mine = all.filter((log) => log.user_id === 1);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.length).toBeLessThan(all.length);
      const capped = await call(fake, '/api/v1/callLogs?limit=500');
      expect(capped.body.additional_data.pagination.limit).toBe(50);
      const { records, pages } = await readAllV1(fake, '/api/v1/callLogs?limit=4');
      expect(pages).toBe(Math.ceil(mine.length / 4));
      expect(ids(records).sort()).toEqual(ids(mine).sort());
      expect(records.every((log) => typeof log.id === 'string' && log.user_id === 1)).toBe(true);
      for (const log of records.filter((candidate) => candidate.activity_id !== null)) {
        const activity = fake.get('activities', log.activity_id) as JsonObject;
        expect(log.deal_id ?? null).toBe(activity.deal_id);
        expect(log.person_id ?? null).toBe(activity.person_id);
      }
      const gone = records[0].id;
      expect(fake.remove('callLogs', gone)).toBeNull();
      expect(fake.get('callLogs', gone)).toBeUndefined();
      const added = fake.insert('callLogs', { user_id: 1, outcome: 'busy' });
      const after = ids((await readAllV1(fake, '/api/v1/callLogs?limit=50')).records);
      expect(after).not.toContain(gone);
      expect(after).toContain(added.id);
    });

    test('lead sources and note fields are fixed lists', async () => {
      const sources = await call(fake, '/api/v1/leadSources');
      expect(sources.body.data).toContainEqual({ name: 'API' });
      const leadSources = new Set(sources.body.data.map((source: any) => source.name));
      expect(fake.list('leads').every((lead) => leadSources.has(lead.source_name))).toBe(true);
      expect(fake.stats.byEndpoint['GET /api/v1/leadSources'].tokens).toBe(2);
      const fields = (await call(fake, '/api/v1/noteFields')).body.data;
      expect(fields.map((field: any) => field.key)).toEqual(
        expect.arrayContaining(['content', 'deal_id', 'pinned_to_deal_flag']),
      );
      for (const field of fields) {
        expect(field.options === null).toBe(field.field_type !== 'enum');
      }
    });
  });

  describe('permission sets and roles', () => {
    test('admin-only: a denied token gets 403 on the lists and the assignments', async () => {
      const set = fake.list('permissionSets')[0];
      fake.denyPermission('/v1/permissionSets');
      fake.denyPermission('/v1/roles');
      for (const path of [
        '/api/v1/permissionSets',
        `/api/v1/permissionSets/${set.id}/assignments`,
        '/v1/roles',
        '/api/v1/roles/2/assignments',
      ]) {
        const denied = await call(fake, path);
        expect(denied.status).toBe(403);
        expect(denied.body).toMatchObject({ success: false, data: null });
      }
      expect((await call(fake, '/api/v1/users')).status).toBe(200);
      fake.allowPermission('/v1/roles');
      expect((await call(fake, '/api/v1/roles')).status).toBe(200);
      expect((await call(fake, '/api/v1/permissionSets')).status).toBe(403);
    });

    test('permission set assignments are the users whose access names the set', async () => {
      const users = fake.list('users');
      const sets = (await call(fake, '/api/v1/permissionSets')).body.data;
      for (const set of sets) {
        const holders = users.filter((user) =>
          (user.access as any[]).some((access) => access.permission_set_id === set.id),
        );
        expect(set.assignment_count).toBe(holders.length);
        const reply = await call(fake, `/api/v1/permissionSets/${set.id}/assignments`);
        if (holders.length === 0) {
          expect(reply.status).toBe(404);
          continue;
        }
        expect(reply.body.data.map((row: any) => row.user_id)).toEqual(ids(holders));
        expect(reply.body.data.every((row: any) => row.name === set.name)).toBe(true);
      }
      const sales = await call(fake, '/api/v1/permissionSets?app=sales');
      expect(sales.body.data.every((set: any) => set.app === 'sales')).toBe(true);
      expect((await call(fake, '/api/v1/permissionSets?app=billing')).status).toBe(400);

      const manager = sets.find((set: any) => set.type === 'manager');
      fake.clock.advance(30);
      const moved = fake.assignPermissionSet(2, manager.id);
      expect(moved.modified).toBe(v1Time(fake.clock.nowSeconds()));
      expect((moved.access as any[]).filter((access) => access.app === 'sales')).toEqual([
        { app: 'sales', admin: false, permission_set_id: manager.id },
      ]);
      const after = await call(fake, `/api/v1/permissionSets/${manager.id}/assignments`);
      expect(after.body.data.map((row: any) => row.user_id)).toContain(2);
    });

    test('roles: a tree with derived counts; assignments follow the users’ role_id', async () => {
      const roles = (await call(fake, '/api/v1/roles')).body.data;
      expect(roles).toHaveLength(5);
      const users = fake.list('users');
      for (const role of roles) {
        expect(role.assignment_count).toBe(
          String(users.filter((user) => user.role_id === role.id).length),
        );
        expect(role.sub_role_count).toBe(
          String(roles.filter((other: any) => other.parent_role_id === role.id).length),
        );
        const parent = roles.find((other: any) => other.id === role.parent_role_id);
        expect(role.level).toBe(parent ? parent.level + 1 : 1);
      }
      const paged = await readAllV1(fake, '/api/v1/roles?limit=2');
      expect(paged.pages).toBe(3);
      const salesTeam = await readAllV1(fake, '/api/v1/roles/2/assignments?limit=3');
      expect(salesTeam.records.map((row) => row.user_id)).toEqual(
        ids(users.filter((user) => user.role_id === 2)),
      );
      expect(fake.stats.byEndpoint['GET /api/v1/roles/{id}/assignments'].tokens).toBe(
        10 * salesTeam.pages,
      );

      fake.assignRole(3, 4);
      const moved = await call(fake, '/api/v1/roles/4/assignments');
      expect(moved.body.data).toEqual([
        {
          user_id: 3,
          role_id: 4,
          parent_role_id: 1,
          name: 'Customer Success',
          active_flag: true,
          type: '1',
        },
      ]);
      fake.remove('roles', 5);
      expect(ids((await call(fake, '/api/v1/roles')).body.data)).not.toContain(5);
      expect((await call(fake, '/api/v1/roles/5/assignments')).status).toBe(404);
      expect((await call(fake, '/api/v1/roles/99/assignments')).status).toBe(404);
      const added = fake.insert('roles', { name: 'Partners', parent_role_id: 4 });
      const withAdded = (await call(fake, '/api/v1/roles')).body.data;
      expect(withAdded.find((role: any) => role.id === added.id)).toMatchObject({ level: 3 });
      expect(withAdded.find((role: any) => role.id === 4).sub_role_count).toBe('1');
    });
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
      // Columns the connector adds: flags of its own, and the parent version of a child row.
      const derived: Record<string, string[]> = {
        projects: ['is_deleted', 'is_archived'],
        deal_installments: ['deal_update_time'],
        deal_participants: ['deal_update_time'],
        deal_followers: ['deal_update_time'],
        person_followers: ['person_update_time'],
        organization_followers: ['organization_update_time'],
        product_followers: ['product_update_time'],
        product_variations: ['product_update_time'],
      };
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
