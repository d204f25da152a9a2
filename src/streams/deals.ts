import { chunk, mapOrdered } from '../concurrency';
import type { PipedriveConfig } from '../config';
import { ResourceGoneError } from '../errors';
import { toTimestamp } from '../normalize';
import type { Query } from '../pipedrive/client';
import {
  apiTime,
  ChildStream,
  type CustomFieldEntity,
  listedAtKey,
  type ReadRequest,
  type Row,
  type StreamPage,
  type StreamState,
  V2ListStream,
} from './base';

const DEAL_POSITIONS = ['update_time', 'archived_update_time'];
const DEAL_STATE_KEYS = [...DEAL_POSITIONS, ...DEAL_POSITIONS.map(listedAtKey)];
/** deals_flow's extra state key while a pass is unfinished (see DealsFlow.checkpointState). */
const FLOW_SINCE = 'flow_since';
const EPOCH = '1970-01-01T00:00:00Z';
/** Pipedrive returns deleted deals for 30 days when `deleted` is among the statuses. */
const ALL_STATUSES = 'open,won,lost,deleted';
const DEAL_IDS_PER_CALL = 100;

/** How far before a saved deals position each run re-reads (late writes). */
function lookbackMs(config: PipedriveConfig): number {
  return config.deals_lookback_hours * 3600_000;
}
/** Per-deal flow calls in flight (all still pass the shared rate limiter). */
const FLOW_CONCURRENCY = 8;

/**
 * GET /api/v2/deals (open, won, lost and deleted) then /api/v2/deals/archived.
 * Each pass keeps its own position; incremental runs look back
 * `deals_lookback_hours` before the saved cursor to catch late writes.
 */
export class Deals extends V2ListStream {
  get name(): string {
    return 'deals';
  }
  get primaryKey(): string {
    return 'id';
  }
  override get cursorField(): string {
    return 'update_time';
  }
  get path(): string {
    return '/deals';
  }
  override get stateKeys(): string[] {
    return DEAL_STATE_KEYS;
  }
  override get customFieldEntity(): CustomFieldEntity {
    return 'deal';
  }

  protected override get tracksListingTime(): boolean {
    return true;
  }

  /** 100 deals: one deal-products call and at most 4,000 tokens of flow calls per checkpoint. */
  protected override get rowsPerCheckpoint(): number {
    return DEAL_IDS_PER_CALL;
  }

  protected override shape(row: Row): Row {
    if (row.status === 'deleted') row.is_deleted = true;
    return row;
  }

  protected override sinceFor(
    state: StreamState | undefined,
    stateKey: string,
  ): string | undefined {
    const start = this.startingPoint(state, stateKey);
    const saved = state?.[stateKey];
    if (!start || typeof saved !== 'string') return start;
    const since = apiTime(saved, lookbackMs(this.services.config));
    const floor = this.services.config.start_date;
    return floor && since && floor > since ? floor : since;
  }

  override async *readPages(request: ReadRequest): AsyncGenerator<StreamPage> {
    const query: Query = { status: ALL_STATUSES };
    yield* this.readList('/deals', request, 'update_time', query);
    for await (const page of this.readList(
      '/deals/archived',
      request,
      'archived_update_time',
      query,
    )) {
      for (const row of page.records) row.is_archived = true;
      yield page;
    }
  }
}

/** The state key of a deal's own pass (/deals or /deals/archived). */
function passKeyOf(deal: Row): string {
  return deal.is_archived === true ? 'archived_update_time' : 'update_time';
}

/**
 * Where a deal's own pass stood when this run began. A missing key means that pass
 * starts from the beginning: every deal counts.
 */
function savedPositionOf(deal: Row, startState: StreamState): string | undefined {
  const value = startState[passKeyOf(deal)];
  return typeof value === 'string' ? value : undefined;
}

/**
 * The deals of a page that changed since this stream's saved position (fan-out targets).
 * Deals of the position's own second are re-read (a change later in that second keeps the
 * same update_time) unless Pipedrive listed them after that second had ended.
 */
function changedDeals(deals: Row[], startState: StreamState): Row[] {
  return deals.filter((deal) => {
    if (deal.is_deleted === true) return false;
    const since = savedPositionOf(deal, startState);
    if (!since) return true;
    const updated = typeof deal.update_time === 'string' ? deal.update_time : undefined;
    if (!updated || updated < since) return false;
    if (updated > since) return true;
    const listedAt = startState[listedAtKey(passKeyOf(deal))];
    return !(typeof listedAt === 'string' && listedAt > since);
  });
}

/** Child streams of deals share the deals' sync modes and positions. */
abstract class DealChildStream extends ChildStream {
  get parentName(): string {
    return 'deals';
  }
  override get stateKeys(): string[] {
    return DEAL_STATE_KEYS;
  }
}

/**
 * GET /api/v2/deals/products?deal_ids=… for deals that changed in this run, 100
 * deals a call. All lines of a changed deal are re-read; `deal_update_time`
 * tells which deal version a line belongs to, so lines removed from a deal can
 * be recognised downstream (their deal_update_time is older than the deal's).
 */
