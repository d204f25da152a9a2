/**
 * The pass readers: how one endpoint of a root stream is read, page by page, into the runner.
 * One reader per paging style; every table is a declaration that picks one (src/streams/base.ts).
 *
 *  - v2: cursor paging sorted by update_time, `updated_since` for incremental passes, and
 *    `updated_until` windows read concurrently when the limiter has room (one big stream can
 *    fill the burst limit alone);
 *  - v1: offset paging of a list read whole;
 *  - v1-updated-since: a v1 list sorted by update_time, paged by moving updated_since;
 *  - v1-newest-first: a v1 list sorted newest first, read until rows are older than the cursor.
 *
 * Readers also guard against an API that misbehaves: rows older than asked for are left out,
 * pages that do not move forward end the pass with a clear error instead of looping.
 */
import { ConnectorError, TransientError } from '../errors';
import { toApiTime, toTimestamp } from '../normalize';
import { listRecords, type Page, PAGE_LIMIT, type Query, v1Pagination } from '../pipedrive/client';
import { endpointLabel, tokenCost } from '../pipedrive/costs';
import {
  maxOf,
  type PassRequest,
  type PassSpec,
  positionMs,
  type RootStream,
  type Row,
  UPDATE_TIME,
} from './base';
import { LISTING_SAFETY_MARGIN_MS } from './fanout';
import { later, type ProgressSequence } from './progress';

/** A window narrower than this is not split further. */
const MIN_SPLIT_SPAN_MS = 60_000;
/** A new lane must have about this many pages of its own to be worth a partial extra page. */
const PAGES_PER_NEW_LANE = 4;
/**
 * The same when a lane has ended and hands its place to a window with pages left: fewer,
 * because the sync's end waits for the longest lane, and little is left by then.
 */
const PAGES_PER_HANDED_LANE = 2;
/**
 * Lanes of one pass at most. One big stream alone fills the burst limit only with about
 * rate x round trip lanes (120 / 2 s at 800 ms: about 56); passes reading at once share the
 * gate's target (fairLanes). 40: a deals-only sync at 800 ms x 120 reads 16,500-16,900 deals/s
 * on the bench (7,900 with 16), and 1,000,000 deals peak at 232-250 MB (48 lanes: 265-298 MB,
 * too near 300).
 */
const MAX_LANES_PER_PASS = 40;
/** Lanes split only when every round trip so far took at least this long. */
const MIN_ROUND_TRIP_TO_SPLIT_MS = 25;
/** Pages in a row that bring nothing new before a pass is declared stuck. */
const MAX_STALE_PAGES = 3;

export async function readPass(
  stream: RootStream,
  pass: PassSpec,
  request: PassRequest,
): Promise<void> {
  switch (pass.reader) {
    case 'v2':
      return new V2PassReader(stream, pass, request).read();
    case 'v1':
      return readV1List(stream, pass, request);
    case 'v1-updated-since':
      return new V1SinceReader(stream, pass, request).read();
    case 'v1-newest-first':
      return readV1NewestFirst(stream, pass, request);
    case 'v1-cursor':
      return readV1Cursor(stream, pass, request);
  }
}

/** One warning per stream and kind of oddity, however many pages show it. */
const warned = new WeakMap<RootStream, Set<string>>();
function warnOnce(stream: RootStream, kind: string, message: string): void {
  let kinds = warned.get(stream);
  if (!kinds) warned.set(stream, (kinds = new Set()));
  if (kinds.has(kind)) return;
  kinds.add(kind);
  stream.log('WARN', message);
}

/** Rows of an incremental pass older than what was asked for: a misbehaving server's. */
function dropOlder(
  stream: RootStream,
  rows: Row[],
  since: string | undefined,
  what: string,
): Row[] {
  if (!since) return rows;
  const kept = rows.filter((row) => {
    const time = row[UPDATE_TIME];
    return typeof time !== 'string' || time >= since;
  });
  if (kept.length < rows.length) {
    warnOnce(
      stream,
      'older-rows',
      `Pipedrive returned ${rows.length - kept.length} row(s) updated before ${what}=${since}: they are left out (they were read by an earlier sync).`,
    );
  }
  return kept;
}

