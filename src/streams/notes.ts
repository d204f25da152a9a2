import { type RootDeclaration, UPDATE_TIME } from './base';

/**
 * GET /v1/notes sorted by update_time, incremental with `updated_since`. With
 * `notes_update_window_days` the read starts that many days before the saved cursor, so that
 * notes whose change did not move update_time past the cursor are read again.
 */
export const notes: RootDeclaration = {
  name: 'notes',
  primaryKey: 'id',
  cursor: UPDATE_TIME,
  passes: [{ key: UPDATE_TIME, reader: 'v1-updated-since', path: '/notes' }],
  lookbackMs: (config) => config.notes_update_window_days * 86_400_000,
  // Deleted notes and leads leave the lists (leads are purged): id-only passes find them.
  deletes: {},
  shape(row) {
    // Seed names for the nested objects' fields.
    row.deal__title = row.deal?.title ?? null;
    row.organization__name = row.organization?.name ?? null;
    row.person__name = row.person?.name ?? null;
    row.project__title = row.project?.title ?? null;
    row.user__email = row.user?.email ?? null;
    row.user__name = row.user?.name ?? null;
    // v1 marks deleted notes with active_flag false (or 0).
    const active = row.active_flag;
    row.is_deleted = active === false || active === 0 || active === '0';
    return row;
  },
};
