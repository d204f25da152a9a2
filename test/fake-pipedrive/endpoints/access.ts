import { PERMISSION_APPS } from '../data/access';
import { notFound } from '../http/errors';
import { RecordFlag } from '../store/table';
import { permissionSetAssignments, roleAssignments } from '../store/workspace';
import { JsonObject } from '../types';
import { Endpoint, EndpointContext, ok, oneOf } from './common';
import { cappedArrayPage } from './paging';

/**
 * Permission sets and roles (admin-only in Pipedrive: `fake.denyPermission('/v1/roles')` makes
 * them answer 403 like a regular user's token). Assignments are derived from the users.
 */

function live(context: EndpointContext, name: 'roles' | 'permissionSets'): JsonObject[] {
  const table = context.store.table(name);
  const records: JsonObject[] = [];
  for (let slot = 0; slot < table.size; slot++) {
    if (table.flags(slot) & (RecordFlag.deleted | RecordFlag.purged)) continue;
    records.push(context.store.present(name, table.record(slot)));
  }
  return records;
}

export const accessEndpoints: Endpoint[] = [
  {
    version: 'v1',
    path: '/permissionSets',
    cost: 20,
    handle(context) {
      const app = context.query.app ? oneOf(context.query, 'app', PERMISSION_APPS, 'sales') : null;
      return ok(live(context, 'permissionSets').filter((set) => app === null || set.app === app));
    },
  },
  {
    version: 'v1',
    path: '/permissionSets/{id}/assignments',
    cost: 20,
    handle(context) {
      const assignments = permissionSetAssignments(context.store, context.params.id);
      // The file: "If the user ID has no assignments, then it will return NotFound".
      if (!assignments || assignments.length === 0) throw notFound('Permission set not found');
      return cappedArrayPage(context, assignments, { emptyAsNull: false });
    },
  },
  {
    version: 'v1',
    path: '/roles',
    cost: 20,
    handle: (context) => cappedArrayPage(context, live(context, 'roles'), { emptyAsNull: false }),
  },
  {
    version: 'v1',
    path: '/roles/{id}/assignments',
    cost: 10,
    handle(context) {
      const id = Number(context.params.id);
      const assignments = Number.isInteger(id) ? roleAssignments(context.store, id) : undefined;
      if (!assignments) throw notFound('Role not found');
      return cappedArrayPage(context, assignments, { emptyAsNull: false });
    },
  },
];