/** (update_time, id) of a row, for checking that sorted pages move forward. */
function sortKey(row: Row | undefined): string {
  if (!row) return '';
  const id = row.id;
  return `${String(row[UPDATE_TIME] ?? '')}\u0000${typeof id === 'number' ? String(id).padStart(16, '0') : String(id ?? '')}`;
}

interface Window {
  /** Inclusive start (updated_since); undefined: from the beginning of the pass. */
  start?: string;
  /** Exclusive end; undefined: open-ended (catches rows updated meanwhile). */
  end?: string;
  node: ProgressSequence;
  /** Newest update_time read in this window so far, and the ids of the rows that have it. */
  last?: string;
  lastIds?: Set<unknown>;
  /** The full-refresh tail: rows at `start` with these ids were read already. */
  readAtStart?: Set<unknown>;
  /** Time span of this window's last page with rows (ms): how much one page covers here. */
  pageSpanMs?: number;
  /** Its lane has read its last page. */
  done?: boolean;
  /** Its lane holds one of the sync's parsed-page places (see PARSED_PAGES). */
  holdsPage?: boolean;
}

/**
 * Pages of the sync's lists parsed and not yet written. A lane parses its next page only when
 * it gets one of these places: until then the answer waits as text, about half its parsed size
 * and no work for the GC. With 64 lanes whose answers come together (new lanes' first pages,
 * or pages that waited while stdout was slow), parsing each at once would hold 64 parsed pages;
 * this holds 8, which keep the CPU busy just as well. No new lane starts while pages wait for
 * a place: more lanes would only hold more text.
 */
const PARSED_PAGES = 8;

/** The places of one sync (its client): taken, and the lanes waiting for one, in turn. */
interface PagePlaces {
  taken: number;
  waiting: Array<() => void>;
}
const placesOfClient = new WeakMap<object, PagePlaces>();

function pagePlaces(client: object): PagePlaces {
  let places = placesOfClient.get(client);
  if (!places) placesOfClient.set(client, (places = { taken: 0, waiting: [] }));
  return places;
}

/**
 * A pass read in update_time order by concurrent lanes, one per window [start, end). The first
 * lane reads the whole range; whenever the gate has room and the rest of a window is worth it,
 * the lane hands part of it to new lanes and stops at its new end (rows at or past the end
 * are left to the next window). Checkpoints only claim contiguous finished windows (see
 * progress.ts), so the windows can finish in any order.
 */
abstract class WindowedReader {
  private readonly lanes = new Set<Promise<void>>();
  protected readonly windows: Window[] = [];
  protected failure: unknown;

  constructor(
    protected readonly stream: RootStream,
    protected readonly pass: PassSpec,
    protected readonly request: PassRequest,
  ) {}

  /** Whether a window can be narrowed and split (its end is kept here or by the server). */
  protected abstract get splittable(): boolean;

  /** Whether the rows come in update_time order (their times may serve as positions). */
  protected get positioned(): boolean {
    return true;
  }

  /**
   * Reads one window through handPage, which says when the window is done; resolves true when
   * the window was read to its end (false: the pass stopped, the window is not finished).
   */
  protected abstract readWindow(window: Window): Promise<boolean>;

  async read(): Promise<void> {
    const readers = windowedReaders(this.stream.client);
    readers.add(this);
    try {
      await this.readWindows();
    } finally {
      readers.delete(this);
    }
  }

  private async readWindows(): Promise<void> {
    const first: Window = { start: this.request.since, node: this.request.progress.sequence() };
    this.windows.push(first);
    this.launch(first);
    await this.settle();
    if (
      this.failure === undefined &&
      this.windows.length > 1 &&
      this.request.mode === 'full_refresh'
    ) {
      // A row updated while the windows were read moves past every window that had not reached
      // it yet; if the open last window finished first, nobody would read it. One more call
      // from the newest row seen catches such rows, so a full refresh misses nothing.
      const newest = this.windows.reduce<string | undefined>(
        (max, w) => later(max, w.last),
        undefined,
      );
      // The rows of that newest second were read already: the tail leaves them out, or a
      // full refresh would hold them twice.
      const readAtStart = new Set<unknown>();
      for (const w of this.windows) {
        if (w.last === newest) for (const id of w.lastIds ?? []) readAtStart.add(id);
      }
      const tail: Window = {
        start: newest,
        node: this.request.progress.sequence(newest),
        readAtStart,
      };
      this.windows.push(tail);
      this.launch(tail);
      await this.settle();
    }
    if (this.failure !== undefined) throw this.failure;
    this.request.progress.close();
  }

