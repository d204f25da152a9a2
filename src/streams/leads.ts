import {
  apiTime,
  type CustomFieldEntity,
  laterOf,
  maxOf,
  ownedCopy,
  PipedriveStream,
  type ReadRequest,
  type Row,
  type StreamPage,
  V1ListStream,
} from './base';
import { readV1ByUpdateTime } from './v1-sorted';

/** The two lists leads are read from, each with its own position in the state. */
const PASSES = [
  { path: '/leads', stateKey: 'update_time', archived: false },
  { path: '/leads/archived', stateKey: 'archived_update_time', archived: true },
] as const;

/**
 * GET /v1/leads then GET /v1/leads/archived, both sorted by update_time and incremental with
 * `updated_since`; state `{update_time, archived_update_time}`. Leads carry the deal custom
 * fields, v1-shaped at the object root.
 */
export class Leads extends PipedriveStream {
  get name(): string {
    return 'leads';
  }
  get primaryKey(): string {
    return 'id';
  }
  override get cursorField(): string {
    return 'update_time';
  }
  override get customFieldEntity(): CustomFieldEntity {
    return 'deal';
  }
  override get stateKeys(): string[] {
    return PASSES.map((pass) => pass.stateKey);
  }

  async *readPages(request: ReadRequest): AsyncGenerator<StreamPage> {
    const incremental = request.syncMode === 'incremental';
    for (const pass of PASSES) {
      const since = incremental
        ? apiTime(this.startingPoint(request.state, pass.stateKey))
        : undefined;
      let position = incremental
        ? (request.state?.[pass.stateKey] as string | undefined)
        : undefined;
      for await (const records of readV1ByUpdateTime(
        this.services.client,
        pass.path,
        since,
        this.name,
      )) {
        const rows = records.map((raw) => this.finishOwned(this.shape(raw, pass.archived)));
        if (incremental) position = laterOf(position, maxOf(rows, 'update_time'));
        yield { records: rows, position: position ? { [pass.stateKey]: position } : undefined };
      }
    }
  }

  private shape(raw: Row, archived: boolean): Row {
    const row = ownedCopy(raw);
    this.customFieldPlan?.applyV1(raw, row);
    const value = raw.value;
    row.value_amount = value && typeof value === 'object' ? (value.amount ?? null) : null;
    row.value_currency = value && typeof value === 'object' ? (value.currency ?? null) : null;
    if (archived) row.is_archived = true;
    return row;
  }
}

/** GET /v1/leadLabels (one page). */
export class LeadLabels extends V1ListStream {
  get name(): string {
    return 'lead_labels';
  }
  get primaryKey(): string {
    return 'id';
  }
  get path(): string {
    return '/leadLabels';
  }
}
