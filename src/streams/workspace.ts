import { type RootDeclaration, UPDATE_TIME, v1Table } from './base';

/**
 * GET /v1/files newest first (at most 100 a page): Pipedrive has no server-side time filter for
 * files, so incremental runs stop at the first file older than the cursor. Deleted files
 * vanish from the list.
 */
export const files: RootDeclaration = {
  name: 'files',
  primaryKey: 'id',
  cursor: UPDATE_TIME,
  passes: [{ key: UPDATE_TIME, reader: 'v1-newest-first', path: '/files', limit: 100 }],
  // Deleted files leave the list: id-only passes find them.
  deletes: {},
};

/** GET /v1/filters: every filter the token user can see (one answer, no paging). */
export const filters = v1Table({
  name: 'filters',
  primaryKey: 'id',
  path: '/filters',
  paged: false,
});

/** GET /v1/callLogs: only the token user's call logs, at most 50 a page. */
export const callLogs = v1Table({
  name: 'call_logs',
  primaryKey: 'id',
  path: '/callLogs',
  limit: 50,
});

/** GET /v1/leadSources: the fixed list leads name in `source_name` (one answer, no paging). */
export const leadSources = v1Table({
  name: 'lead_sources',
  primaryKey: 'name',
  path: '/leadSources',
  paged: false,
});
