import { Rng } from '../random';
import { SECONDS_PER_DAY, toDateOnly } from '../time';
import { JsonObject, Sizes } from '../types';

/**
 * Goals (`/v1/goals/find`) and their progress (`/v1/goals/{id}/results`). Goal ids are 32-digit
 * hex strings. Progress is not stored: it is a deterministic tally per goal and day, counted
 * from the period's start up to the fake clock's day, so a later clock shows more progress.
 */

const DAY = SECONDS_PER_DAY;

/** The company id `/v1/users/me` reports; company goals are assigned to it. */
export const COMPANY_ID = 7_654_321;

export const GOAL_TYPES = [
  'deals_won',
  'deals_progressed',
  'activities_completed',
  'activities_added',
  'deals_started',
  'revenue_forecast',
] as const;

export const GOAL_INTERVALS = ['weekly', 'monthly', 'quarterly', 'yearly'] as const;

export function goalIdAt(seed: number, slot: number): string {
  return Rng.for(seed, 'goal-id', slot).hex(32);
}

export interface GoalReferences {
  pipelineIds: number[];
  /** Stage ids of the first pipeline (a deals_progressed goal tracks one stage). */
  stageIds: number[];
  activityTypeIds: number[];
  teamIds: number[];
  /** The token user: the first goals are theirs, so "your goals" is never empty. */
  meId: number;
}

export function buildGoals(
  seed: number,
  sizes: Sizes,
  createdAt: number,
  references: GoalReferences,
): JsonObject[] {
  const goals: JsonObject[] = [];
  const today = toDateOnly(createdAt);
  for (let slot = 0; slot < sizes.goals; slot++) {
    const rng = Rng.for(seed, 'goal', slot);
    const typeName = GOAL_TYPES[slot % GOAL_TYPES.length];
    const assignee = goalAssignee(slot, rng, sizes, references);
    // Most goals run now; every third one ended already (is_active false).
    const ended = slot % 3 === 2;
    const start = monthStart(createdAt - rng.int(ended ? 400 : 20, ended ? 700 : 300) * DAY);
    // Every fourth goal is open-ended: Pipedrive allows `end: null`.
    const end = slot % 4 === 3 ? null : monthEnd(start, ended ? rng.pick([3, 6]) : 12);
    const bySum = typeName === 'revenue_forecast' || (typeName === 'deals_won' && rng.chance(0.5));
    const params: JsonObject = {
      pipeline_id: rng.chance(0.6) ? pickSome(rng, references.pipelineIds) : null,
    };
    if (typeName === 'deals_progressed' && references.stageIds.length > 0) {
      params.stage_id = rng.pick(references.stageIds);
    }
    if (typeName === 'activities_completed' || typeName === 'activities_added') {
      params.activity_type_id = rng.chance(0.5) ? pickSome(rng, references.activityTypeIds) : null;
    }
    const expectedOutcome: JsonObject = bySum
      ? { target: rng.int(5, 200) * 1000, tracking_metric: 'sum', currency_id: 1 }
      : { target: rng.int(5, 120), tracking_metric: 'quantity' };
    goals.push({
      id: goalIdAt(seed, slot),
      owner_id: 1 + (slot % Math.max(1, Math.min(2, sizes.users))),
      title: `${titleOf(typeName)} ${assignee.type === 'company' ? 'company' : assignee.type} goal ${slot + 1}`,
      type: { name: typeName, params },
      assignee,
      interval: rng.pick(GOAL_INTERVALS),
      duration: { start: toDateOnly(start), end: end === null ? null : toDateOnly(end) },
      expected_outcome: expectedOutcome,
      is_active: end === null || toDateOnly(end) >= today,
      report_ids: [rng.hex(32)],
    });
  }
  return goals;
}

function goalAssignee(
  slot: number,
  rng: Rng,
  sizes: Sizes,
  references: GoalReferences,
): { id: number; type: string } {
  if (slot < 2) return { id: references.meId, type: 'person' };
  const roll = rng.next();
  if (roll < 0.25) return { id: COMPANY_ID, type: 'company' };
  if (roll < 0.45 && references.teamIds.length > 0) {
    return { id: rng.pick(references.teamIds), type: 'team' };
  }
  return { id: rng.int(1, Math.max(1, sizes.users)), type: 'person' };
}

function titleOf(typeName: string): string {
  const words = typeName.split('_').join(' ');
  return words[0].toUpperCase() + words.slice(1);
}

function pickSome(rng: Rng, ids: number[]): number[] {
  const picked = ids.filter(() => rng.chance(0.5));
  return picked.length > 0 ? picked : ids.slice(0, 1);
}

function monthStart(epochSeconds: number): number {
  const date = new Date(epochSeconds * 1000);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1) / 1000;
}

/** The last day of the `months`-long period that starts at `start`. */
function monthEnd(start: number, months: number): number {
  const date = new Date(start * 1000);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + months, 1) / 1000 - DAY;
}

/**
 * The goal's progress over [start, end] (dates, inclusive), counting only days up to `today`:
 * a tally per day (deals, activities, or money for `sum` goals), seeded by goal and day.
 */
export function goalProgress(
  seed: number,
  goal: JsonObject,
  start: string,
  end: string,
  today: string,
): number {
  const outcome = (goal.expected_outcome ?? {}) as JsonObject;
  const bySum = outcome.tracking_metric === 'sum';
  const last = end < today ? end : today;
  let progress = 0;
  for (let day = Date.parse(`${start}T00:00:00Z`) / 1000; toDateOnly(day) <= last; day += DAY) {
    const rng = Rng.for(seed, 'goal-progress', String(goal.id), day);
    if (!rng.chance(0.15)) continue;
    progress += bySum ? rng.int(1, 40) * 100 : 1;
  }
  return progress;
}
