import {
  laterOf,
  maxOf,
  PipedriveStream,
  type ReadRequest,
  type Row,
  type StreamPage,
  type StreamState,
} from './base';
import { apiTime, readV1ByUpdateTime } from './v1-sorted';

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
      const rows = records.map((raw) => this.finish(this.shape(raw)));
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

  private shape(raw: Row): Row {
    return {
      ...raw,
      // Seed names for the nested objects' fields.
      deal__title: raw.deal?.title ?? null,
      organization__name: raw.organization?.name ?? null,
      person__name: raw.person?.name ?? null,
      project__title: raw.project?.title ?? null,
      user__email: raw.user?.email ?? null,
      user__name: raw.user?.name ?? null,
      // v1 marks deleted notes with active_flag false (or 0).
      is_deleted: raw.active_flag === false || raw.active_flag === 0 || raw.active_flag === '0',
    };
  }
}
