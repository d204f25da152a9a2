import { badRequest } from '../http/errors';
import { RecordFlag } from '../store/table';
import { parseDateOnly, parseRecordTime, SECONDS_PER_DAY } from '../time';
import { Endpoint, EndpointContext, v1List } from './common';

/** `/v1/notes`: offset paged, `sort`, inclusive `updated_since`, add-time date range. */

const NOTE_SORT_FIELDS = [
  'id',
  'user_id',
  'deal_id',
  'person_id',
  'org_id',
  'content',
  'add_time',
  'update_time',
] as const;

function dateParam(context: EndpointContext, name: string): number | undefined {
  const value = context.query[name];
  if (value === undefined || value === '') return undefined;
  const seconds = parseDateOnly(value);
  if (seconds === null) throw badRequest(`Parameter '${name}' must be a date (YYYY-MM-DD)`);
  return seconds;
}

export const noteEndpoints: Endpoint[] = [
  {
    version: 'v1',
    path: '/notes',
    cost: 20,
    handle(context) {
      const from = dateParam(context, 'start_date');
      const to = dateParam(context, 'end_date');
      const pinnedFilters = [
        'pinned_to_lead_flag',
        'pinned_to_deal_flag',
        'pinned_to_organization_flag',
        'pinned_to_person_flag',
        'pinned_to_project_flag',
      ].filter((name) => context.query[name] === '0' || context.query[name] === '1');
      const hasExtra = from !== undefined || to !== undefined || pinnedFilters.length > 0;
      return v1List(context, {
        table: 'notes',
        sortFields: NOTE_SORT_FIELDS,
        defaultSort: 'id',
        // Deleted notes disappear from the list (active_flag false).
        visible: (table, slot) => (table.flags(slot) & RecordFlag.deleted) === 0,
        equalityFilters: {
          user_id: 'user_id',
          deal_id: 'deal_id',
          person_id: 'person_id',
          org_id: 'org_id',
          lead_id: 'lead_id',
          project_id: 'project_id',
        },
        updatedSince: true,
        extraFilter: hasExtra
          ? (note) => {
              const added = parseRecordTime(note.add_time) ?? 0;
              if (from !== undefined && added < from) return false;
              if (to !== undefined && added >= to + SECONDS_PER_DAY) return false;
              return pinnedFilters.every(
                (name) => (note[name] === true) === (context.query[name] === '1'),
              );
            }
          : undefined,
        emptyAsNull: true,
        cacheKey: '/v1/notes',
      });
    },
  },
];
