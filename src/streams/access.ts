import { ResourceGoneError } from '../errors';
import type { OptionalAccess, Row } from './base';
import { v1Table } from './base';
import type { PerParentDeclaration, PerParentFanOutStream } from './fanout';

/** Pipedrive shows roles and permission sets to admins only; other tokens get 403. */
const ADMIN_ONLY: OptionalAccess = { statuses: [403], missing: 'admin rights' };

/**
 * Every row of a per-parent v1 list. 404 means none: "If the user ID has no assignments, then
 * it will return NotFound" (the OpenAPI file), and a role or set deleted meanwhile has none.
 */
async function assignmentsOf(stream: PerParentFanOutStream, path: string): Promise<Row[]> {
  const rows: Row[] = [];
  try {
    for await (const page of stream.client.paginateV1(path, {}, stream.name)) {
      rows.push(...page.records);
    }
  } catch (error) {
    if (error instanceof ResourceGoneError && error.status === 404 && rows.length === 0) return [];
    throw error;
  }
  return rows;
}

/** GET /v1/permissionSets (one answer, no paging). */
export const permissionSets = v1Table({
  name: 'permission_sets',
  primaryKey: 'id',
  path: '/permissionSets',
  paged: false,
  optional: ADMIN_ONLY,
});

/** GET /v1/permissionSets/{id}/assignments for every set: its users. */
export const permissionSetAssignments: PerParentDeclaration = {
  name: 'permission_set_assignments',
  parent: 'permission_sets',
  primaryKey: ['permission_set_id', 'user_id'],
  tokensPerParent: 20,
  optional: ADMIN_ONLY,
  async read(set, stream) {
    const rows = await assignmentsOf(
      stream,
      `/permissionSets/${encodeURIComponent(String(set.id))}/assignments`,
    );
    return rows.map((row) => ({ ...row, permission_set_id: set.id }));
  },
};

/** GET /v1/roles (paged). */
export const roles = v1Table({
  name: 'roles',
  primaryKey: 'id',
  path: '/roles',
  optional: ADMIN_ONLY,
});

/** GET /v1/roles/{id}/assignments for every role: its users (10 API tokens a call). */
export const roleAssignments: PerParentDeclaration = {
  name: 'role_assignments',
  parent: 'roles',
  primaryKey: ['role_id', 'user_id'],
  tokensPerParent: 10,
  optional: ADMIN_ONLY,
  async read(role, stream) {
    const rows = await assignmentsOf(stream, `/roles/${String(role.id)}/assignments`);
    return rows.map((row) => ({ ...row, role_id: role.id }));
  },
};
