import { TransientError } from '../errors';
import { toApiTime } from '../normalize';
import { isPlainObject } from '../normalize';
import type { Envelope, PipedriveClient } from '../pipedrive/client';
import { type RootDeclaration, type Row, UPDATE_TIME } from './base';
import type { PerParentDeclaration } from './fanout';
import { handOverWhole } from './readers';

/**
 * Without one of its "everyone" parameters /goals/find answers only the token user's own
 * goals, and without is_active=false only the running ones: one call per assignee type and
 * state lists every goal of the company.
 */
const GOAL_QUERIES = (['person', 'team', 'company'] as const).flatMap((type) =>
  [true, false].map((active) => ({ 'assignee.type': type, is_active: active })),
);

/** The goals service answers `data: {goals: [...]}`; the OpenAPI file allows no null there. */
function goalsOf(body: Envelope): unknown[] | undefined {
  const data = body.data;
  return isPlainObject(data) && Array.isArray(data.goals) ? data.goals : undefined;
}

/** GET /v1/goals/find for every assignee type, running and ended goals (6 calls). */
export const goals: RootDeclaration = {
  name: 'goals',
  primaryKey: 'id',
  passes: [{ key: UPDATE_TIME, reader: 'v1', path: '/goals/find' }],
  async read(stream, pass, request) {
    const answers = await Promise.all(
      GOAL_QUERIES.map((query) =>
        stream.client.get('v1', pass.path, { ...pass.query, ...query }, stream.name, {
          validate: (body) => (goalsOf(body) ? undefined : "has no list under 'data.goals'"),
        }),
      ),
    );
    if (request.stopped()) return;
    // A goal that ended between two calls would come twice: the first answer is kept.
    const byId = new Map<string, Row>();
    const withoutId: Row[] = [];
    for (const answer of answers) {
      for (const goal of goalsOf(answer)!) {
        if (!isPlainObject(goal)) {
          throw new TransientError(
            `Pipedrive's response for GET /v1/goals/find has a goal that is not an object (${String(JSON.stringify(goal)).slice(0, 40)}).`,
          );
        }
        if (goal.id === null || goal.id === undefined) withoutId.push(goal);
        else if (!byId.has(String(goal.id))) byId.set(String(goal.id), goal);
      }
    }
    await handOverWhole(stream, pass, request, [...byId.values(), ...withoutId]);
  },
};

/** Today (UTC) on Pipedrive's clock when it is known: the day its results count up to. */
function pipedriveToday(client: PipedriveClient): string {
  const now = Date.now();
  return toApiTime(new Date(client.serverTimeLowerBound(now) ?? now)).slice(0, 10);
}

/** The goal's own period; an open-ended goal's runs to today (never before its start). */
export function goalPeriod(goal: Row, today: string): { start: string; end: string } | undefined {
  const duration = isPlainObject(goal.duration) ? goal.duration : {};
  const start = typeof duration.start === 'string' && duration.start ? duration.start : undefined;
  if (!start) return undefined;
  if (typeof duration.end === 'string' && duration.end) return { start, end: duration.end };
  return { start, end: today > start ? today : start };
}

/**
 * GET /v1/goals/{id}/results for every goal over its own period: one call per goal, ended goals
 * included (their final result), every sync.
 */
export const goalResults: PerParentDeclaration = {
  name: 'goal_results',
  parent: 'goals',
  primaryKey: 'goal_id',
  tokensPerParent: 20,
  async read(goal, stream) {
    const period = goalPeriod(goal, pipedriveToday(stream.client));
    if (!period) {
      stream.log('WARN', `goal ${String(goal.id)} has no duration.start: no results to ask for.`);
      return [];
    }
    const body = await stream.client.get(
      'v1',
      `/goals/${encodeURIComponent(String(goal.id))}/results`,
      { 'period.start': period.start, 'period.end': period.end },
      stream.name,
      { validate: (answer) => (isPlainObject(answer.data) ? undefined : "has no object 'data'") },
    );
    const data = body.data as Row;
    return [
      {
        goal_id: goal.id,
        period_start: period.start,
        period_end: period.end,
        progress: data.progress ?? null,
        goal: data.goal ?? null,
      },
    ];
  },
};
