import { GOAL_TYPES, goalProgress } from '../data/goals';
import { badRequest, notFound } from '../http/errors';
import { RecordFlag } from '../store/table';
import { parseDateOnly, toDateOnly } from '../time';
import { JsonObject } from '../types';
import {
  booleanParam,
  Endpoint,
  EndpointContext,
  EndpointResult,
  idList,
  oneOf,
  optionalInteger,
} from './common';

/**
 * `/v1/goals/find` and `/v1/goals/{id}/results`. Without any of the "everyone's goals"
 * parameters Pipedrive answers only the token user's own goals; `is_active` defaults to true.
 * Both answer with the goals service's envelope (`statusCode`, `statusText`, `service`).
 */

/** Parameters whose presence makes `/goals/find` search everyone's goals, per the file. */
const EVERYONE_PARAMETERS = [
  'type.name',
  'assignee.type',
  'expected_outcome.target',
  'expected_outcome.tracking_metric',
  'expected_outcome.currency_id',
  'type.params.pipeline_id',
  'type.params.stage_id',
  'type.params.activity_type_id',
];

function goalsAnswer(data: JsonObject): EndpointResult {
  return {
    body: {
      success: true,
      statusCode: 20000,
      statusText: 'OK',
      service: 'statistics-goals-api',
      data,
    },
  };
}

function dateParam(context: EndpointContext, name: string): string | undefined {
  const value = context.query[name];
  if (value === undefined || value === '') return undefined;
  const seconds = parseDateOnly(value);
  // Round-tripping rejects dates the parser would roll over (2026-02-30).
  if (seconds === null || toDateOnly(seconds) !== value) {
    throw badRequest(`Parameter '${name}' must be a date (YYYY-MM-DD)`);
  }
  return value;
}

function numberParam(context: EndpointContext, name: string): number | undefined {
  const value = context.query[name];
  if (value === undefined || value === '') return undefined;
  if (!/^-?\d+(\.\d+)?$/.test(value)) throw badRequest(`Parameter '${name}' must be a number`);
  return Number(value);
}

function liveGoals(context: EndpointContext): JsonObject[] {
  const table = context.store.table('goals');
  const goals: JsonObject[] = [];
  for (let slot = 0; slot < table.size; slot++) {
    if (table.flags(slot) & (RecordFlag.deleted | RecordFlag.purged)) continue;
    goals.push(table.record(slot));
  }
  return goals;
}

function tokenUserId(context: EndpointContext): unknown {
  return [...context.store.iterate('users')].find((user) => user.is_you === true)?.id;
}

function findGoals(context: EndpointContext): EndpointResult {
  const { query } = context;
  const typeName = query['type.name'] ? oneOf(query, 'type.name', GOAL_TYPES, 'deals_won') : null;
  const assigneeType = query['assignee.type']
    ? oneOf(query, 'assignee.type', ['person', 'company', 'team'] as const, 'person')
    : null;
  const metric = query['expected_outcome.tracking_metric']
    ? oneOf(query, 'expected_outcome.tracking_metric', ['quantity', 'sum'] as const, 'quantity')
    : null;
  const isActive = booleanParam(query, 'is_active') ?? true;
  const assigneeId = optionalInteger(query, 'assignee.id');
  const target = numberParam(context, 'expected_outcome.target');
  const currencyId = optionalInteger(query, 'expected_outcome.currency_id');
  const pipelineIds = idList(query, 'type.params.pipeline_id');
  const stageId = optionalInteger(query, 'type.params.stage_id');
  const activityTypeIds = idList(query, 'type.params.activity_type_id');
  const periodStart = dateParam(context, 'period.start');
  const periodEnd = dateParam(context, 'period.end');
  if ((periodStart === undefined) !== (periodEnd === undefined)) {
    throw badRequest(`Parameters 'period.start' and 'period.end' must be given together`);
  }
  const everyone = EVERYONE_PARAMETERS.some((name) => (query[name] ?? '') !== '');
  const me = tokenUserId(context);
  const includesAll = (have: unknown, wanted: number[] | undefined) =>
    wanted === undefined || (Array.isArray(have) && wanted.every((id) => have.includes(id)));

  const goals = liveGoals(context).filter((goal) => {
    const type = goal.type as JsonObject;
    const params = (type.params ?? {}) as JsonObject;
    const assignee = goal.assignee as JsonObject;
    const outcome = goal.expected_outcome as JsonObject;
    const duration = goal.duration as JsonObject;
    if (goal.is_active !== isActive) return false;
    if (assigneeId !== undefined) {
      if (assignee.id !== assigneeId || assignee.type !== (assigneeType ?? 'person')) return false;
    } else if (!everyone && !(assignee.type === 'person' && assignee.id === me)) {
      return false;
    }
    if (query.title !== undefined && query.title !== '' && goal.title !== query.title) return false;
    if (typeName !== null && type.name !== typeName) return false;
    if (assigneeType !== null && assignee.type !== assigneeType) return false;
    if (metric !== null && outcome.tracking_metric !== metric) return false;
    if (target !== undefined && outcome.target !== target) return false;
    if (currencyId !== undefined && outcome.currency_id !== currencyId) return false;
    if (stageId !== undefined && params.stage_id !== stageId) return false;
    if (!includesAll(params.pipeline_id, pipelineIds)) return false;
    if (!includesAll(params.activity_type_id, activityTypeIds)) return false;
    if (periodStart !== undefined && periodEnd !== undefined) {
      const end = duration.end as string | null;
      if ((duration.start as string) > periodEnd || (end !== null && end < periodStart)) {
        return false;
      }
    }
    return true;
  });
  return goalsAnswer({ goals });
}

function goalResults(context: EndpointContext): EndpointResult {
  const goal = liveGoals(context).find((candidate) => candidate.id === context.params.id);
  if (!goal) throw notFound('Goal not found');
  const start = dateParam(context, 'period.start');
  const end = dateParam(context, 'period.end');
  if (start === undefined || end === undefined) {
    throw badRequest(`Parameters 'period.start' and 'period.end' are required`);
  }
  const duration = goal.duration as JsonObject;
  if (start > end) throw badRequest(`'period.start' must not be after 'period.end'`);
  if (start < (duration.start as string)) {
    throw badRequest(`'period.start' must be on or after the goal's start (${duration.start})`);
  }
  if (duration.end !== null && end > (duration.end as string)) {
    throw badRequest(`'period.end' must be on or before the goal's end (${duration.end})`);
  }
  const today = toDateOnly(context.nowSeconds);
  const progress = goalProgress(context.store.context.seed, goal, start, end, today);
  return goalsAnswer({ progress, goal });
}

export const goalEndpoints: Endpoint[] = [
  { version: 'v1', path: '/goals/find', cost: 20, handle: findGoals },
  { version: 'v1', path: '/goals/{id}/results', cost: 20, handle: goalResults },
];
