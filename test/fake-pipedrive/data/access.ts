import { Rng } from '../random';
import { JsonObject, Sizes } from '../types';

/**
 * Permission sets (`/v1/permissionSets`) and roles (`/v1/roles`): who may do what. Both are
 * admin-only in Pipedrive. Their assignments are not stored apart: a permission set's users
 * are the users whose `access` names it, a role's users those whose `role_id` is it, so the
 * users list and the assignment endpoints always agree.
 */

export const PERMISSION_APPS = [
  'sales',
  'projects',
  'campaigns',
  'global',
  'account_settings',
] as const;
export type PermissionApp = (typeof PERMISSION_APPS)[number];

interface PermissionSetSpec {
  app: PermissionApp;
  type: 'admin' | 'manager' | 'regular' | 'custom';
  name: string;
  description: string;
}

/** The sets Pipedrive pre-creates, plus one custom set (custom sets depend on the plan). */
const PERMISSION_SETS: PermissionSetSpec[] = [
  {
    app: 'sales',
    type: 'admin',
    name: 'Deals admin',
    description: 'See and edit all sales data and manage the company-level sales setup',
  },
  {
    app: 'sales',
    type: 'regular',
    name: 'Deals regular user',
    description: 'Access to sales data; the default for new users',
  },
  {
    app: 'sales',
    type: 'manager',
    name: 'Deals manager',
    description: 'Regular access plus the deals of the managed teams',
  },
  {
    app: 'sales',
    type: 'custom',
    name: 'Deals read-only',
    description: 'Sees sales data, cannot change it',
  },
  {
    app: 'global',
    type: 'admin',
    name: 'Global admin',
    description: 'See and edit all cross-product data and access related features',
  },
  {
    app: 'global',
    type: 'regular',
    name: 'Global regular user',
    description: 'Access to cross-product data; the default for new users',
  },
  {
    app: 'account_settings',
    type: 'admin',
    name: 'Account settings',
    description: 'Billing, security center, company settings and user management',
  },
  {
    app: 'projects',
    type: 'admin',
    name: 'Projects admin',
    description: 'See and edit all projects',
  },
  {
    app: 'projects',
    type: 'regular',
    name: 'Projects regular user',
    description: 'Access to projects; the default for new users',
  },
  {
    app: 'campaigns',
    type: 'regular',
    name: 'Campaigns regular user',
    description: 'Create and send campaigns',
  },
];

export function permissionSetId(seed: number, index: number): string {
  return Rng.for(seed, 'permission-set', index).uuid();
}

export function buildPermissionSets(seed: number): JsonObject[] {
  return PERMISSION_SETS.map((spec, index) => ({
    id: permissionSetId(seed, index),
    name: spec.name,
    description: spec.description,
    app: spec.app,
    type: spec.type,
  }));
}

function setIdOf(seed: number, app: PermissionApp, type: PermissionSetSpec['type']): string {
  const index = PERMISSION_SETS.findIndex((spec) => spec.app === app && spec.type === type);
  return permissionSetId(seed, index);
}

/**
 * A user's `access` list (as `/v1/users` shows it), pointing at the generated permission sets:
 * the account owner administers everything, every third user manages sales.
 */
export function userAccess(seed: number, userId: number): JsonObject[] {
  if (userId === 1) {
    return [
      { app: 'sales', admin: true, permission_set_id: setIdOf(seed, 'sales', 'admin') },
      { app: 'global', admin: true, permission_set_id: setIdOf(seed, 'global', 'admin') },
      {
        app: 'account_settings',
        admin: true,
        permission_set_id: setIdOf(seed, 'account_settings', 'admin'),
      },
    ];
  }
  const salesType = userId % 3 === 0 ? 'manager' : userId % 5 === 0 ? 'custom' : 'regular';
  return [
    { app: 'sales', admin: false, permission_set_id: setIdOf(seed, 'sales', salesType) },
    { app: 'global', admin: false, permission_set_id: setIdOf(seed, 'global', 'regular') },
  ];
}

const ROLE_NAMES = ['Leadership', 'Sales', 'Sales EMEA', 'Customer Success', 'Sales Americas'];

/**
 * A role tree: role 1 is the top, every other role hangs below an earlier one. Users carry
 * role_id 1 (the owner) or 2 (everyone else), so both have assignments.
 */
export function buildRoles(sizes: Sizes): JsonObject[] {
  const parents = [null, 1, 2, 1, 2];
  const roles: JsonObject[] = [];
  for (let id = 1; id <= sizes.roles; id++) {
    const known = id <= ROLE_NAMES.length;
    roles.push({
      id,
      parent_role_id: known ? parents[id - 1] : 1 + ((id * 7) % (id - 1)),
      name: known ? ROLE_NAMES[id - 1] : `Region ${id}`,
      active_flag: true,
    });
  }
  return roles;
}
