import { type RootDeclaration, UPDATE_TIME } from './base';

/**
 * GET /v1/leads then GET /v1/leads/archived, both sorted by update_time and incremental with
 * `updated_since`; state `{update_time, archived_update_time}`. Leads carry the deal custom
 * fields, v1-shaped at the object root.
 */
export const leads: RootDeclaration = {
  name: 'leads',
  primaryKey: 'id',
  cursor: UPDATE_TIME,
  customFields: 'deal',
  customFieldsAt: 'v1',
  // Deleted notes and leads leave the lists (leads are purged): id-only passes find them.
  deletes: {},
  passes: [
    { key: UPDATE_TIME, reader: 'v1-updated-since', path: '/leads' },
    {
      key: 'archived_update_time',
      reader: 'v1-updated-since',
      path: '/leads/archived',
      mark: (row) => {
        row.is_archived = true;
      },
    },
  ],
  shape(row) {
    const value = row.value;
    row.value_amount = value && typeof value === 'object' ? (value.amount ?? null) : null;
    row.value_currency = value && typeof value === 'object' ? (value.currency ?? null) : null;
    return row;
  },
};
