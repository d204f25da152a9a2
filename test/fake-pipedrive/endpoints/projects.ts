import { PROJECT_STATUSES, ProjectStatus } from '../data/projects';
import { ApiError, badRequest, notFound } from '../http/errors';
import { JsonObject } from '../types';
import {
  booleanParam,
  commaList,
  cursorPageOfRecords,
  Endpoint,
  EndpointContext,
  EndpointResult,
  ok,
  optionalInteger,
} from './common';
import { idCursorSort } from './id-cursor';

/**
 * The Projects add-on (v1): `/projects` and `/tasks` are cursor paged (unlike the rest of v1),
 * boards and phases are plain lists. Without the add-on every one of them answers the status
 * `fake.setProjectsAddon(false, status)` chose.
 */

const DEFAULT_STATUSES: ProjectStatus[] = ['open', 'completed', 'canceled'];

function requireAddon(context: EndpointContext): void {
  const status = context.store.projects.missingAddonStatus;
  if (status !== null) {
    throw new ApiError(status, 'The Projects add-on is not enabled for this company');
  }
}

/** The file declares `additional_data: null` for the unpaged lists. */
function unpaged(data: JsonObject[]): EndpointResult {
  return { body: { success: true, data, additional_data: null } };
}

function projectStatuses(context: EndpointContext): Set<string> {
  const statuses = commaList(context.query, 'status') ?? DEFAULT_STATUSES;
  for (const status of statuses) {
    if (!PROJECT_STATUSES.includes(status as ProjectStatus)) {
      throw badRequest(
        `Parameter 'status' must be a comma separated list of: ${PROJECT_STATUSES.join(', ')}`,
      );
    }
  }
  return new Set(statuses);
}

/** `parent_task_id=null` keeps top-level tasks, an id that task's subtasks. */
function parentFilter(context: EndpointContext): ((task: JsonObject) => boolean) | undefined {
  const value = context.query.parent_task_id;
  if (value === undefined || value === '') return undefined;
  if (value === 'null') return (task) => task.parent_task_id === null;
  const parentId = optionalInteger(context.query, 'parent_task_id');
  return (task) => task.parent_task_id === parentId;
}

/** The file's `numberBoolean`: 0 or 1, nothing else. */
function doneParam(query: Record<string, string>): number | undefined {
  const value = query.done;
  if (value === undefined || value === '') return undefined;
  if (value !== '0' && value !== '1') throw badRequest(`Parameter 'done' must be 0 or 1`);
  return Number(value);
}

function byOrder(left: JsonObject, right: JsonObject): number {
  return (
    (left.order_nr as number) - (right.order_nr as number) ||
    (left.id as number) - (right.id as number)
  );
}

export const projectEndpoints: Endpoint[] = [
  {
    version: 'v1',
    path: '/projects',
    cost: 20,
    handle(context) {
      requireAddon(context);
      const statuses = projectStatuses(context);
      const includeArchived = booleanParam(context.query, 'include_archived') ?? false;
      const phaseId = optionalInteger(context.query, 'phase_id');
      // Validated like Pipedrive's integer parameters; saved filters are not simulated.
      optionalInteger(context.query, 'filter_id');
      const sort = idCursorSort(context.query);
      const projects = context.store.projects
        .list('projects')
        .filter(
          (project) =>
            statuses.has(project.status as string) &&
            (includeArchived || project.archive_time === null) &&
            (phaseId === undefined || project.phase_id === phaseId),
        );
      const page = cursorPageOfRecords(projects, sort);
      return ok(page.data, { next_cursor: page.nextCursor });
    },
  },
  {
    version: 'v1',
    path: '/tasks',
    cost: 20,
    handle(context) {
      requireAddon(context);
      const { query } = context;
      const assigneeId = optionalInteger(query, 'assignee_id');
      const projectId = optionalInteger(query, 'project_id');
      const parent = parentFilter(context);
      const done = doneParam(query);
      // "If not provided, up to 500 items will be returned", unlike the 100 of /projects.
      const sort = idCursorSort(query, 500);
      const tasks = context.store.projects
        .list('tasks')
        .filter(
          (task) =>
            (assigneeId === undefined || task.assignee_id === assigneeId) &&
            (projectId === undefined || task.project_id === projectId) &&
            (!parent || parent(task)) &&
            (done === undefined || task.done === done),
        );
      const page = cursorPageOfRecords(tasks, sort);
      return ok(page.data, { next_cursor: page.nextCursor });
    },
  },
  {
    version: 'v1',
    path: '/projects/boards',
    cost: 20,
    handle(context) {
      requireAddon(context);
      return unpaged([...context.store.projects.list('projectBoards')].sort(byOrder));
    },
  },
  {
    version: 'v1',
    path: '/projects/phases',
    cost: 20,
    handle(context) {
      requireAddon(context);
      const boardId = optionalInteger(context.query, 'board_id');
      if (boardId === undefined) throw badRequest(`Parameter 'board_id' is required`);
      if (!context.store.projects.find('projectBoards', boardId)) {
        throw notFound('Board not found');
      }
      const phases = context.store.projects
        .list('projectPhases')
        .filter((phase) => phase.board_id === boardId)
        .sort(byOrder);
      return unpaged(phases);
    },
  },
];
