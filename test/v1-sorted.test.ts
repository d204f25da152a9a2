/**
 * Unit tests with a stubbed client: keyset paging of v1 lists sorted by update_time (no record
 * lost when records change between pages) and the teams_users fallback to
 * /legacyTeams/{id}/users.
 */
import { parseConfig } from '../src/config';
import { ResourceGoneError } from '../src/errors';
import type { PipedriveClient, Query } from '../src/pipedrive/client';
import { FieldDefinitionCache, type StreamServices } from '../src/streams/base';
import { TeamsUsers } from '../src/streams/teams';
import { readV1ByUpdateTime } from '../src/streams/v1-sorted';

interface Note {
  id: number;
  update_time: string;
}

const v1Time = (seconds: number): string =>
  new Date(seconds * 1000)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, '');

/** A v1 list endpoint over `rows`: sort=update_time ASC (id breaks ties), updated_since, offset. */
function stubList(rows: Note[], afterCall?: (call: number) => void) {
  const calls: Query[] = [];
  const client = {
    async get(_version: string, _path: string, query: Query) {
      calls.push(query);
      const since = query.updated_since ? Date.parse(String(query.updated_since)) : -Infinity;
      const matching = rows
        .filter((row) => Date.parse(row.update_time.replace(' ', 'T') + 'Z') >= since)
        .sort((a, b) => a.update_time.localeCompare(b.update_time) || a.id - b.id);
      const start = Number(query.start ?? 0);
      const limit = Number(query.limit ?? 100);
      const data = matching.slice(start, start + limit).map((row) => ({ ...row }));
      const more = start + limit < matching.length;
      afterCall?.(calls.length);
      return {
        success: true,
        data,
        additional_data: {
          pagination: { start, limit, more_items_in_collection: more, next_start: start + limit },
        },
      };
    },
  } as unknown as PipedriveClient;
  return { client, calls };
}

async function readAll(client: PipedriveClient, since?: string): Promise<Note[]> {
  const rows: Note[] = [];
  for await (const page of readV1ByUpdateTime(client, '/notes', since, 'notes')) {
    rows.push(...(page as Note[]));
  }
  return rows;
}

describe('readV1ByUpdateTime', () => {
  const base = Date.parse('2025-01-01T00:00:00Z') / 1000;

  test('records updated while pages are read are not lost (offset paging would skip one)', async () => {
    const rows: Note[] = Array.from({ length: 1200 }, (_, i) => ({
      id: i + 1,
      update_time: v1Time(base + i * 60),
    }));
    // After the first page, record 10 (already read) is updated: it moves to the end and every
    // later record shifts one place back.
    const { client, calls } = stubList(rows, (call) => {
      if (call === 1) rows[9].update_time = v1Time(base + 10_000_000);
    });
    const got = await readAll(client);
    expect(new Set(got.map((row) => row.id)).size).toBe(1200);
    // The updated record is read twice (before and after its change), nothing else.
    expect(got).toHaveLength(1201);
    expect(calls.length).toBe(3);
    expect(calls[1]).toMatchObject({ updated_since: '2025-01-01T08:19:00Z', start: 0 });
  });

  test('many records in one second: offset within the second, no duplicates', async () => {
    const rows: Note[] = Array.from({ length: 1300 }, (_, i) => ({
      id: i + 1,
      // 1100 records share one second.
      update_time: v1Time(i < 100 ? base + i : base + 100),
    }));
    const { client, calls } = stubList(rows);
    const got = await readAll(client);
    expect(got.map((row) => row.id)).toEqual(rows.map((row) => row.id));
    expect(calls.map((call) => [call.updated_since, call.start])).toEqual([
      [undefined, 0],
      ['2025-01-01T00:01:40Z', 0],
      ['2025-01-01T00:01:40Z', 500],
      ['2025-01-01T00:01:40Z', 1000],
    ]);
  });

  test('starts at updated_since, inclusive', async () => {
    const rows: Note[] = Array.from({ length: 10 }, (_, i) => ({
      id: i + 1,
      update_time: v1Time(base + i),
    }));
    const { client } = stubList(rows);
    const got = await readAll(client, '2025-01-01T00:00:05Z');
    expect(got.map((row) => row.id)).toEqual([6, 7, 8, 9, 10]);
  });
});

describe('teams_users', () => {
  function services(get: (path: string) => Promise<unknown>, log: string[]): StreamServices {
    const client = { get: (_v: string, path: string) => get(path) } as unknown as PipedriveClient;
    return {
      client,
      config: parseConfig({ api_token: 'test-token' }),
      logger: undefined as any,
      log: (level, message) => log.push(`${level} ${message}`),
      fields: new FieldDefinitionCache(client),
      syncStartedAt: new Date('2026-01-01T00:00:00Z'),
    };
  }

  test('teams without `users` read /legacyTeams/{id}/users; 404/410 skips the team with a warning', async () => {
    const log: string[] = [];
    const stream = new TeamsUsers(
      services(async (path) => {
        if (path === '/legacyTeams/2/users') return { success: true, data: [5, 6, 5] };
        throw new ResourceGoneError('gone', 410);
      }, log),
    );
    await stream.prepare();
    const rows = await stream.deriveRows([
      { id: 1, users: [1, 2], _ab_cdc_deleted_at: null },
      { id: 2, _ab_cdc_deleted_at: null },
      { id: 3, _ab_cdc_deleted_at: null },
    ]);
    expect(rows.map((row) => [row.team_id, row.user_id])).toEqual([
      [1, 1],
      [1, 2],
      [2, 5],
      [2, 6],
    ]);
    expect(log).toEqual([expect.stringMatching(/^WARN .*410.*team 3/)]);
  });
});
