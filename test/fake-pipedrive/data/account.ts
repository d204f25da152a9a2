import { Rng } from '../random';
import { RecordKeys } from '../store/table';
import { parseRecordTime, SECONDS_PER_DAY, toIsoMillis, toV1Time, toV2Time } from '../time';
import { JsonObject, Sizes } from '../types';
import { userAccess } from './access';
import { StageInfo } from './context';
import { asciiSlug, CURRENCIES, FIRST_NAMES, LABEL_COLORS, LAST_NAMES } from './words';

/**
 * The small, account-level collections: users, legacy teams, pipelines, stages, activity types,
 * currencies and lead labels. They are built eagerly; none grows with the data volume.
 */

const DAY = SECONDS_PER_DAY;

/** Compact keys of a record whose times are `add_time`/`update_time` in any dialect. */
export function keysFromTimes(
  record: JsonObject,
  addField = 'add_time',
  updateField = 'update_time',
): RecordKeys {
  const addTime = parseRecordTime(record[addField]) ?? 0;
  const updateTime = parseRecordTime(record[updateField]) ?? addTime;
  const deleted = record.is_deleted === true || record.active_flag === false;
  return { addTime, updateTime, flags: deleted ? 1 : 0, category: 0 };
}

/** A user's name and e-mail, for records that show them without reading the user. */
export function userIdentity(id: number, companyDomain: string): { name: string; email: string } {
  const first = FIRST_NAMES[(id * 7) % FIRST_NAMES.length];
  const last = LAST_NAMES[(id * 3) % LAST_NAMES.length];
  return {
    name: `${first} ${last}`,
    email: `${asciiSlug(first)}.${asciiSlug(last)}${id}@${companyDomain}.example.com`,
  };
}

export function buildUsers(
  seed: number,
  sizes: Sizes,
  createdAt: number,
  companyDomain: string,
): JsonObject[] {
  const users: JsonObject[] = [];
  for (let id = 1; id <= sizes.users; id++) {
    const rng = Rng.for(seed, 'user', id);
    const { name, email } = userIdentity(id, companyDomain);
    const created = createdAt - rng.int(700, 1500) * DAY;
    const isOwner = id === 1;
    users.push({
      id,
      name,
      default_currency: 'EUR',
      locale: rng.pick(['en_US', 'et_EE', 'pt_BR', 'de_DE']),
      lang: 1,
      email,
      phone: rng.chance(0.5) ? `+372 5${rng.int(1_000_000, 9_999_999)}` : null,
      activated: true,
      // An invited user who never logged in: v1's zero-date placeholder, not null.
      last_login: id === 2 ? '0000-00-00 00:00:00' : toV1Time(createdAt - rng.int(1, 40) * DAY),
      created: toV1Time(created),
      // Never-modified users have no modification time at all.
      modified: rng.chance(0.8) ? toV1Time(created + rng.int(1, 600) * DAY) : null,
      has_created_company: isOwner,
      // Points at the generated permission sets, which list the same users as assigned.
      access: userAccess(seed, id),
      // The last user left the company: deactivated users are still listed.
      active_flag: !(id === sizes.users && sizes.users > 2),
      timezone_name: 'Europe/Tallinn',
      timezone_offset: '+03:00',
      role_id: isOwner ? 1 : 2,
      icon_url: rng.chance(0.5) ? `https://cdn.example.com/avatars/${id}.png` : null,
      is_you: isOwner,
      is_deleted: false,
      is_admin: isOwner ? 1 : 0,
      signup_flow_variation: isOwner ? 'default' : 'invite',
    });
  }
  return users;
}

export function userKeys(record: JsonObject): RecordKeys {
  return keysFromTimes(record, 'created', 'modified');
}

export function buildTeams(seed: number, sizes: Sizes, createdAt: number): JsonObject[] {
  const teams: JsonObject[] = [];
  const names = ['Sales EMEA', 'Sales Americas', 'Customer Success', 'Partnerships', 'SDR'];
  for (let id = 1; id <= sizes.teams; id++) {
    const rng = Rng.for(seed, 'team', id);
    const members: number[] = [];
    for (let user = 1; user <= sizes.users; user++) if (rng.chance(0.5)) members.push(user);
    const retired = id === sizes.teams && sizes.teams >= 3;
    teams.push({
      id,
      name: names[(id - 1) % names.length] + (id > names.length ? ` ${id}` : ''),
      description: rng.chance(0.6) ? 'Team of the regional sales office' : '',
      manager_id: members[0] ?? 1,
      users: members,
      active_flag: retired ? 0 : 1,
      deleted_flag: retired ? 1 : 0,
      add_time: toV1Time(createdAt - rng.int(200, 900) * DAY),
      created_by_user_id: 1,
    });
  }
  return teams;
}

