import { FakeClock } from '../clock';
import { buildPermissionSets, buildRoles, permissionSetId } from '../data/access';
import { keysFromTimes } from '../data/account';
import { callLogSource } from '../data/call-logs';
import { arraySource, GenerationContext } from '../data/context';
import { buildFilters, fileSource } from '../data/files';
import { buildGoals, goalIdAt } from '../data/goals';
import { MailOwner, mailThreadSource } from '../data/mailbox';
import { JsonObject, RecordId } from '../types';
import { Mailbox } from './mailbox';
import type { FakeStore, TableBehaviour, TableName } from './store';
import { TableSource } from './table';

/**
 * The collections around the sales data: files, filters, goals, the token user's mailbox and
 * call logs, roles and permission sets. This module plugs them into the FakeStore (table
 * behaviour, generators, presentation) and derives what Pipedrive derives: joined names on
 * files, thread details from messages, assignment counts from the users.
 */

export type WorkspaceTable =
  'files' | 'filters' | 'goals' | 'mailThreads' | 'callLogs' | 'roles' | 'permissionSets';

const NO_TIMES = { timeStyle: 'none', updateField: null, addField: null } as const;

export const WORKSPACE_BEHAVIOUR: Record<WorkspaceTable, TableBehaviour> = {
  // "Marks a file as deleted" (purged 30 days later): hidden from `/files` meanwhile.
  files: {
    timeStyle: 'v1',
    updateField: 'update_time',
    addField: 'add_time',
    removal: { active_flag: false },
  },
  filters: {
    timeStyle: 'v1',
    updateField: 'update_time',
    addField: 'add_time',
    removal: { active_flag: false },
  },
  // Goals have no deleted field in the API; the marker only hides the goal.
  goals: { ...NO_TIMES, removal: { is_deleted: true } },
  mailThreads: {
    timeStyle: 'isoMillis',
    updateField: 'update_time',
    addField: 'add_time',
    removal: { deleted_flag: 1 },
  },
  // `DELETE /callLogs/{id}` deletes the log (and its recording) for good.
  callLogs: { ...NO_TIMES, removal: 'purge' },
  roles: { ...NO_TIMES, removal: { active_flag: false } },
  permissionSets: { ...NO_TIMES, removal: 'purge' },
};

export const WORKSPACE_INSERT_DEFAULTS: Partial<Record<WorkspaceTable, JsonObject>> = {
  files: { active_flag: true },
  filters: { active_flag: true },
  goals: { is_active: true },
  mailThreads: { deleted_flag: 0, archived_flag: 0 },
  roles: { active_flag: true },
};

export interface Workspace {
  sources: Record<WorkspaceTable, TableSource<JsonObject>>;
  mailbox: Mailbox;
}

export function createWorkspace(
  context: GenerationContext,
  users: JsonObject[],
  activityTypes: JsonObject[],
  clock: FakeClock,
): Workspace {
  const { seed, sizes, createdAt } = context;
  const me = users.find((user) => user.is_you === true) ?? users[0];
  const owner: MailOwner = {
    id: (me?.id as number | undefined) ?? 1,
    name: String(me?.name ?? ''),
    email: String(me?.email ?? ''),
  };
  const goals = buildGoals(seed, sizes, createdAt, {
    pipelineIds: Array.from({ length: sizes.pipelines }, (_, index) => index + 1),
    stageIds: context.stages.filter((stage) => stage.pipelineId === 1).map((stage) => stage.id),
    activityTypeIds: activityTypes.map((type) => type.id as number),
    teamIds: Array.from({ length: sizes.teams }, (_, index) => index + 1),
    meId: owner.id,
  });
  const permissionSets = buildPermissionSets(seed);
  const byTimes = (record: JsonObject) => keysFromTimes(record);
  const idOf = (records: JsonObject[], beyond: (slot: number) => string) => (slot: number) =>
    slot < records.length ? (records[slot].id as string) : beyond(slot);
  return {
    sources: {
      files: fileSource(context),
      filters: arraySource(buildFilters(seed, sizes, createdAt), byTimes),
      goals: arraySource(
        goals,
        byTimes,
        idOf(goals, (slot) => goalIdAt(seed, slot)),
      ),
      mailThreads: mailThreadSource(context, owner),
      callLogs: callLogSource(context, owner.id),
      roles: arraySource(buildRoles(sizes), byTimes),
      permissionSets: arraySource(
        permissionSets,
        byTimes,
        idOf(permissionSets, (slot) => permissionSetId(seed, slot)),
      ),
    },
    mailbox: new Mailbox(context, owner, clock),
  };
}

