import { buildProjectData, PROJECT_STATUSES, ProjectData, toV1Millis } from '../data/projects';
import { toV1Time } from '../time';
import { JsonObject } from '../types';
import type { FakeStore } from './store';

/**
 * The Projects add-on's collections and their mutations. Built on first use: most tests never
 * ask for projects and should not pay for generating them.
 */

export type ProjectCollection = 'projects' | 'tasks' | 'projectBoards' | 'projectPhases';

/** What an account without the add-on might get; Pipedrive's files document none of them. */
export type MissingAddonStatus = 402 | 403 | 404;

const DATA_KEY: Record<ProjectCollection, keyof ProjectData> = {
  projects: 'projects',
  tasks: 'tasks',
  projectBoards: 'boards',
  projectPhases: 'phases',
};

export class ProjectStore {
  /** null: the company has the Projects add-on; otherwise the status every endpoint answers. */
  missingAddonStatus: MissingAddonStatus | null = null;
  private data: ProjectData | null = null;
  /**
   * Removed tasks, boards and phases. Pipedrive marks them deleted, but no list shows deleted
   * ones and their records carry no deleted flag, so for a client they are simply gone.
   * Deleted projects instead keep answering with `status=deleted`.
   */
  private readonly removed: Record<Exclude<ProjectCollection, 'projects'>, Set<number>> = {
    tasks: new Set(),
    projectBoards: new Set(),
    projectPhases: new Set(),
  };

  constructor(private readonly store: FakeStore) {}

  /** What still exists: deleted and archived projects included, removed tasks etc. not. */
  list(kind: ProjectCollection): JsonObject[] {
    return this.records(kind).filter((record) => !this.isRemoved(kind, record.id as number));
  }

  find(kind: ProjectCollection, id: number): JsonObject | undefined {
    const record = this.records(kind).find((candidate) => candidate.id === id);
    return record && !this.isRemoved(kind, id) ? record : undefined;
  }

  insert(kind: ProjectCollection, partial: JsonObject): JsonObject {
    const records = this.records(kind);
    const id = records.reduce((max, record) => Math.max(max, record.id as number), 0) + 1;
    const record = { ...this.defaults(kind, id, partial), ...partial, id };
    this.checkReferences(kind, record);
    records.push(record);
    return structuredClone(record);
  }

  update(kind: ProjectCollection, id: number, patch: JsonObject): JsonObject {
    const before = this.require(kind, id);
    const after: JsonObject = { ...before, ...patch, id };
    const now = this.store.nowSeconds();
    if (!('update_time' in patch)) after.update_time = this.stamp(kind, now);
    if (kind === 'projects' && patch.status !== undefined && patch.status !== before.status) {
      if (!('status_change_time' in patch)) after.status_change_time = toV1Millis(now * 1000);
    }
    if (kind === 'tasks' && patch.done !== undefined && patch.done !== before.done) {
      if (!('marked_as_done_time' in patch)) {
        after.marked_as_done_time = patch.done === 1 ? toV1Millis(now * 1000) : null;
      }
    }
    this.checkReferences(kind, after);
    this.replace(kind, after);
    return structuredClone(after);
  }

  /** Projects become `status: deleted` (returned); tasks (with their subtasks), boards and phases vanish (null). */
  remove(kind: ProjectCollection, id: number): JsonObject | null {
    this.require(kind, id);
    if (kind === 'projects') return this.update('projects', id, { status: 'deleted' });
    this.removed[kind].add(id);
    if (kind === 'tasks') {
      for (const task of this.list('tasks')) {
        if (task.parent_task_id === id) this.removed.tasks.add(task.id as number);
      }
    }
    return null;
  }

  archive(id: number): JsonObject {
    const now = this.store.nowSeconds();
    return this.update('projects', id, { archive_time: toV1Millis(now * 1000) });
  }

