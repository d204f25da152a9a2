import { DEAL_STATUSES, DealStatus } from '../data/deals';
import { badRequest, notFound } from '../http/errors';
import { FakeStore } from '../store/store';
import { EntityTable, RecordFlag } from '../store/table';
import { SECONDS_PER_DAY } from '../time';
import { JsonObject } from '../types';
import {
  commaList,
  cursorPageOfRecords,
  Endpoint,
  EndpointContext,
  idList,
  ok,
  v2List,
  v2Sort,
} from './common';

/** v2 deals, archived deals and deal products. */

const DEAL_SORT_FIELDS = ['id', 'update_time', 'add_time'] as const;
const DEAL_PRODUCT_SORT_FIELDS = ['id', 'deal_id', 'add_time', 'update_time', 'order_nr'] as const;
const DEAL_FILTERS = {
  owner_id: 'owner_id',
  person_id: 'person_id',
  org_id: 'org_id',
  pipeline_id: 'pipeline_id',
  stage_id: 'stage_id',
};
const DEAL_INCLUDE_FIELDS = [
  'next_activity_id',
  'last_activity_id',
  'first_won_time',
  'products_count',
  'files_count',
  'notes_count',
  'followers_count',
  'email_messages_count',
  'activities_count',
  'done_activities_count',
  'undone_activities_count',
  'participants_count',
  'last_incoming_mail_time',
  'last_outgoing_mail_time',
  'smart_bcc_email',
];
/** Pipedrive purges deleted deals after 30 days; until then `status=deleted` returns them. */
const DELETED_DEAL_RETENTION = 30 * SECONDS_PER_DAY;

function requestedStatuses(context: EndpointContext): Set<DealStatus> {
  const statuses = commaList(context.query, 'status') ?? ['open', 'won', 'lost'];
  for (const status of statuses) {
    if (!DEAL_STATUSES.includes(status as DealStatus)) {
      throw badRequest(
        `Parameter 'status' must be a comma separated list of: ${DEAL_STATUSES.join(', ')}`,
      );
    }
  }
  return new Set(statuses as DealStatus[]);
}

function dealVisibility(context: EndpointContext, archived: boolean) {
  const statuses = requestedStatuses(context);
  const oldestDeletion = context.nowSeconds - DELETED_DEAL_RETENTION;
  return (table: EntityTable<JsonObject>, slot: number): boolean => {
    const flags = table.flags(slot);
    if (((flags & RecordFlag.archived) !== 0) !== archived) return false;
    const status = DEAL_STATUSES[table.category(slot)];
    if (!statuses.has(status)) return false;
    return status !== 'deleted' || table.updateTime(slot) >= oldestDeletion;
  };
}

function includeFields(context: EndpointContext): (deal: JsonObject) => JsonObject {
  const requested = commaList(context.query, 'include_fields') ?? [];
  for (const field of requested) {
    if (!DEAL_INCLUDE_FIELDS.includes(field)) {
      throw badRequest(
        `Parameter 'include_fields' must be a list of: ${DEAL_INCLUDE_FIELDS.join(', ')}`,
      );
    }
  }
  if (requested.length === 0) return (deal) => deal;
  return (deal) => {
    const extra: JsonObject = {};
    for (const field of requested) {
      if (field === 'products_count') {
        extra[field] = context.store.dealProductsOf(deal.id as number).length;
      } else if (field === 'followers_count') {
        extra[field] = context.store.subresources.followersOf('deals', deal.id as number)?.length;
      } else if (field === 'participants_count') {
        extra[field] = context.store.subresources.dealParticipantsOf(deal.id as number)?.length;
      } else if (field === 'first_won_time') {
        extra[field] = deal.won_time;
      } else {
        // Not simulated: present, like in Pipedrive, but without a value.
        extra[field] = null;
      }
    }
    return { ...deal, ...extra };
  };
}

function dealList(context: EndpointContext, archived: boolean) {
  return v2List(context, {
    table: 'deals',
    sortFields: DEAL_SORT_FIELDS,
    updatedFilters: true,
    equalityFilters: DEAL_FILTERS,
    visible: dealVisibility(context, archived),
    present: includeFields(context),
    customFieldsParam: true,
  });
}

function dealOr404(store: FakeStore, id: string): JsonObject {
  const found = store.find('deals', Number(id));
  if (!found) throw notFound('Deal not found');
  return found.record;
}

export const dealEndpoints: Endpoint[] = [
  {
    version: 'v2',
    path: '/deals',
    cost: 10,
    handle: (context) => dealList(context, false),
  },
  {
    version: 'v2',
    path: '/deals/archived',
    cost: 20,
    handle: (context) => dealList(context, true),
  },
  {
    version: 'v2',
    path: '/deals/products',
    cost: 10,
    handle(context) {
      const dealIds = idList(context.query, 'deal_ids');
      if (!dealIds || dealIds.length === 0) throw badRequest(`Parameter 'deal_ids' is required`);
      const sort = v2Sort(context.query, DEAL_PRODUCT_SORT_FIELDS);
      const lines = [...new Set(dealIds)].flatMap((id) => context.store.dealProductsOf(id));
      const page = cursorPageOfRecords(lines, sort);
      return ok(page.data, { next_cursor: page.nextCursor });
    },
  },
  {
    version: 'v2',
    path: '/deals/{id}/products',
    cost: 10,
    handle(context) {
      dealOr404(context.store, context.params.id);
      const sort = v2Sort(context.query, ['id', 'add_time', 'update_time', 'order_nr']);
      const lines = context.store.dealProductsOf(Number(context.params.id));
      const page = cursorPageOfRecords(lines, sort);
      return ok(page.data, { next_cursor: page.nextCursor });
    },
  },
  {
    version: 'v2',
    path: '/deals/{id}',
    cost: 1,
    handle(context) {
      return ok(includeFields(context)(dealOr404(context.store, context.params.id)));
    },
  },
];