export class DealProducts extends DealChildStream {
  get name(): string {
    return 'deal_products';
  }
  get primaryKey(): string {
    return 'id';
  }
  override get cursorField(): string {
    return 'deal_update_time';
  }

  async deriveRows(deals: Row[], startState: StreamState): Promise<Row[]> {
    const targets = changedDeals(deals, startState);
    const dealTime = new Map(targets.map((deal) => [deal.id, deal.update_time]));
    const batches = chunk(
      targets.map((deal) => deal.id),
      DEAL_IDS_PER_CALL,
    );
    const results = await mapOrdered(batches, batches.length, async (ids) => {
      const rows: Row[] = [];
      for await (const page of this.services.client.paginateV2(
        '/deals/products',
        { deal_ids: ids.join(','), sort_by: 'id', sort_direction: 'asc' },
        this.name,
      )) {
        for (const raw of page.records) {
          rows.push(
            this.finish({
              ...raw,
              enabled_flag: raw.is_enabled ?? null,
              last_edit: raw.update_time ?? null,
              deal_update_time: dealTime.get(raw.deal_id) ?? null,
            }),
          );
        }
      }
      return rows;
    });
    return results.flat();
  }
}

/**
 * GET /v1/deals/{id}/flow?all_changes=1 (40 API tokens a call) for deals that
 * changed in this run: events newest first, read until the ones older than the
 * saved position minus the look-back. The key is `<object>:<id>` (events of
 * different kinds share id ranges).
 */
export class DealsFlow extends DealChildStream {
  get name(): string {
    return 'deals_flow';
  }
  get primaryKey(): string {
    return 'id';
  }
  override get cursorField(): string {
    return 'timestamp';
  }

  override get stateKeys(): string[] {
    return [...DEAL_STATE_KEYS, FLOW_SINCE];
  }

  /**
   * While a pass is unfinished the state also keeps `flow_since`, where the pass began: deals
   * past the checkpoint were not read yet, so a resumed run must read their events back to
   * there, not just back to the checkpoint. A finished pass drops it.
   */
  override checkpointState(
    position: StreamState,
    startState: StreamState,
    finished: boolean,
  ): StreamState {
    const { [FLOW_SINCE]: _unfinished, ...positions } = position;
    if (finished) return positions;
    return { ...positions, [FLOW_SINCE]: this.passStart(startState) };
  }

  /** The earliest position of the pass that this run continues (start_date or 1970 if none). */
  private passStart(startState: StreamState): string {
    const unfinished = startState[FLOW_SINCE];
    if (typeof unfinished === 'string') return unfinished;
    const saved = DEAL_POSITIONS.map((key) => startState[key]);
    const floor = this.services.config.start_date ?? EPOCH;
    if (!saved.every((value): value is string => typeof value === 'string')) return floor;
    return saved.sort()[0];
  }

  async deriveRows(deals: Row[], startState: StreamState): Promise<Row[]> {
    const targets = changedDeals(deals, startState);
    const perDeal = await mapOrdered(targets, FLOW_CONCURRENCY, (deal) =>
      this.flowOf(deal, this.cutoff(deal, startState)),
    );
    return perDeal.flat();
  }

  /** Events older than this were read when the deal last changed (minus the look-back). */
  private cutoff(deal: Row, startState: StreamState): string | undefined {
    let saved = savedPositionOf(deal, startState);
    const unfinished = startState[FLOW_SINCE];
    if (saved && typeof unfinished === 'string' && unfinished < saved) saved = unfinished;
    if (!saved || saved === EPOCH) return this.services.config.start_date;
    return apiTime(saved, lookbackMs(this.services.config));
  }

  private async flowOf(deal: Row, cutoff: string | undefined): Promise<Row[]> {
    const rows: Row[] = [];
    try {
      for await (const page of this.services.client.paginateV1(
        `/deals/${deal.id}/flow`,
        { all_changes: 1 },
        this.name,
      )) {
        let reachedCutoff = false;
        for (const item of page.records) {
          const timestamp = toTimestamp(item?.timestamp);
          if (cutoff && timestamp && timestamp < cutoff) {
            reachedCutoff = true;
            continue;
          }
          rows.push(this.finish(this.shapeEvent(deal, item, timestamp)));
        }
        // Newest first: once older events show up, the rest were read before.
        if (reachedCutoff) break;
      }
    } catch (error) {
      if (!(error instanceof ResourceGoneError)) throw error;
      this.log('WARN', `Deal ${deal.id} is gone (${error.status}); its flow is skipped.`);
    }
    return rows;
  }

  private shapeEvent(deal: Row, item: Row, timestamp: string | null): Row {
    const data = item?.data && typeof item.data === 'object' ? item.data : {};
    const object = typeof item?.object === 'string' ? item.object : 'unknown';
    const eventId = data.id ?? `${timestamp ?? ''}`;
    return {
      id: `${object}:${eventId}`,
      deal_id: deal.id,
      object,
      timestamp,
      data,
      item_id: data.item_id ?? null,
      user_id: data.user_id ?? null,
      field_key: data.field_key ?? null,
      change_source: data.change_source ?? null,
      deal_update_time: deal.update_time ?? null,
    };
  }
}
