import { Rng } from '../random';
import { parseRecordTime, SECONDS_PER_DAY, toDateOnly, toV1Time } from '../time';
import { JsonObject, Sizes } from '../types';
import { organizationName, personName } from './contacts';
import { GenerationContext, markEvenlySpread } from './context';
import { DEAL_TOPICS, NOTE_SNIPPETS } from './words';

/**
 * The Projects add-on in v1 shapes: boards, their phases, projects and tasks. These are
 * account-sized collections (a few hundred rows), so they are built in one go on first use
 * instead of row by row like deals.
 */

const DAY = SECONDS_PER_DAY;

export const PROJECT_STATUSES = ['open', 'completed', 'canceled', 'deleted'] as const;
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];

const BOARD_NAMES = ['Delivery', 'Onboarding', 'Implementation', 'Internal', 'Support'];
const PHASE_NAMES = ['Kick-off', 'Planning', 'Execution', 'Review', 'Handover', 'Done'];
const TASK_TITLES = [
  'Collect requirements',
  'Set up workspace',
  'Import customer data',
  'Configure SSO',
  'Train the team',
  'Go-live check',
  'Send invoice',
  'Schedule review call',
];

const ARCHIVED = 1;
const DELETED = 2;

/**
 * The projects service prints v1 times with milliseconds (`2023-09-12 11:12:18.110` in every
 * example of the file), unlike the rest of v1; boards and phases print whole seconds.
 */
export function toV1Millis(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 23).replace('T', ' ');
}

export interface ProjectData {
  boards: JsonObject[];
  phases: JsonObject[];
  projects: JsonObject[];
  tasks: JsonObject[];
}

export function totalProjectSlots(sizes: Sizes): number {
  return sizes.projects + sizes.archivedProjects + sizes.deletedProjects;
}

/**
 * Every project collection of the account. `dealAt` gives the generated deal of an id, so a
 * project linked to a deal is attached to that deal's organization and person.
 */
export function buildProjectData(
  context: GenerationContext,
  dealAt: (id: number) => JsonObject | undefined,
): ProjectData {
  const boards = buildBoards(context);
  const phases = buildPhases(context, boards);
  const projects = buildProjects(context, phases, dealAt);
  const tasks = buildTasks(context, projects);
  return { boards, phases, projects, tasks };
}

function buildBoards(context: GenerationContext): JsonObject[] {
  const boards: JsonObject[] = [];
  for (let id = 1; id <= context.sizes.projectBoards; id++) {
    const rng = Rng.for(context.seed, 'project-board', id);
    const added = context.createdAt - rng.int(600, 700) * DAY;
    boards.push({
      id,
      name: BOARD_NAMES[(id - 1) % BOARD_NAMES.length] + (id > BOARD_NAMES.length ? ` ${id}` : ''),
      order_nr: id,
      add_time: toV1Time(added),
      update_time: toV1Time(added + rng.int(0, 300) * DAY),
    });
  }
  return boards;
}

function buildPhases(context: GenerationContext, boards: JsonObject[]): JsonObject[] {
  const phases: JsonObject[] = [];
  for (const board of boards) {
    for (let order = 1; order <= context.sizes.projectPhasesPerBoard; order++) {
      const id = phases.length + 1;
      const rng = Rng.for(context.seed, 'project-phase', id);
      const added = (parseRecordTime(board.add_time) ?? context.createdAt) + rng.int(0, 30) * DAY;
      phases.push({
        id,
        name: PHASE_NAMES[(order - 1) % PHASE_NAMES.length],
        board_id: board.id,
        order_nr: order,
        add_time: toV1Time(added),
        update_time: toV1Time(added + rng.int(0, 200) * DAY),
      });
    }
  }
  return phases;
}

