import { badRequest, notFound } from '../http/errors';
import { TableName } from '../store/store';
import { JsonObject } from '../types';
import { commaList, Endpoint, EndpointContext, ok, v2List, V2ListOptions } from './common';

/**
 * The v2 lists that differ only by table, filters and sort fields: persons, organizations,
 * activities, products, pipelines and stages, plus their single-item reads.
 */

interface V2Entity {
  path: string;
  table: TableName;
  label: string;
  listCost: number;
  list: Omit<V2ListOptions, 'table'>;
}

const TIME_SORTS = ['id', 'update_time', 'add_time'] as const;

/** Activities keep their attendees, but Pipedrive only sends them when asked for. */
function withAttendees(context: EndpointContext): (record: JsonObject) => JsonObject {
  const requested = commaList(context.query, 'include_fields') ?? [];
  for (const field of requested) {
    if (field !== 'attendees') throw badRequest(`Parameter 'include_fields' must be: attendees`);
  }
  if (requested.includes('attendees')) {
    return (activity) => ({ ...activity, attendees: activity.attendees ?? [] });
  }
  return ({ attendees: _attendees, ...activity }) => activity;
}

const ENTITIES: V2Entity[] = [
  {
    path: '/persons',
    table: 'persons',
    label: 'Person',
    listCost: 10,
    list: {
      sortFields: TIME_SORTS,
      updatedFilters: true,
      equalityFilters: { owner_id: 'owner_id', org_id: 'org_id' },
      customFieldsParam: true,
    },
  },
  {
    path: '/organizations',
    table: 'organizations',
    label: 'Organization',
    listCost: 10,
    list: {
      sortFields: TIME_SORTS,
      updatedFilters: true,
      equalityFilters: { owner_id: 'owner_id' },
      customFieldsParam: true,
    },
  },
  {
    path: '/activities',
    table: 'activities',
    label: 'Activity',
    listCost: 10,
    list: {
      sortFields: [...TIME_SORTS, 'due_date'],
      updatedFilters: true,
      equalityFilters: {
        owner_id: 'owner_id',
        deal_id: 'deal_id',
        lead_id: 'lead_id',
        person_id: 'person_id',
        org_id: 'org_id',
        done: 'done',
      },
    },
  },
  {
    path: '/products',
    table: 'products',
    label: 'Product',
    listCost: 10,
    // `updated_since` arrived in Pipedrive's SDK 33, after the December 2025 OpenAPI file.
    list: {
      sortFields: ['id', 'name', 'add_time', 'update_time'],
      updatedFilters: true,
      equalityFilters: { owner_id: 'owner_id' },
      customFieldsParam: true,
    },
  },
  {
    path: '/pipelines',
    table: 'pipelines',
    label: 'Pipeline',
    listCost: 5,
    list: { sortFields: TIME_SORTS, updatedFilters: false },
  },
  {
    path: '/stages',
    table: 'stages',
    label: 'Stage',
    listCost: 5,
    list: {
      sortFields: [...TIME_SORTS, 'order_nr'],
      updatedFilters: false,
      equalityFilters: { pipeline_id: 'pipeline_id' },
    },
  },
];

function listEndpoint(entity: V2Entity): Endpoint {
  return {
    version: 'v2',
    path: entity.path,
    cost: entity.listCost,
    handle(context) {
      const present = entity.table === 'activities' ? withAttendees(context) : undefined;
      return v2List(context, { table: entity.table, ...entity.list, present });
    },
  };
}

function itemEndpoint(entity: V2Entity): Endpoint {
  return {
    version: 'v2',
    path: `${entity.path}/{id}`,
    cost: 1,
    handle(context) {
      const found = context.store.find(entity.table, Number(context.params.id));
      if (!found) throw notFound(`${entity.label} not found`);
      const present = entity.table === 'activities' ? withAttendees(context) : undefined;
      return ok(present ? present(found.record) : found.record);
    },
  };
}

export const v2EntityEndpoints: Endpoint[] = ENTITIES.flatMap((entity) => [
  listEndpoint(entity),
  itemEndpoint(entity),
]);
