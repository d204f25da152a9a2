import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

import { FakeClock } from './clock';
import { CustomFieldSpec } from './data/fields';
import { ENDPOINTS } from './endpoints';
import { FaultInjector } from './http/faults';
import { BurstLimiter, DailyBudget } from './http/limits';
import { FakeOAuthServer } from './http/oauth';
import { Router } from './http/router';
import { createRequestHandler, ServerControls, ServerRuntime } from './http/server';
import { StatsRecorder } from './http/stats';
import { MatchCache } from './store/query';
import { FakeStore, TableName } from './store/store';
import {
  CollectionName,
  DEFAULT_SIZES,
  FakePipedriveOptions,
  FakeStats,
  FieldDefinition,
  FieldEntity,
  FlowItem,
  JsonObject,
  RandomFaultOptions,
  RecordId,
  RequestLogEntry,
  Sizes,
  TargetedFault,
} from './types';

/**
 * An in-process fake of Pipedrive's REST API for tests, the demo and the benchmark.
 *
 *   const fake = new FakePipedrive({ seed: 1, sizes: { deals: 1000 } });
 *   await fake.start();            // http://127.0.0.1:<port>, ${url}/api/v1/… and /api/v2/…
 *   fake.update('deals', 12, { stage_id: 3 });
 *   await fake.stop();
 *
 * Records are in Pipedrive's API shapes (v2 for deals, persons, organizations, activities,
 * products, deal products, pipelines and stages; v1 for the rest). Generated records are
 * rebuilt on demand from (seed, row), so a million deals cost a few bytes each.
 */

export const DEFAULT_TOKEN = 'test-token-0123456789abcdef';
export const DEFAULT_NOW = new Date('2026-06-01T12:00:00Z');

/** Every collection, as `fake.db` exposes it (arrays: fine for test-sized data). */
export interface FakeDb {
  deals: JsonObject[];
  persons: JsonObject[];
  organizations: JsonObject[];
  activities: JsonObject[];
  products: JsonObject[];
  dealProducts: JsonObject[];
  pipelines: JsonObject[];
  stages: JsonObject[];
  notes: JsonObject[];
  users: JsonObject[];
  activityTypes: JsonObject[];
  leads: JsonObject[];
  leadLabels: JsonObject[];
  currencies: JsonObject[];
  teams: JsonObject[];
  /** Flow items per deal id, newest first (only deals that have any). */
  flow: Record<number, FlowItem[]>;
  fields: Record<FieldEntity, FieldDefinition[]>;
}

