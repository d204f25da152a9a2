import { ResourceGoneError } from '../errors';
import { toApiTime, toBoolean, toInteger } from '../normalize';
import { listData } from '../pipedrive/client';
import {
  ChildStream,
  DELETED_AT,
  type ReadRequest,
  type Row,
  type StreamPage,
  V1ListStream,
} from './base';

/**
 * GET /v1/legacyTeams (deprecated by Pipedrive). When the endpoint is gone (410, or 404) the
 * stream logs a warning and completes empty instead of failing the sync.
 */
export class Teams extends V1ListStream {
  get name(): string {
    return 'teams';
  }
  get primaryKey(): string {
    return 'id';
  }
  get path(): string {
    return '/legacyTeams';
  }

  protected override shape(row: Row): Row {
    const deleted = toBoolean(row.deleted_flag) === true;
    row.is_deleted = deleted;
    // Teams have no update_time: a deleted team is marked deleted as of this sync.
    row[DELETED_AT] = deleted ? toApiTime(this.services.syncStartedAt) : null;
    return row;
  }

  override async *readPages(request: ReadRequest): AsyncGenerator<StreamPage> {
    try {
      yield* super.readPages(request);
    } catch (error) {
      if (!(error instanceof ResourceGoneError)) throw error;
      this.log(
        'WARN',
        `Pipedrive answered ${error.status} for /v1/legacyTeams: legacy teams are no longer available for this account, so teams and teams_users are empty.`,
      );
    }
  }
}

/**
 * One row per (team, member): from the team's `users` ids, or from
 * GET /v1/legacyTeams/{id}/users when a team comes without them.
 */
export class TeamsUsers extends ChildStream {
  get name(): string {
    return 'teams_users';
  }
  get parentName(): string {
    return 'teams';
  }
  get primaryKey(): string[] {
    return ['team_id', 'user_id'];
  }

  async deriveRows(teams: Row[]): Promise<Row[]> {
    const rows: Row[] = [];
    for (const team of teams) {
      const ids = Array.isArray(team.users) ? team.users : await this.membersOf(team.id);
      const seen = new Set<number>();
      for (const raw of ids) {
        const userId = toInteger(raw);
        if (userId === null || seen.has(userId)) continue;
        seen.add(userId);
        const row = this.finish({ team_id: team.id, user_id: userId });
        row[DELETED_AT] = team[DELETED_AT] ?? null;
        rows.push(row);
      }
    }
    return rows;
  }

  private async membersOf(teamId: number): Promise<unknown[]> {
    const path = `/legacyTeams/${teamId}/users`;
    try {
      const body = await this.services.client.get('v1', path, {}, this.name);
      return listData(body, '/v1/legacyTeams/{id}/users');
    } catch (error) {
      if (!(error instanceof ResourceGoneError)) throw error;
      this.log(
        'WARN',
        `Pipedrive answered ${error.status} for the members of team ${teamId}: skipped.`,
      );
      return [];
    }
  }
}
