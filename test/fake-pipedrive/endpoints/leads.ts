import { EntityTable, RecordFlag } from '../store/table';
import { JsonObject } from '../types';
import { Endpoint, EndpointContext, oneOf, v1List } from './common';

/** `/v1/leads` and `/v1/leads/archived`: offset paged, `sort`, inclusive `updated_since`. */

const LEAD_SORT_FIELDS = [
  'id',
  'title',
  'owner_id',
  'creator_id',
  'was_seen',
  'expected_close_date',
  'next_activity_id',
  'add_time',
  'update_time',
] as const;

type ArchivedStatus = 'archived' | 'not_archived' | 'all';

function leadList(context: EndpointContext, archivedStatus: ArchivedStatus, path: string) {
  const isArchived = (table: EntityTable<JsonObject>, slot: number) =>
    (table.flags(slot) & RecordFlag.archived) !== 0;
  return v1List(context, {
    table: 'leads',
    sortFields: LEAD_SORT_FIELDS,
    defaultSort: 'add_time',
    visible: (table, slot) =>
      archivedStatus === 'all' || isArchived(table, slot) === (archivedStatus === 'archived'),
    equalityFilters: {
      owner_id: 'owner_id',
      person_id: 'person_id',
      organization_id: 'organization_id',
    },
    updatedSince: true,
    // The leads service is newer than the rest of v1: an empty page is `[]`, not null.
    emptyAsNull: false,
    cacheKey: path,
  });
}

export const leadEndpoints: Endpoint[] = [
  {
    version: 'v1',
    path: '/leads',
    cost: 20,
    handle(context) {
      // `archived_status` is deprecated (gone from the OpenAPI file) but still answered.
      const status = oneOf(
        context.query,
        'archived_status',
        ['archived', 'not_archived', 'all'] as const,
        'not_archived',
      );
      return leadList(context, status, '/v1/leads');
    },
  },
  {
    version: 'v1',
    path: '/leads/archived',
    cost: 40,
    handle: (context) => leadList(context, 'archived', '/v1/leads/archived'),
  },
];