  protected get stopped(): boolean {
    return this.failure !== undefined || this.request.stopped();
  }

  /** Waits for a parsed-page place for the window's lane (its next page is parsed then). */
  protected readonly takePage = async (window: Window): Promise<void> => {
    if (window.holdsPage) return;
    const places = pagePlaces(this.stream.client);
    if (places.taken < PARSED_PAGES && places.waiting.length === 0) places.taken++;
    else await new Promise<void>((resolve) => places.waiting.push(resolve));
    window.holdsPage = true;
  };

  /** The window's page is written (or its lane ended): its place goes to the next lane. */
  protected givePage(window: Window): void {
    if (!window.holdsPage) return;
    window.holdsPage = false;
    const places = pagePlaces(this.stream.client);
    const next = places.waiting.shift();
    if (next) next();
    else places.taken--;
  }

  private launch(window: Window): void {
    const lane = this.readWindow(window)
      .finally(() => this.givePage(window))
      .then((finished) => {
        if (finished) window.node.close();
      })
      .catch((error) => {
        this.failure ??= error;
      });
    this.lanes.add(lane);
    void lane.finally(() => this.lanes.delete(lane));
  }

  protected async settle(): Promise<void> {
    while (this.lanes.size > 0) await Promise.all([...this.lanes]);
  }

  /**
   * Hands one page of a window to the runner: the rows before the window's end (it may have
   * been narrowed after the page was asked for), after giving the rest of the window to new
   * lanes when worth it. Returns whether the window is done.
   */
  protected async handPage(
    window: Window,
    shaped: Row[],
    hasMore: boolean,
    listedAfterMs: number | undefined,
  ): Promise<boolean> {
    let rows = shaped;
    let reachedEnd = false;
    if (window.end) {
      const cut = rows.findIndex(
        (row) => typeof row[UPDATE_TIME] === 'string' && row[UPDATE_TIME] >= window.end!,
      );
      if (cut >= 0) {
        rows = rows.slice(0, cut);
        reachedEnd = true;
      }
    }
    if (window.readAtStart) {
      const { start, readAtStart } = window;
      rows = rows.filter((row) => !(row[UPDATE_TIME] === start && readAtStart.has(row.id)));
    }
    const node = window.node.sequence();
    noteNewest(window, rows);
    if (rows.length >= 2) {
      window.pageSpanMs = Math.max(
        1000,
        positionMs(rows.at(-1)![UPDATE_TIME]) - positionMs(rows[0][UPDATE_TIME]),
      );
    }
    // Hand the rest of the window to new lanes before this page's (possibly long) work; a lane
    // that has ended hands its place to the window with the most pages left.
    if (!reachedEnd && hasMore) this.maybeSplit(window, PAGES_PER_NEW_LANE);
    else {
      window.done = true;
      this.handPlace();
    }
    try {
      await this.request.onPage({
        rows,
        node,
        listedAfterMs,
        positioned: this.positioned,
        // A page of deals waits for its products when many pages are fanning out; its lane
        // keeps waiting, but the place goes to another lane's page (see PARSED_PAGES).
        written: () => this.givePage(window),
      });
    } finally {
      this.givePage(window);
    }
    return reachedEnd || !hasMore;
  }

  /**
   * A lane has ended while others still read (its window was short or empty: a split cannot
   * know where the rows are). Splits the window with the most pages left, so that the lanes
   * end together instead of one long lane ending alone.
   */
  private handPlace(): void {
    let widest: Window | undefined;
    let most = 0;
    for (const window of this.windows) {
      if (window.done || window.last === undefined || window.pageSpanMs === undefined) continue;
      const pages = (this.endMs(window) - positionMs(window.last)) / window.pageSpanMs;
      if (pages > most) [widest, most] = [window, pages];
    }
    if (widest) this.maybeSplit(widest, PAGES_PER_HANDED_LANE);
  }