export function buildPipelines(seed: number, sizes: Sizes, createdAt: number): JsonObject[] {
  const names = ['Sales', 'Partners', 'Renewals', 'Enterprise', 'Inbound'];
  const pipelines: JsonObject[] = [];
  for (let id = 1; id <= sizes.pipelines; id++) {
    const rng = Rng.for(seed, 'pipeline', id);
    const added = createdAt - rng.int(500, 900) * DAY;
    pipelines.push({
      id,
      name: names[(id - 1) % names.length] + (id > names.length ? ` ${id}` : ''),
      order_nr: id,
      is_selected: id === 1,
      is_deleted: false,
      is_deal_probability_enabled: rng.chance(0.5),
      add_time: toV2Time(added),
      update_time: toV2Time(added + rng.int(1, 400) * DAY),
    });
  }
  return pipelines;
}

export function buildStages(seed: number, sizes: Sizes, createdAt: number): JsonObject[] {
  const names = ['Qualified', 'Contact Made', 'Demo Scheduled', 'Proposal Made', 'Negotiations'];
  const stages: JsonObject[] = [];
  let id = 1;
  for (let pipelineId = 1; pipelineId <= sizes.pipelines; pipelineId++) {
    for (let order = 1; order <= sizes.stagesPerPipeline; order++, id++) {
      const rng = Rng.for(seed, 'stage', id);
      const added = createdAt - rng.int(500, 900) * DAY;
      const rotting = rng.chance(0.4);
      stages.push({
        id,
        order_nr: order,
        name: names[(order - 1) % names.length] + (order > names.length ? ` ${order}` : ''),
        is_deleted: false,
        deal_probability: Math.min(100, order * Math.round(100 / sizes.stagesPerPipeline)),
        pipeline_id: pipelineId,
        is_deal_rot_enabled: rotting,
        days_to_rotten: rotting ? rng.int(7, 60) : null,
        add_time: toV2Time(added),
        update_time: toV2Time(added + rng.int(1, 400) * DAY),
      });
    }
  }
  return stages;
}

export function stageInfo(stages: JsonObject[]): StageInfo[] {
  return stages.map((stage) => ({
    id: stage.id as number,
    pipelineId: stage.pipeline_id as number,
    orderNr: stage.order_nr as number,
    probability: stage.deal_probability as number,
  }));
}

const ACTIVITY_TYPES: Array<[key: string, name: string, icon: string]> = [
  ['call', 'Call', 'call'],
  ['meeting', 'Meeting', 'meeting'],
  ['task', 'Task', 'task'],
  ['deadline', 'Deadline', 'deadline'],
  ['email', 'Email', 'email'],
  ['lunch', 'Lunch', 'lunch'],
];

export function buildActivityTypes(seed: number, createdAt: number): JsonObject[] {
  const types: JsonObject[] = ACTIVITY_TYPES.map(([key, name, icon], index) => ({
    id: index + 1,
    name,
    icon_key: icon,
    color: null,
    order_nr: index + 1,
    key_string: key,
    active_flag: true,
    is_custom_flag: false,
    add_time: toV1Time(createdAt - 900 * DAY),
    update_time: toV1Time(createdAt - 900 * DAY),
  }));
  const rng = Rng.for(seed, 'activityTypes');
  types.push({
    id: types.length + 1,
    name: 'Product demo',
    icon_key: 'presentation',
    color: 'FFC107',
    order_nr: types.length + 1,
    key_string: 'product_demo',
    active_flag: true,
    is_custom_flag: true,
    add_time: toV1Time(createdAt - rng.int(100, 300) * DAY),
    update_time: toV1Time(createdAt - rng.int(1, 99) * DAY),
  });
  types.push({
    id: types.length + 1,
    name: 'Fax (retired)',
    icon_key: 'document',
    color: '9E9E9E',
    order_nr: types.length + 1,
    key_string: 'fax',
    active_flag: false,
    is_custom_flag: true,
    add_time: toV1Time(createdAt - 800 * DAY),
    update_time: toV1Time(createdAt - 400 * DAY),
  });
  return types;
}

export function buildCurrencies(): JsonObject[] {
  return CURRENCIES.map((currency, index) => ({
    id: index + 1,
    code: currency.code,
    name: currency.name,
    decimal_points: currency.decimals,
    symbol: currency.symbol,
    active_flag: true,
    is_custom_flag: false,
  }));
}

export function buildLeadLabels(seed: number, sizes: Sizes, createdAt: number): JsonObject[] {
  const names = ['Hot', 'Warm', 'Cold', 'Needs follow-up', 'Partner referral', 'Event'];
  const labels: JsonObject[] = [];
  for (let index = 0; index < sizes.leadLabels; index++) {
    const rng = Rng.for(seed, 'leadLabel', index);
    const added = createdAt - rng.int(100, 700) * DAY;
    labels.push({
      id: rng.uuid(),
      name: names[index % names.length] + (index >= names.length ? ` ${index}` : ''),
      color: LABEL_COLORS[index % LABEL_COLORS.length],
      add_time: toIsoMillis(added, rng.int(0, 999)),
      update_time: toIsoMillis(added + rng.int(0, 90) * DAY, rng.int(0, 999)),
    });
  }
  return labels;
}