function buildProjects(
  context: GenerationContext,
  phases: JsonObject[],
  dealAt: (id: number) => JsonObject | undefined,
): JsonObject[] {
  const total = totalProjectSlots(context.sizes);
  // A project needs a board and a phase: an account without boards has no projects.
  if (phases.length === 0) return [];
  const kinds = new Uint8Array(total);
  markEvenlySpread(kinds, context.sizes.deletedProjects, DELETED, 0.5);
  markEvenlySpread(kinds, context.sizes.archivedProjects, ARCHIVED, 0.25);
  // Projects are younger than the CRM data: the last year.
  const start = context.createdAt - 365 * DAY;
  const projects: JsonObject[] = [];
  for (let slot = 0; slot < total; slot++) {
    const id = slot + 1;
    const rng = Rng.for(context.seed, 'project', slot);
    const updatedMs =
      (start + Math.floor((slot * (context.createdAt - 3600 - start)) / total)) * 1000 +
      rng.int(0, 999);
    const addedSeconds = Math.max(
      start - 60 * DAY,
      Math.floor(updatedMs / 1000) - rng.int(0, 120) * DAY,
    );
    const addedMs = Math.min(updatedMs, addedSeconds * 1000 + rng.int(0, 999));
    const phase = rng.pick(phases);
    const kind = kinds[slot];
    const roll = rng.next();
    let status: ProjectStatus = roll < 0.6 ? 'open' : roll < 0.9 ? 'completed' : 'canceled';
    if (kind === ARCHIVED) status = roll < 0.7 ? 'completed' : 'canceled';
    if (kind === DELETED) status = 'deleted';
    const statusChangedMs =
      status === 'open' ? addedMs : addedMs + Math.floor(rng.next() * (updatedMs - addedMs));
    const dealId =
      context.refs.deals > 0 && rng.chance(0.7) ? rng.int(1, context.refs.deals) : null;
    const deal = dealId !== null ? dealAt(dealId) : undefined;
    const orgId = (deal?.org_id as number | null | undefined) ?? null;
    const personId = (deal?.person_id as number | null | undefined) ?? null;
    const counterpart =
      orgId !== null
        ? organizationName(context.seed, orgId)
        : personId !== null
          ? personName(context.seed, personId).last
          : 'Internal';
    const startDate = Math.floor(addedMs / 1000) + rng.int(0, 10) * DAY;
    projects.push({
      id,
      title: `${counterpart} ${rng.pick(DEAL_TOPICS)}`,
      board_id: phase.board_id,
      phase_id: phase.id,
      description: rng.chance(0.5) ? rng.pick(NOTE_SNIPPETS) : null,
      status,
      owner_id: rng.int(1, Math.max(1, context.sizes.users)),
      start_date: toDateOnly(startDate),
      end_date: rng.chance(0.7) ? toDateOnly(startDate + rng.int(30, 180) * DAY) : null,
      deal_ids: dealId !== null ? [dealId] : [],
      org_id: orgId,
      person_id: personId,
      labels: rng.chance(0.3) ? [rng.int(1, 4)] : [],
      add_time: toV1Millis(addedMs),
      update_time: toV1Millis(updatedMs),
      status_change_time: toV1Millis(statusChangedMs),
      archive_time:
        kind === ARCHIVED
          ? toV1Millis(statusChangedMs + Math.floor(rng.next() * (updatedMs - statusChangedMs)))
          : null,
    });
  }
  return projects;
}

function buildTasks(context: GenerationContext, projects: JsonObject[]): JsonObject[] {
  const tasks: JsonObject[] = [];
  const max = context.sizes.tasksPerProjectMax;
  for (const project of projects) {
    const rng = Rng.for(context.seed, 'project-tasks', project.id as number);
    const count = max > 0 ? rng.int(0, max) : 0;
    const addedMs = Date.parse(`${String(project.add_time).replace(' ', 'T')}Z`);
    const updatedMs = Date.parse(`${String(project.update_time).replace(' ', 'T')}Z`);
    const topLevel: number[] = [];
    for (let index = 0; index < count; index++) {
      const id = tasks.length + 1;
      // One level deep only: Pipedrive refuses a subtask as a parent.
      const parent = topLevel.length > 0 && rng.chance(0.3) ? rng.pick(topLevel) : null;
      if (parent === null) topLevel.push(id);
      const taskAddedMs = addedMs + Math.floor(rng.next() * (updatedMs - addedMs));
      const taskUpdatedMs = taskAddedMs + Math.floor(rng.next() * (updatedMs - taskAddedMs));
      const done = project.status === 'completed' || rng.chance(0.4) ? 1 : 0;
      tasks.push({
        id,
        title: rng.pick(TASK_TITLES),
        project_id: project.id,
        description: rng.chance(0.4) ? 'See the project plan for details.' : null,
        parent_task_id: parent,
        assignee_id: rng.chance(0.8) ? rng.int(1, Math.max(1, context.sizes.users)) : null,
        done,
        due_date: rng.chance(0.7)
          ? toDateOnly(Math.floor(taskAddedMs / 1000) + rng.int(3, 60) * DAY)
          : null,
        creator_id: project.owner_id,
        add_time: toV1Millis(taskAddedMs),
        update_time: toV1Millis(taskUpdatedMs),
        marked_as_done_time: done === 1 ? toV1Millis(taskUpdatedMs) : null,
      });
    }
  }
  return tasks;
}
