import { toBoolean, toInteger } from '../normalize';
import { listData } from '../pipedrive/client';
import { DELETED_AT, type RootDeclaration, type Row, v1Table } from './base';
import { type PerParentDeclaration } from './fanout';

/** Pipedrive answers 410 (or 404) once legacy teams are gone for an account. */
const LEGACY_TEAMS_GONE = {
  statuses: [404, 410],
  missing: 'legacy teams (Pipedrive deprecated /v1/legacyTeams)',
};

/**
 * GET /v1/legacyTeams (deprecated by Pipedrive). When the endpoint is gone the stream and its
 * members complete empty with one warning instead of failing the sync.
 */
export const teams: RootDeclaration = v1Table({
  name: 'teams',
  primaryKey: 'id',
  path: '/legacyTeams',
  paged: false,
  optional: LEGACY_TEAMS_GONE,
  shape(row) {
    const deleted = toBoolean(row.deleted_flag) === true;
    row.is_deleted = deleted;
    // Teams have no update_time: a deleted team's deletion time is its add_time, which is the
    // same on every read (two full reads of unchanged data must be identical).
    row[DELETED_AT] = deleted ? (row.add_time ?? null) : null;
    return row;
  },
});

/**
 * One row per (team, member): from the team's `users` ids, or from
 * GET /v1/legacyTeams/{id}/users when a team comes without them.
 */
export const teamsUsers: PerParentDeclaration = {
  name: 'teams_users',
  parent: 'teams',
  primaryKey: ['team_id', 'user_id'],
  optional: LEGACY_TEAMS_GONE,
  async read(team, stream) {
    let ids: unknown[];
    if (Array.isArray(team.users)) {
      ids = team.users;
    } else {
      const body = await stream.client.get('v1', `/legacyTeams/${team.id}/users`, {}, stream.name);
      ids = listData(body, '/v1/legacyTeams/{id}/users');
    }
    const seen = new Set<number>();
    const rows: Row[] = [];
    for (const raw of ids) {
      const userId = toInteger(raw);
      if (userId === null || seen.has(userId)) continue;
      seen.add(userId);
      rows.push({ team_id: team.id, user_id: userId });
    }
    return rows;
  },
};