export class FakePipedrive {
  readonly token: string;
  readonly clock: FakeClock;
  readonly sizes: Sizes;
  readonly seed: number;
  /** The OAuth token endpoint (`${url}/oauth/token`): client, tokens, expiry, revocation. */
  readonly oauth: FakeOAuthServer;
  private readonly store: FakeStore;
  private readonly controls: ServerControls;
  private readonly limiter: BurstLimiter;
  private readonly budget: DailyBudget;
  private readonly faults: FaultInjector;
  private readonly recorder = new StatsRecorder();
  private readonly port: number;
  private server: Server | null = null;
  private baseUrl: string | null = null;
  private readonly timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  constructor(options: FakePipedriveOptions = {}) {
    this.seed = options.seed ?? 1;
    this.sizes = { ...DEFAULT_SIZES, ...options.sizes };
    this.token = options.token ?? DEFAULT_TOKEN;
    this.port = options.port ?? 0;
    this.clock = new FakeClock(options.now ?? DEFAULT_NOW);
    const companyDomain = options.companyDomain ?? 'acme';
    this.store = new FakeStore(this.seed, this.sizes, this.clock, companyDomain);
    this.limiter = new BurstLimiter(null);
    this.limiter.setLimit(options.burstLimit ?? null);
    this.budget = new DailyBudget(
      options.dailyTokenBudget ?? null,
      options.sendDailyBudgetHeaders ?? true,
      options.blockAfterBudget429s ?? null,
    );
    this.faults = new FaultInjector(options.faults, this.seed);
    this.oauth = new FakeOAuthServer(options.oauth);
    this.controls = {
      token: this.token,
      tokenRevoked: false,
      legacyTeamsGone: false,
      companyDomain,
      deniedPrefixes: new Set(),
      latencyMs: options.latencyMs ?? 0,
      slowMs: options.slowMs ?? 10_000,
      oauth: this.oauth,
    };
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.server) return;
    const runtime: ServerRuntime = {
      store: this.store,
      clock: this.clock,
      router: new Router(ENDPOINTS),
      limiter: this.limiter,
      budget: this.budget,
      faults: this.faults,
      stats: this.recorder,
      matchCache: new MatchCache(),
      controls: this.controls,
      delay: (ms) => this.delay(ms),
    };
    const server = createServer(createRequestHandler(runtime));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const pending of this.timers) {
      clearTimeout(pending.timer);
      pending.resolve();
    }
    this.timers.clear();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Keep-alive sockets and slow responses must not keep the test process waiting.
      server.closeAllConnections();
    });
  }

  get url(): string {
    if (!this.baseUrl) throw new Error('FakePipedrive is not started: call start() first');
    return this.baseUrl;
  }

  // ---- data access ----------------------------------------------------------------------------

  /** Every record of a collection (deleted and archived ones included), in id order. */
  list(collection: CollectionName): JsonObject[] {
    return [...this.iterate(collection)].map((record) => structuredClone(record));
  }

  /** Like `list`, lazily: use this for large generated collections. */
  iterate(collection: CollectionName): IterableIterator<JsonObject> {
    if (collection === 'dealProducts') return this.store.iterateDealProducts();
    return this.store.iterate(collection);
  }

  count(collection: CollectionName): number {
    let total = 0;
    for (const _ of this.iterate(collection)) total++;
    return total;
  }

  get(collection: TableName, id: RecordId): JsonObject | undefined {
    const found = this.store.find(collection, id);
    return found ? structuredClone(this.store.present(collection, found.record)) : undefined;
  }

  get db(): FakeDb {
    const flow: Record<number, FlowItem[]> = {};
    for (const deal of this.store.iterate('deals')) {
      const items = this.store.flowOf(deal.id as number) ?? [];
      if (items.length > 0) flow[deal.id as number] = structuredClone(items);
    }
    return {
      deals: this.list('deals'),
      persons: this.list('persons'),
      organizations: this.list('organizations'),
      activities: this.list('activities'),
      products: this.list('products'),
      dealProducts: this.list('dealProducts'),
      pipelines: this.list('pipelines'),
      stages: this.list('stages'),
      notes: this.list('notes'),
      users: this.list('users'),
      activityTypes: this.list('activityTypes'),
      leads: this.list('leads'),
      leadLabels: this.list('leadLabels'),
      currencies: this.list('currencies'),
      teams: this.list('teams'),
      flow,
      fields: this.fields(),
    };
  }

  fields(): Record<FieldEntity, FieldDefinition[]> {
    return structuredClone(this.store.fields.definitions);
  }

  /** Flow items of a deal, newest first (undefined for unknown deals). */
  flowOf(dealId: number): FlowItem[] | undefined {
    const items = this.store.flowOf(dealId);
    return items ? structuredClone(items) : undefined;
  }

  dealProductsOf(dealId: number): JsonObject[] {
    return structuredClone(this.store.dealProductsOf(dealId));
  }

  // ---- mutations (all stamp update times with the fake clock) -----------------------------------

  update(collection: TableName, id: RecordId, patch: JsonObject): JsonObject {
    return this.store.update(collection, id, patch);
  }

  insert(collection: TableName, partial: JsonObject = {}): JsonObject {
    return this.store.insert(collection, partial);
  }

  /** Soft delete, like Pipedrive; returns the deleted record (null for purged leads). */
  remove(collection: TableName, id: RecordId): JsonObject | null {
    return this.store.remove(collection, id);
  }

  archive(collection: 'deals' | 'leads', id: RecordId): JsonObject {
    return this.store.archive(collection, id);
  }

  addDealProduct(dealId: number, partial: JsonObject = {}): JsonObject {
    return this.store.addDealProduct(dealId, partial);
  }

  updateDealProduct(id: number, patch: JsonObject): JsonObject {
    return this.store.updateDealProduct(id, patch);
  }

  removeDealProduct(id: number): void {
    this.store.removeDealProduct(id);
  }

  addFlowEvent(dealId: number, item: Partial<FlowItem> = {}): FlowItem {
    return this.store.addFlowEvent(dealId, item);
  }

  setProductPrices(productId: number, prices: JsonObject[]): JsonObject {
    const full = prices.map((price) => ({
      product_id: productId,
      price: 0,
      currency: 'EUR',
      cost: 0,
      direct_cost: null,
      notes: '',
      ...price,
    }));
    return this.store.update('products', productId, { prices: full });
  }

  addCustomField(entity: FieldEntity, spec: CustomFieldSpec): FieldDefinition {
    return structuredClone(this.store.addCustomField(entity, spec));
  }

  // ---- controls -------------------------------------------------------------------------------

  get legacyTeamsGone(): boolean {
    return this.controls.legacyTeamsGone;
  }

  set legacyTeamsGone(gone: boolean) {
    this.controls.legacyTeamsGone = gone;
  }

  /** Requests under this path prefix (`/v1/legacyTeams`, `/api/v2/deals` …) answer 403. */
  denyPermission(pathPrefix: string): void {
    this.controls.deniedPrefixes.add(Router.canonicalPath(pathPrefix));
  }

  allowPermission(pathPrefix: string): void {
    this.controls.deniedPrefixes.delete(Router.canonicalPath(pathPrefix));
  }

  /**
   * The next `times` requests whose path (or path and query) matches fail: a status (JSON
   * envelope; 502 HTML, 504 empty) or 'reset' | 'truncated' | 'html' | 'slow' | 'dataNull' |
   * 'noData'. Checked after authentication and rate limits, before the endpoint.
   */
  failNext(pathRegex: RegExp, status: TargetedFault, times = 1): void {
    this.faults.failNext(pathRegex, status, times);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  setRandomFaults(options: RandomFaultOptions | null): void {
    this.faults.setRandom(options, this.seed);
  }

  revokeToken(): void {
    this.controls.tokenRevoked = true;
  }

  restoreToken(): void {
    this.controls.tokenRevoked = false;
  }

  setBurstLimit(limit: number | null): void {
    this.limiter.setLimit(limit);
  }

  setDailyBudget(tokens: number | null): void {
    this.budget.setLimit(tokens);
  }

  resetDailyBudget(): void {
    this.budget.reset();
  }

  setLatency(ms: number): void {
    this.controls.latencyMs = ms;
  }

  // ---- stats ----------------------------------------------------------------------------------

  get stats(): FakeStats {
    return this.recorder.stats;
  }

  get requestLog(): RequestLogEntry[] {
    return this.recorder.log;
  }

  resetStats(): void {
    this.recorder.reset();
  }

  /** Tokens spent against the daily budget since the last `resetDailyBudget()`. */
  get dailyTokensSpent(): number {
    return this.budget.tokensSpent;
  }

  private delay(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const pending = {
        timer: setTimeout(() => {
          this.timers.delete(pending);
          resolve();
        }, ms),
        resolve,
      };
      this.timers.add(pending);
    });
  }
}

export type { CustomFieldSpec } from './data/fields';
export { DEFAULT_RANDOM_FAULT_KINDS } from './http/faults';
export type { TableName } from './store/store';
export * from './types';
