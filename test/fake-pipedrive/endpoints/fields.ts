import { FieldEntity } from '../types';
import { Endpoint, v1ArrayPage } from './common';

/** `/v1/{entity}Fields`: standard and custom field definitions, offset paged. */

const FIELD_PATHS: Record<FieldEntity, string> = {
  deal: '/dealFields',
  person: '/personFields',
  organization: '/organizationFields',
  product: '/productFields',
  activity: '/activityFields',
};

export const fieldEndpoints: Endpoint[] = (Object.keys(FIELD_PATHS) as FieldEntity[]).map(
  (entity) => ({
    version: 'v1',
    path: FIELD_PATHS[entity],
    cost: 20,
    handle: (context) => v1ArrayPage(context, context.store.fields.definitions[entity], true),
  }),
);
