import {
  apiTime,
  laterOf,
  maxOf,
  ownedCopy,
  PipedriveStream,
  type ReadRequest,
  type Row,
  type StreamPage,
  type StreamState,
} from './base';
import { readV1ByUpdateTime } from './v1-sorted';

const DAY_MS = 86_400_000;

/**
 * GET /v1/notes sorted by update_time, incremental with `updated_since`. With
 * `notes_update_window_days` the read starts that many days before the saved cursor, so that
 * notes whose change did not move update_time past the cursor are read again.
 */
export class Notes extends PipedriveStream {
  get name(): string {
    return 'notes';
  }
  get primaryKey(): string {
    return 'id';
  }
  override get cursorField(): string {
    return 'update_time';
  }

  async *readPages(request: ReadRequest): AsyncGenerator<StreamPage> {
    const incremental = request.syncMode === 'incremental';
    const since = incremental ? this.since(request.state) : undefined;
    let position = incremental ? (request.state?.update_time as string | undefined) : undefined;
    const pages = readV1ByUpdateTime(this.services.client, '/notes', since, this.name);
    for await (const records of pages) {
      const rows = records.map((raw) => this.finishOwned(this.shape(ownedCopy(raw))));
      if (incremental) position = laterOf(position, maxOf(rows, 'update_time'));
      yield { records: rows, position: position ? { update_time: position } : undefined };
    }
  }

  private since(state: StreamState | undefined): string | undefined {
    const saved = state?.update_time;
    if (typeof saved === 'string') {
      return apiTime(saved, this.services.config.notes_update_window_days * DAY_MS);
    }
    return apiTime(this.startingPoint(state));
  }

  /** Seed aliases on this stream's own copy of the note (see ownedCopy). */
  private shape(row: Row): Row {
    // Seed names for the nested objects' fields.
    row.deal__title = row.deal?.title ?? null;
    row.organization__name = row.organization?.name ?? null;
    row.person__name = row.person?.name ?? null;
    row.project__title = row.project?.title ?? null;
    row.user__email = row.user?.email ?? null;
    row.user__name = row.user?.name ?? null;
    // v1 marks deleted notes with active_flag false (or 0).
    const active = row.active_flag;
    row.is_deleted = active === false || active === 0 || active === '0';
    return row;
  }
}