  /**
   * Lanes this pass may hold: an even share of the gate's target between the windowed passes
   * reading now. Taking whatever the gate had spare, the pass whose first page came back first
   * took it all, and its fan-out (five deal-product batches a page of deals) kept the gate
   * full: at 800 ms x 120 with every list four times the grid's size, deals ran 34 lanes while
   * persons, activities and notes read one page at a time for 18 s, then alone at the end
   * (30.2 s; 25.6-27.4 s shared evenly; 28.4-28.8 s when a pass could also take what the others
   * left). Lanes past the target only wait in the gate's queue, where the stream with the
   * fewest places under way goes first.
   */
  private fairLanes(): number {
    const passes = windowedReaders(this.stream.client).size;
    const even = Math.ceil(this.stream.client.gate.target / Math.max(1, passes));
    return Math.min(MAX_LANES_PER_PASS, even);
  }

  private endMs(window: Window): number {
    return window.end ? positionMs(window.end) : this.request.nowMs;
  }

  /**
   * When this pass holds fewer lanes than it may (fairLanes), hands the rest of this window
   * to new lanes: split in equal time spans (each about `pagesPerLane` pages or more, by the
   * window's last page), the first kept by the window's lane, which stops at the new end
   * (reading at most one page into the next window). Not while many handed-over rows still
   * wait for stdout: each lane holds up to two pages.
   */
  private maybeSplit(window: Window, pagesPerLane: number): void {
    if (!this.splittable || window.last === undefined || window.pageSpanMs === undefined) return;
    const { gate } = this.stream.client;
    // A fast network (a proxy next door, loopback): pages come as fast as this process takes
    // them, and more lanes would only add the pages they read into each other's windows.
    if (!(gate.shortestRoundTripMs >= MIN_ROUND_TRIP_TO_SPLIT_MS)) return;
    const room = this.fairLanes() - this.lanes.size;
    if (room <= 0) return;
    if (pagePlaces(this.stream.client).waiting.length > 0) return;
    const fromMs = positionMs(window.last);
    const span = this.endMs(window) - fromMs;
    if (!(span >= MIN_SPLIT_SPAN_MS)) return;
    const parts = Math.min(room + 1, Math.floor(span / window.pageSpanMs / pagesPerLane));
    if (!(parts >= 2)) return;
    const bounds: string[] = [];
    for (let index = 1; index < parts; index++) {
      const bound = toApiTime(new Date(fromMs + Math.floor((span * index) / parts)));
      if (bound > (bounds.at(-1) ?? window.last ?? '')) bounds.push(bound);
    }
    if (bounds.length === 0) return;
    const oldEnd = window.end;
    window.end = bounds[0];
    let previous = window;
    bounds.forEach((start, index) => {
      const next: Window = {
        start,
        end: bounds[index + 1] ?? oldEnd,
        node: this.request.progress.sequenceAfter(previous.node, start),
      };
      this.windows.splice(this.windows.indexOf(previous) + 1, 0, next);
      this.launch(next);
      previous = next;
    });
  }
}

/** The windowed passes reading now, per sync (client): they share its lanes (fairLanes). */
const readersOfClient = new WeakMap<object, Set<WindowedReader>>();

function windowedReaders(client: object): Set<WindowedReader> {
  let readers = readersOfClient.get(client);
  if (!readers) readersOfClient.set(client, (readers = new Set()));
  return readers;
}

/** Keeps the window's newest update_time and the ids of the rows that carry it. */
function noteNewest(window: Window, rows: Row[]): void {
  // The newest time first, then its ids: pages come in update_time order, so building the set
  // row by row would start a new one for nearly every row.
  const newest = maxOf(rows, UPDATE_TIME, window.last);
  if (newest === undefined) return;
  if (newest !== window.last) {
    window.last = newest;
    window.lastIds = new Set();
  }
  const ids = (window.lastIds ??= new Set());
  for (const row of rows) if (row[UPDATE_TIME] === newest) ids.add(row.id);
}

