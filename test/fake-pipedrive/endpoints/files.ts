import { FILTER_TYPES } from '../data/files';
import { RecordFlag } from '../store/table';
import { Endpoint, ok, oneOf, v1List } from './common';
import { withLimitCap } from './paging';

/**
 * `/v1/files`: offset paged, at most 100 a page, `sort` by id or update_time (no server-side
 * time filter); deleted files are left out. `/v1/filters`: every live filter, one page.
 */

export const FILE_PAGE_CAP = 100;

export const fileEndpoints: Endpoint[] = [
  {
    version: 'v1',
    path: '/files',
    cost: 20,
    handle: (context) =>
      v1List(withLimitCap(context, FILE_PAGE_CAP), {
        table: 'files',
        sortFields: ['id', 'update_time'],
        defaultSort: 'id',
        updatedSince: false,
        emptyAsNull: true,
        cacheKey: '/v1/files',
      }),
  },
  {
    version: 'v1',
    path: '/filters',
    cost: 20,
    handle(context) {
      const type = context.query.type
        ? oneOf(context.query, 'type', FILTER_TYPES, 'deals')
        : undefined;
      const table = context.store.table('filters');
      const filters = [];
      for (let slot = 0; slot < table.size; slot++) {
        if (table.flags(slot) & (RecordFlag.deleted | RecordFlag.purged)) continue;
        const filter = table.record(slot);
        if (type === undefined || filter.type === type) filters.push(filter);
      }
      return ok(filters);
    },
  },
];