  private records(kind: ProjectCollection): JsonObject[] {
    if (!this.data) {
      const deals = this.store.table('deals');
      // Generated rows, not the current ones: the data must not depend on when it is first read.
      this.data = buildProjectData(this.store.context, (id) =>
        id >= 1 && id <= this.store.context.refs.deals ? deals.baseRecord(id - 1) : undefined,
      );
    }
    return this.data[DATA_KEY[kind]];
  }

  private isRemoved(kind: ProjectCollection, id: number): boolean {
    return kind !== 'projects' && this.removed[kind].has(id);
  }

  private require(kind: ProjectCollection, id: number): JsonObject {
    const record = this.find(kind, id);
    if (!record) throw new Error(`No ${kind} record with id ${id}`);
    return record;
  }

  private replace(kind: ProjectCollection, record: JsonObject): void {
    const records = this.records(kind);
    records[records.findIndex((candidate) => candidate.id === record.id)] = record;
  }

  private stamp(kind: ProjectCollection, epochSeconds: number): string {
    return kind === 'projects' || kind === 'tasks'
      ? toV1Millis(epochSeconds * 1000)
      : toV1Time(epochSeconds);
  }

  private defaults(kind: ProjectCollection, id: number, partial: JsonObject): JsonObject {
    const now = this.store.nowSeconds();
    const times = { add_time: this.stamp(kind, now), update_time: this.stamp(kind, now) };
    switch (kind) {
      case 'projectBoards':
        return { name: `Board ${id}`, order_nr: this.list(kind).length + 1, ...times };
      case 'projectPhases': {
        const siblings = this.list(kind).filter((phase) => phase.board_id === partial.board_id);
        return { name: `Phase ${id}`, board_id: null, order_nr: siblings.length + 1, ...times };
      }
      case 'projects': {
        // Pipedrive requires a board and a phase; the first ones stand in when a test omits them.
        const boardId =
          (partial.board_id as number | undefined) ?? this.list('projectBoards')[0]?.id;
        const phase = this.list('projectPhases').find(
          (candidate) => candidate.board_id === boardId,
        );
        return {
          title: `Project ${id}`,
          board_id: boardId ?? null,
          phase_id: phase?.id ?? null,
          description: null,
          status: 'open',
          owner_id: 1,
          start_date: null,
          end_date: null,
          deal_ids: [],
          org_id: null,
          person_id: null,
          labels: [],
          ...times,
          status_change_time: times.add_time,
          archive_time: null,
        };
      }
      case 'tasks':
        return {
          title: `Task ${id}`,
          project_id: null,
          description: null,
          parent_task_id: null,
          assignee_id: null,
          done: 0,
          due_date: null,
          creator_id: 1,
          ...times,
          marked_as_done_time: null,
        };
    }
  }

  /** The references Pipedrive validates on writes (a 400 there, an error here). */
  private checkReferences(kind: ProjectCollection, record: JsonObject): void {
    const missing = (what: ProjectCollection, id: unknown) =>
      typeof id !== 'number' || !this.find(what, id);
    if (kind === 'projectPhases' && missing('projectBoards', record.board_id)) {
      throw new Error(`A project phase needs an existing board_id, got ${String(record.board_id)}`);
    }
    if (kind === 'projects') {
      if (!PROJECT_STATUSES.includes(record.status as never)) {
        throw new Error(`Unknown project status ${String(record.status)}`);
      }
      const phase =
        typeof record.phase_id === 'number'
          ? this.find('projectPhases', record.phase_id)
          : undefined;
      if (missing('projectBoards', record.board_id) || phase?.board_id !== record.board_id) {
        throw new Error('A project needs an existing board_id and a phase_id of that board');
      }
    }
    if (kind === 'tasks') {
      if (missing('projects', record.project_id)) {
        throw new Error(`A task needs an existing project_id, got ${String(record.project_id)}`);
      }
      if (record.parent_task_id !== null) {
        const parent =
          typeof record.parent_task_id === 'number'
            ? this.find('tasks', record.parent_task_id)
            : undefined;
        if (!parent || parent.parent_task_id !== null || parent.id === record.id) {
          throw new Error('parent_task_id must be an existing task that is not itself a subtask');
        }
      }
    }
  }
}