/**
 * Whether a page (raw records in update_time order) reaches its window's end: the lane stops
 * there, and the page after it would be read for nothing. (A window narrowed by a split after
 * the page was asked for may still cost one page.)
 */
function endsWindow(window: Window, records: Record<string, any>[]): boolean {
  if (window.end === undefined || records.length === 0) return false;
  const last = toTimestamp(records[records.length - 1][UPDATE_TIME]);
  return last !== null && last >= window.end;
}

/** v2 cursor lists: `updated_since`/`updated_until` bound each window on the server. */
class V2PassReader extends WindowedReader {
  private filters: boolean;
  private readonly sorted: boolean;
  private readonly endpoint: string;

  constructor(stream: RootStream, pass: PassSpec, request: PassRequest) {
    super(stream, pass, request);
    this.sorted = pass.sortsByUpdateTime !== false;
    this.filters = this.sorted && pass.timeFilters !== false && !filtersRejected.has(stream);
    this.endpoint = endpointLabel('v2', pass.path);
  }

  protected get splittable(): boolean {
    return this.filters;
  }

  protected override get positioned(): boolean {
    return this.sorted;
  }

  private query(window: Window): Query {
    const query: Query = this.sorted
      ? { ...this.pass.query, sort_by: UPDATE_TIME, sort_direction: 'asc' }
      : { ...this.pass.query, sort_by: 'id', sort_direction: 'asc' };
    if (this.filters) {
      if (window.start) query.updated_since = window.start;
      if (window.end) query.updated_until = window.end;
    }
    return query;
  }

  /**
   * One page of a window, shaped, checked and handed over; returns whether the window is done.
   * Its own function so that its rows are let go when it returns: the lane's loop then awaits
   * the next page for a whole round trip without holding this one.
   */
  private async handListPage(window: Window, page: Page, order: PageOrder): Promise<boolean> {
    let rows = await this.stream.shapePage(page.records, this.pass);
    if (this.sorted && rows.length > 0) {
      const last = sortKey(rows.at(-1));
      order.stale = last <= order.previousLast ? order.stale + 1 : 0;
      if (order.stale >= MAX_STALE_PAGES) {
        throw new TransientError(
          `Pipedrive's pages of GET ${this.endpoint} stopped moving forward (${order.stale} pages in a row with nothing newer than the page before): the stream stops instead of reading the same rows again.`,
        );
      }
      if (last > order.previousLast) order.previousLast = last;
    }
    if (this.sorted) rows = dropOlder(this.stream, rows, this.request.since, 'updated_since');
    return this.handPage(window, rows, page.hasMore, page.listedAfterMs);
  }

  protected async readWindow(window: Window): Promise<boolean> {
    const { client } = this.stream;
    const order = { previousLast: '', stale: 0 };
    let started = false;
    try {
      for await (const page of client.paginateV2(
        this.pass.path,
        this.query(window),
        this.stream.name,
        {
          prefetch: (records) => !endsWindow(window, records),
          beforeParse: () => this.takePage(window),
        },
      )) {
        started = true;
        if (this.stopped) return false;
        if (await this.handListPage(window, page, order)) return true;
      }
    } catch (error) {
      if (!started && this.filters && rejectsTimeFilters(error)) {
        // /v2/products?updated_since is not in the December 2025 OpenAPI file: without it the
        // stream reads every row sorted by update_time and keeps those it needs, still
        // incremental.
        filtersRejected.add(this.stream);
        this.filters = false;
        warnOnce(
          this.stream,
          'no-time-filters',
          `Pipedrive refused updated_since for GET ${this.endpoint} (${(error as Error).message}); reading the whole list sorted by update_time instead and keeping the rows changed since the cursor.`,
        );
        return this.readWindow(window);
      }
      throw error;
    }
    return true;
  }
}

/** (update_time, id) of the newest row so far, and pages in a row that brought nothing newer. */
interface PageOrder {
  previousLast: string;
  stale: number;
}

/** Streams whose endpoint answered 400 to updated_since in this run (products, see above). */
const filtersRejected = new WeakSet<RootStream>();

