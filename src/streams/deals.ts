import { createHash } from 'node:crypto';

import { toTimestamp } from '../normalize';
import {
  apiTime,
  ownedCopy,
  type PassSpec,
  type RootDeclaration,
  type Row,
  type StreamServices,
  type StreamState,
  UPDATE_TIME,
} from './base';
import {
  type BatchDeclaration,
  collectRecords,
  type FanOutContext,
  type PerParentDeclaration,
  PerParentFanOutStream,
} from './fanout';

const ARCHIVED_UPDATE_TIME = 'archived_update_time';
/** deals_flow's extra state key while a pass is unfinished (see DealsFlow.checkpointState). */
export const FLOW_SINCE = 'flow_since';
const EPOCH = '1970-01-01T00:00:00Z';
/** Pipedrive returns deleted deals for 30 days when `deleted` is among the statuses. */
const ALL_STATUSES = 'open,won,lost,deleted';
export const DEAL_IDS_PER_CALL = 100;

const DEAL_PASSES: PassSpec[] = [
  { key: UPDATE_TIME, reader: 'v2', path: '/deals', query: { status: ALL_STATUSES } },
  {
    key: ARCHIVED_UPDATE_TIME,
    reader: 'v2',
    path: '/deals/archived',
    query: { status: ALL_STATUSES },
    mark: (row) => {
      row.is_archived = true;
    },
  },
];

/**
 * GET /api/v2/deals (open, won, lost and deleted) and /api/v2/deals/archived, each pass with its
 * own position; incremental runs look back `deals_lookback_hours` before the saved cursor to
 * catch late writes.
 */
export const deals: RootDeclaration = {
  name: 'deals',
  primaryKey: 'id',
  cursor: UPDATE_TIME,
  customFields: 'deal',
  passes: DEAL_PASSES,
  lookbackMs: (config) => config.deals_lookback_hours * 3600_000,
  // Deleted deals come with status=deleted for 30 days; the check catches those deleted
  // while no sync ran for longer.
  deletes: {
    idQuery: (pass) => ({ ...pass.query, status: 'open,won,lost' }),
    item: (id) => `/deals/${String(id)}`,
  },
  shape(row) {
    if (row.status === 'deleted') row.is_deleted = true;
    return row;
  },
};

/**
 * GET /api/v2/deals/products?deal_ids=… for the deals that changed, 100 deals a call. All
 * lines of a changed deal are re-read; `deal_update_time` tells which deal version a line
 * belongs to, so lines removed from a deal can be recognised downstream (their
 * deal_update_time is older than the deal's). Lines of a deleted deal are tombstones.
 */
export const dealProducts: BatchDeclaration = {
  name: 'deal_products',
  parent: 'deals',
  primaryKey: 'id',
  cursor: 'deal_update_time',
  path: '/deals/products',
  param: 'deal_ids',
  size: DEAL_IDS_PER_CALL,
  parentIdOf: (raw) => raw.deal_id,
  shape(raw, deal) {
    raw.enabled_flag = raw.is_enabled ?? null;
    raw.last_edit = raw.update_time ?? null;
    raw.deal_update_time = deal?.update_time ?? null;
    return raw;
  },
};

/**
 * GET /api/v2/deals/installments?deal_ids=… for the deals that changed, 100 deals a call, like
 * deal_products. Pipedrive offers installments from the Growth plan up; a lower plan's refusal
 * completes the stream empty.
 */
export const dealInstallments: BatchDeclaration = {
  name: 'deal_installments',
  parent: 'deals',
  primaryKey: 'id',
  cursor: 'deal_update_time',
  optional: { statuses: [402, 403], missing: 'Installments (Growth plan and above)' },
  path: '/deals/installments',
  param: 'deal_ids',
  size: DEAL_IDS_PER_CALL,
  parentIdOf: (raw) => raw.deal_id,
  shape(raw, deal) {
    raw.deal_update_time = deal?.update_time ?? null;
    return raw;
  },
};

/**
 * GET /v1/deals/{id}/participants (10 API tokens a call) for the deals that changed. The API
 * nests the person and the adding user as objects; their ids become the columns.
 */
export const dealParticipants: PerParentDeclaration = {
  name: 'deal_participants',
  parent: 'deals',
  primaryKey: 'id',
  cursor: 'deal_update_time',
  tokensPerParent: 10,
  async read(deal, stream) {
    const items = await collectRecords(
      stream.client.paginateV1(`/deals/${deal.id}/participants`, {}, stream.name),
    );
    return items.map((item) => {
      const row = ownedCopy(item);
      row.deal_id = deal.id;
      row.person_id = idOf(item.person_id);
      row.added_by_user_id = idOf(item.added_by_user_id);
      row.deal_update_time = deal.update_time ?? null;
      return row;
    });
  },
};

/** v1 references come as an id or as an object with the id in `value`. */
function idOf(reference: unknown): unknown {
  if (reference && typeof reference === 'object') return (reference as Row).value ?? null;
  return reference ?? null;
}

