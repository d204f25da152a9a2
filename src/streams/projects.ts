import { type OptionalAccess, type RootDeclaration, UPDATE_TIME, v1Table } from './base';
import { collectRecords, type PerParentDeclaration } from './fanout';

/**
 * Pipedrive's OpenAPI files document no answer for a company without the add-on; 402, 403 and
 * 404 have all been seen for add-on endpoints, so each of them means "not in this account".
 */
const PROJECTS_ADDON: OptionalAccess = {
  statuses: [402, 403, 404],
  missing: 'the Projects add-on',
};

/**
 * GET /v1/projects, every status and the archived ones too. The list has no updated_since and
 * pages in id order, so every run reads it whole; incremental runs emit only the projects
 * changed since the cursor, which is set once the whole list is read (see readV1Cursor).
 */
export const projects: RootDeclaration = {
  name: 'projects',
  primaryKey: 'id',
  cursor: UPDATE_TIME,
  optional: PROJECTS_ADDON,
  passes: [
    {
      key: UPDATE_TIME,
      reader: 'v1-cursor',
      path: '/projects',
      query: { status: 'open,completed,canceled,deleted', include_archived: true },
    },
  ],
  // Deleted projects are listed (status=deleted) until Pipedrive purges them; the id-only
  // pass catches those purged while no sync ran.
  deletes: { idQuery: () => ({ status: 'open,completed,canceled', include_archived: true }) },
  shape(row) {
    // Deleted projects stay listed with status=deleted: they become tombstones.
    row.is_deleted = row.status === 'deleted';
    row.is_archived = typeof row.archive_time === 'string' && row.archive_time !== '';
    return row;
  },
};

/** GET /v1/tasks (subtasks included), read whole like projects. */
export const tasks: RootDeclaration = {
  name: 'tasks',
  primaryKey: 'id',
  cursor: UPDATE_TIME,
  optional: PROJECTS_ADDON,
  passes: [{ key: UPDATE_TIME, reader: 'v1-cursor', path: '/tasks' }],
  // A deleted task is never listed again: id-only passes find it.
  deletes: {},
};

/** GET /v1/projects/boards: a handful of rows in one answer. */
export const projectBoards: RootDeclaration = v1Table({
  name: 'project_boards',
  primaryKey: 'id',
  path: '/projects/boards',
  paged: false,
  optional: PROJECTS_ADDON,
});

/** GET /v1/projects/phases?board_id= for every board (the endpoint requires a board). */
export const projectPhases: PerParentDeclaration = {
  name: 'project_phases',
  parent: 'project_boards',
  primaryKey: 'id',
  optional: PROJECTS_ADDON,
  tokensPerParent: 20,
  read: (board, stream) =>
    collectRecords(
      stream.client.paginateV1('/projects/phases', { board_id: board.id }, stream.name, {
        paged: false,
      }),
    ),
};