function rejectsTimeFilters(error: unknown): boolean {
  return (
    error instanceof ConnectorError &&
    error.status === 400 &&
    /updated_(since|until)/i.test(error.message)
  );
}

/**
 * A pass read in one window, page after page: hands each page to the runner in order and, once
 * the list is read to its end, closes the pass with the position it then allows (for lists not
 * in update_time order the position is only known, and safe, at the end).
 */
export class PassPages {
  constructor(
    private readonly request: PassRequest,
    /** Whether the rows' update_time may serve as positions as they come (ascending order). */
    private readonly positioned = false,
    /** The pass's window: a reader that changes its way of reading midway keeps it. */
    private readonly window: ProgressSequence = request.progress.sequence(),
  ) {}

  get node(): ProgressSequence {
    return this.window;
  }

  hand(rows: Row[], listedAfterMs: number | undefined): Promise<void> {
    return this.request.onPage({
      rows,
      node: this.window.sequence(),
      listedAfterMs,
      positioned: this.positioned,
    });
  }

  /** Everything is read: `position` (the newest row, or a clock) is safe from now on. */
  end(position?: string): void {
    if (position !== undefined) this.window.leaf().finish(position);
    this.window.close();
    this.request.progress.close();
  }
}

/** Rows a declaration's own `read` fetched in one go, handed to the runner as one page. */
export async function handOverWhole(
  stream: RootStream,
  pass: PassSpec,
  request: PassRequest,
  records: Row[],
  listedAfterMs?: number,
): Promise<void> {
  const pages = new PassPages(request);
  await pages.hand(stream.shapeRows(records, pass), listedAfterMs);
  pages.end();
}

/** A v1 list read whole (users, activity types, field definitions, …). */
async function readV1List(stream: RootStream, pass: PassSpec, request: PassRequest): Promise<void> {
  const pages = new PassPages(request);
  for await (const page of stream.client.paginateV1(pass.path, pass.query ?? {}, stream.name, {
    paged: pass.paged,
    limit: pass.limit,
  })) {
    if (request.stopped()) return;
    await pages.hand(await stream.shapePage(page.records, pass), page.listedAfterMs);
  }
  pages.end();
}

/**
 * A v1 list with cursor paging (projects, tasks), read whole: it has no updated_since and pages
 * in id order. Its position is Pipedrive's clock when the first page was listed, less the
 * replication margin, and only once the last page is read: a change made before then is on some
 * page of this pass, a change made after it has a later update_time. (The newest update_time
 * seen would not do: a row changed mid-pass on an earlier page is older than a row changed
 * later on a later page.) The runner keeps only rows changed since the saved position.
 */
async function readV1Cursor(
  stream: RootStream,
  pass: PassSpec,
  request: PassRequest,
): Promise<void> {
  const pages = new PassPages(request);
  let listedFromMs: number | undefined;
  let first = true;
  for await (const page of stream.client.paginateCursor(
    'v1',
    pass.path,
    pass.query ?? {},
    stream.name,
  )) {
    if (request.stopped()) return;
    if (first) listedFromMs = page.listedAfterMs;
    first = false;
    await pages.hand(await stream.shapePage(page.records, pass), page.listedAfterMs);
  }
  // Without Pipedrive's clock (no Date header) there is no safe position: the next run reads
  // everything again.
  pages.end(
    listedFromMs === undefined
      ? undefined
      : toApiTime(new Date(listedFromMs - LISTING_SAFETY_MARGIN_MS)),
  );
}

/**
 * A v1 list sorted by `update_time ASC` from `updated_since` (inclusive), paged by moving
 * `updated_since` to the newest update_time of the page instead of by offset.
 *
 * Offset paging over a list sorted by update_time loses records: a record updated while the
 * pages are read moves to the end and every later record shifts one place back, so the one at
 * the next offset is never seen. Moving `updated_since` forward makes every page start where the
 * last one ended whatever changes meanwhile. Rows of the boundary second already handed over
 * (same id and same full-precision update_time) are not handed over again; a page made of one
 * second only advances by offset within that second.
 *
 * v1 has no `updated_until`, but a window's end is kept here (rows past it are left to the next
 * window), so notes and leads are read in concurrent windows too.
 *
 * A server that ignores updated_since (before January 2026) would make this loop re-read the
 * table quadratically: each page is checked, and on the first row older than asked for the
 * pass falls back to offset paging in id order (stable while rows change) with the filter
 * applied here, and a position set only once the whole list is read.
 */