/** The state key of a deal's own pass (/deals or /deals/archived). */
function passKeyOf(deal: Row): string {
  return deal.is_archived === true ? ARCHIVED_UPDATE_TIME : UPDATE_TIME;
}

/**
 * GET /v1/deals/{id}/flow?all_changes=1 (40 API tokens a call) for the deals that changed:
 * events newest first, read until the ones older than the saved position minus the look-back.
 */
export class DealsFlow extends PerParentFanOutStream {
  constructor(services: StreamServices) {
    const declaration: PerParentDeclaration = {
      name: 'deals_flow',
      parent: 'deals',
      primaryKey: 'id',
      cursor: 'timestamp',
      tokensPerParent: 40,
      read: (deal, stream, context) => (stream as DealsFlow).flowOf(deal, context),
    };
    super(services, declaration);
  }

  override get extraStateKeys(): string[] {
    return [...super.extraStateKeys, FLOW_SINCE];
  }

  /**
   * While a pass is unfinished the state also keeps `flow_since`, where the pass began: deals
   * past the checkpoint were not read yet, so a resumed run must read their events back to
   * there, not just back to the checkpoint. A finished pass drops it.
   */
  override checkpointState(
    state: StreamState,
    startState: StreamState,
    finished: boolean,
  ): StreamState {
    const { [FLOW_SINCE]: _unfinished, ...rest } = state;
    if (finished) return rest;
    return { ...rest, [FLOW_SINCE]: this.passStart(startState) };
  }

  /** The earliest position of the pass that this run continues (start_date or 1970 if none). */
  private passStart(startState: StreamState): string {
    const unfinished = startState[FLOW_SINCE];
    if (typeof unfinished === 'string') return unfinished;
    const saved = this.positionKeys.map((key) => startState[key]);
    const floor = this.services.config.start_date ?? EPOCH;
    if (!saved.every((value): value is string => typeof value === 'string')) return floor;
    return saved.sort()[0];
  }

  /** Events older than this were read when the deal last changed (minus the look-back). */
  private cutoff(deal: Row, context: FanOutContext): string | undefined {
    if (context.mode !== 'incremental') return this.services.config.start_date;
    const startState = context.startState;
    let saved = startState[passKeyOf(deal)] as string | undefined;
    const unfinished = startState[FLOW_SINCE];
    if (typeof saved !== 'string') saved = undefined;
    if (saved && typeof unfinished === 'string' && unfinished < saved) saved = unfinished;
    if (!saved || saved === EPOCH) return this.services.config.start_date;
    return apiTime(saved, this.services.config.deals_lookback_hours * 3600_000);
  }

  private async flowOf(deal: Row, context: FanOutContext): Promise<Row[]> {
    const cutoff = this.cutoff(deal, context);
    const rows: Row[] = [];
    // No prefetch: once a page reaches the cutoff, the next page (40 tokens) is not needed.
    for await (const page of this.client.paginateV1(
      `/deals/${deal.id}/flow`,
      { all_changes: 1 },
      this.name,
      { prefetch: false },
    )) {
      let reachedCutoff = false;
      for (const item of page.records) {
        const timestamp = toTimestamp(item?.timestamp);
        if (cutoff && timestamp && timestamp < cutoff) {
          reachedCutoff = true;
          continue;
        }
        rows.push(shapeEvent(deal, item, timestamp));
      }
      // Newest first: once older events show up, the rest were read before.
      if (reachedCutoff) break;
    }
    return rows;
  }
}

/**
 * One flow event as a row. The key is `<object>:<id>` (events of different kinds share id
 * ranges); an event without an id gets one made of its deal, time and content, which is unique
 * per deal and event and the same on every read.
 */
function shapeEvent(deal: Row, item: Row, timestamp: string | null): Row {
  const data = item?.data && typeof item.data === 'object' ? item.data : {};
  const object = typeof item?.object === 'string' ? item.object : 'unknown';
  const id =
    data.id !== undefined && data.id !== null
      ? `${object}:${String(data.id)}`
      : `${object}:deal-${String(deal.id)}:${timestamp ?? ''}:${createHash('sha1')
          .update(JSON.stringify(data))
          .digest('hex')
          .slice(0, 12)}`;
  const isChange = object === 'dealChange';
  return {
    id,
    deal_id: deal.id,
    object,
    timestamp,
    data,
    item_id: data.item_id ?? null,
    user_id: data.user_id ?? null,
    field_key: data.field_key ?? null,
    old_value: isChange ? (data.old_value ?? null) : null,
    new_value: isChange ? (data.new_value ?? null) : null,
    log_time: isChange ? (data.log_time ?? null) : null,
    change_source: data.change_source ?? null,
    is_bulk_update: isChange ? (data.is_bulk_update_flag ?? null) : null,
    deal_update_time: deal.update_time ?? null,
  };
}