/** The record as the API shows it; records of other collections come back unchanged. */
export function presentWorkspaceRecord(
  store: FakeStore,
  name: TableName,
  record: JsonObject,
): JsonObject {
  switch (name) {
    case 'files':
      return presentFile(store, record);
    case 'mailThreads':
      return store.mailbox.present(store, record);
    case 'roles':
      return presentRole(store, record);
    case 'permissionSets':
      return {
        ...record,
        assignment_count: permissionSetAssignments(store, record.id as string)?.length ?? 0,
      };
    default:
      return record;
  }
}

function presentFile(store: FakeStore, file: JsonObject): JsonObject {
  const nameOf = (table: TableName, id: unknown, field: string) =>
    id === null || id === undefined
      ? null
      : ((store.find(table, id as RecordId)?.record[field] as string | undefined) ?? null);
  const { url, name, description, ...rest } = file;
  return {
    ...rest,
    deal_name: nameOf('deals', file.deal_id, 'title'),
    person_name: nameOf('persons', file.person_id, 'name'),
    org_name: nameOf('organizations', file.org_id, 'name'),
    product_name: nameOf('products', file.product_id, 'name'),
    lead_name: nameOf('leads', file.lead_id, 'title'),
    url,
    name,
    description,
  };
}

function presentRole(store: FakeStore, role: JsonObject): JsonObject {
  const roles = store.table('roles');
  const parentOf = new Map<unknown, unknown>();
  let subRoles = 0;
  for (let slot = 0; slot < roles.size; slot++) {
    const other = roles.record(slot);
    parentOf.set(other.id, other.parent_role_id);
    if (other.parent_role_id === role.id && other.active_flag !== false) subRoles++;
  }
  let level = 1;
  const seen = new Set<unknown>([role.id]);
  for (let parent = role.parent_role_id; parent != null && !seen.has(parent); level++) {
    seen.add(parent);
    parent = parentOf.get(parent);
  }
  const users = [...store.iterate('users')].filter((user) => user.role_id === role.id);
  // The file types both counts as strings, and its example answers '0', '1'.
  return {
    ...role,
    assignment_count: String(users.length),
    sub_role_count: String(subRoles),
    level,
  };
}

/** Users of an active role, as `/roles/{id}/assignments` lists them; undefined: no such role. */
export function roleAssignments(store: FakeStore, roleId: number): JsonObject[] | undefined {
  const role = store.find('roles', roleId)?.record;
  if (!role || role.active_flag === false) return undefined;
  return [...store.iterate('users')]
    .filter((user) => user.role_id === roleId)
    .map((user) => ({
      user_id: user.id,
      role_id: roleId,
      parent_role_id: role.parent_role_id,
      name: role.name,
      active_flag: role.active_flag,
      type: '1',
    }));
}

/** Users whose access names the set; undefined: no such set. */
export function permissionSetAssignments(
  store: FakeStore,
  permissionSetId: string,
): JsonObject[] | undefined {
  const set = store.find('permissionSets', permissionSetId)?.record;
  if (!set) return undefined;
  return [...store.iterate('users')]
    .filter((user) =>
      ((user.access ?? []) as JsonObject[]).some(
        (access) => access.permission_set_id === permissionSetId,
      ),
    )
    .map((user) => ({ user_id: user.id, permission_set_id: permissionSetId, name: set.name }));
}

/** Moves a user to a role (Pipedrive keeps one role per user); stamps the user's `modified`. */
export function assignRole(store: FakeStore, userId: number, roleId: number): JsonObject {
  if (!store.find('roles', roleId)) throw new Error(`No roles record with id ${roleId}`);
  return store.update('users', userId, { role_id: roleId });
}

/** Gives a user a permission set, replacing the user's set of the same app. */
export function assignPermissionSet(
  store: FakeStore,
  userId: number,
  permissionSetId: string,
): JsonObject {
  const set = store.find('permissionSets', permissionSetId)?.record;
  if (!set) throw new Error(`No permissionSets record with id ${permissionSetId}`);
  const user = store.find('users', userId)?.record;
  if (!user) throw new Error(`No users record with id ${userId}`);
  const others = ((user.access ?? []) as JsonObject[]).filter((access) => access.app !== set.app);
  const access = [
    ...others,
    { app: set.app, admin: set.type === 'admin', permission_set_id: permissionSetId },
  ];
  return store.update('users', userId, { access });
}