class V1SinceReader extends WindowedReader {
  private readonly endpoint = endpointLabel('v1', this.pass.path);

  protected get splittable(): boolean {
    return true;
  }

  override async read(): Promise<void> {
    try {
      await super.read();
    } catch (error) {
      if (!(error instanceof FilterIgnored)) throw error;
      warnOnce(
        this.stream,
        'ignored-updated-since',
        `Pipedrive ignored updated_since for GET ${this.endpoint} (rows older than ${error.since} came back): reading the whole list in id order instead, keeping rows changed since the cursor.`,
      );
      // What the windows already claimed stays claimed; nothing more of theirs counts.
      void this.request.progress.position;
      for (const window of this.windows) window.node.abandon();
      await readV1ById(this.stream, this.pass, this.request, new PassPages(this.request));
    }
  }

  protected async readWindow(window: Window): Promise<boolean> {
    const at: V1Position = { cursor: window.start, start: 0, seenAtCursor: new Set(), stale: 0 };
    for (;;) {
      if (this.stopped) return false;
      if (await this.readPage(window, at)) return true;
    }
  }

  /**
   * One page of the window from where the lane is, handed over; moves `at` on and returns
   * whether the window is done. Its own function so that the page's rows are let go when it
   * returns, before the lane awaits the next page.
   */
  private async readPage(window: Window, at: V1Position): Promise<boolean> {
    const { cursor, start } = at;
    const body = await this.stream.client.get(
      'v1',
      this.pass.path,
      {
        ...this.pass.query,
        sort: 'update_time ASC',
        updated_since: cursor,
        start,
        limit: PAGE_LIMIT,
      },
      this.stream.name,
      { validate: hasV1Paging, beforeParse: () => this.takePage(window) },
    );
    await this.stream.ready;
    const records = listRecords(body, this.endpoint);
    const more = Boolean(v1Pagination(body)?.more_items_in_collection);
    const times = records.map((record) => toTimestamp(record.update_time));
    if (cursor && times.some((time) => time !== null && time < cursor)) {
      throw new FilterIgnored(cursor);
    }
    if (more && records.length === 0) {
      throw new TransientError(
        `Pipedrive's GET ${this.endpoint} announced more items after an empty page (updated_since=${cursor}, start=${start}).`,
      );
    }
    const identity = (record: Row): string => `${String(record.id)}|${String(record.update_time)}`;
    const fresh =
      at.seenAtCursor.size === 0
        ? records
        : records.filter(
            (record, i) => !(times[i] === cursor && at.seenAtCursor.has(identity(record))),
          );
    at.stale = records.length > 0 && fresh.length === 0 ? at.stale + 1 : 0;
    if (at.stale >= MAX_STALE_PAGES) {
      throw new TransientError(
        `Pipedrive's pages of GET ${this.endpoint} stopped moving forward (${at.stale} pages of rows already read, updated_since=${cursor}, start=${start}): the stream stops instead of looping.`,
      );
    }
    const rows = this.stream.shapeRows(fresh, this.pass);
    if (await this.handPage(window, rows, more, body.listedAfterMs)) return true;

    let newest: string | undefined;
    for (const time of times) if (time && (!newest || time > newest)) newest = time;
    if (newest && (!cursor || newest > cursor)) {
      at.cursor = newest;
      at.start = 0;
      at.seenAtCursor = new Set();
    } else {
      // The whole page is one second: step through that second by offset.
      at.start += records.length;
    }
    records.forEach((record, i) => {
      if (times[i] === at.cursor) at.seenAtCursor.add(identity(record));
    });
    return false;
  }
}

/** Where a v1 lane is: its updated_since, the offset inside that second, and what it saw. */
interface V1Position {
  cursor?: string;
  start: number;
  /** `id|update_time` of the rows handed over whose update_time is in the `cursor` second. */
  seenAtCursor: Set<string>;
  /** Pages in a row with nothing new. */
  stale: number;
}

