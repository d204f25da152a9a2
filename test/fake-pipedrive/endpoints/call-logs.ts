import { Endpoint, v1List } from './common';
import { withLimitCap } from './paging';

/**
 * `/v1/callLogs`: the call logs assigned to the token user only, offset paged with at most 50
 * a page. The file documents no order and no `sort`; the fake answers in call start order
 * and ignores `sort`.
 */

export const CALL_LOG_PAGE_CAP = 50;

export const callLogEndpoints: Endpoint[] = [
  {
    version: 'v1',
    path: '/callLogs',
    cost: 20,
    handle(context) {
      const me = [...context.store.iterate('users')].find((user) => user.is_you === true)?.id;
      const capped = withLimitCap(context, CALL_LOG_PAGE_CAP);
      return v1List(
        { ...capped, query: { ...capped.query, sort: '' } },
        {
          table: 'callLogs',
          sortFields: ['start_time'],
          defaultSort: 'start_time',
          updatedSince: false,
          extraFilter: (log) => log.user_id === me,
          emptyAsNull: false,
          cacheKey: `/v1/callLogs?user=${String(me)}`,
        },
      );
    },
  },
];