const hasV1Paging = (body: { additional_data?: unknown }): string | undefined =>
  v1Pagination(body as any) ? undefined : 'has no paging block';

/** A server that ignores updated_since: the pass is read another way. */
class FilterIgnored extends Error {
  constructor(readonly since: string) {
    super(`updated_since=${since} ignored`);
  }
}

/** The fallback of V1SinceReader: offset paging in id order, filtered here. */
async function readV1ById(
  stream: RootStream,
  pass: PassSpec,
  request: PassRequest,
  pages: PassPages,
): Promise<void> {
  let newest: string | undefined;
  for await (const page of stream.client.paginateV1(
    pass.path,
    { ...pass.query, sort: 'id ASC' },
    stream.name,
  )) {
    if (request.stopped()) return;
    const rows = dropOlderSilently(await stream.shapePage(page.records, pass), request.since);
    newest = maxOf(rows, UPDATE_TIME, newest);
    await pages.hand(rows, page.listedAfterMs);
  }
  // Only now is everything up to the newest row read.
  pages.end(newest);
}

function dropOlderSilently(rows: Row[], since: string | undefined): Row[] {
  if (!since) return rows;
  return rows.filter((row) => typeof row[UPDATE_TIME] !== 'string' || row[UPDATE_TIME] >= since);
}

/**
 * A v1 list sorted newest first without a server-side filter (files): read until rows are
 * older than the cursor. Its position is known only at the end (the newest row comes first), so
 * an interrupted pass starts over.
 */
async function readV1NewestFirst(
  stream: RootStream,
  pass: PassSpec,
  request: PassRequest,
): Promise<void> {
  const pages = new PassPages(request);
  let newest: string | undefined;
  for await (const page of stream.client.paginateV1(
    pass.path,
    { ...pass.query, sort: 'update_time DESC' },
    stream.name,
    { prefetch: false, limit: pass.limit ?? 100 },
  )) {
    if (request.stopped()) return;
    let rows = await stream.shapePage(page.records, pass);
    const since = request.since;
    const older = since
      ? rows.findIndex((row) => typeof row[UPDATE_TIME] === 'string' && row[UPDATE_TIME] < since)
      : -1;
    if (older >= 0) rows = rows.slice(0, older);
    newest = maxOf(rows, UPDATE_TIME, newest);
    await pages.hand(rows, page.listedAfterMs);
    if (older >= 0) break;
  }
  pages.end(newest);
}

/**
 * About the API tokens the id-only listing of `ids` records costs on these passes: a page of
 * each pass, and the pages beyond the first on the first pass (the main list: deals' archived
 * ones are few).
 */
export function idListingCost(passes: PassSpec[], ids: number): number {
  const pages = passes.map((pass) => ({
    cost: tokenCost(pass.reader === 'v2' ? 'v2' : 'v1', pass.path),
    size: pass.limit ?? (pass.reader === 'v1-newest-first' ? 100 : PAGE_LIMIT),
  }));
  if (pages.length === 0) return 0;
  const [main] = pages;
  const firstPages = pages.reduce((sum, page) => sum + page.cost, 0);
  return firstPages + Math.ceil(Math.max(0, ids - main.size) / main.size) * main.cost;
}

/**
 * Every id a pass's list holds now, in id order (stable while records change), without time
 * filters: the id-only pass of a delete check.
 */
export async function* readIds(
  stream: RootStream,
  pass: PassSpec,
  query: Query = pass.query ?? {},
): AsyncGenerator<unknown[]> {
  const { client } = stream;
  const pages =
    pass.reader === 'v2'
      ? client.paginateV2(
          pass.path,
          { ...query, sort_by: 'id', sort_direction: 'asc' },
          stream.name,
        )
      : pass.reader === 'v1-cursor'
        ? client.paginateCursor('v1', pass.path, query, stream.name)
        : client.paginateV1(pass.path, { ...query, sort: 'id ASC' }, stream.name, {
            paged: pass.paged,
            limit: pass.limit ?? (pass.reader === 'v1-newest-first' ? 100 : undefined),
          });
  for await (const page of pages) yield page.records.map((record) => record.id);
}
