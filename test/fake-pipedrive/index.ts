import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

import { FakeClock } from './clock';
import { CustomFieldSpec } from './data/fields';
import { MailMessageKind } from './data/mailbox';
import { FollowedTable } from './data/subresources';
import { ENDPOINTS } from './endpoints';
import { FaultInjector } from './http/faults';
import { Latency } from './http/latency';
import { BurstLimiter, DailyBudget } from './http/limits';
import { FakeOAuthServer } from './http/oauth';
import { Router } from './http/router';
import { createRequestHandler, OnePerTurn, ServerControls, ServerRuntime } from './http/server';
import { StatsRecorder } from './http/stats';
import { CursorMemory } from './http/variants';
import { MissingAddonStatus, ProjectCollection } from './store/projects';
import { MatchCache } from './store/query';
import { FakeStore, TableName } from './store/store';
import { assignPermissionSet, assignRole } from './store/workspace';
import {
  CollectionName,
  Compression,
  DEFAULT_SIZES,
  FakePipedriveOptions,
  FakeStats,
  FieldDefinition,
  FieldEntity,
  FlowItem,
  HostMode,
  JsonObject,
  LatencyModel,
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

/** Gets the fake and the request's path with its query string. */
type AfterReadCallback = (fake: FakePipedrive, request: string) => void | Promise<void>;

interface AfterReadHook {
  pattern: RegExp;
  callback: AfterReadCallback;
  remaining: number;
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
  private readonly latency: Latency;
  private readonly recorder = new StatsRecorder();
  private readonly port: number;
  private server: Server | null = null;
  private baseUrl: string | null = null;
  private readonly timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private readonly afterReadHooks: AfterReadHook[] = [];

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
    this.limiter.setOtherClientRate(options.otherClientRequestsPerSecond ?? 0);
    this.budget = new DailyBudget(
      options.dailyTokenBudget ?? null,
      options.sendDailyBudgetHeaders ?? true,
      options.blockAfterBudget429s ?? null,
    );
    this.budget.spendByOthers(options.dailyTokensSpentByOthers ?? 0);
    this.faults = new FaultInjector(options.faults, this.seed);
    this.latency = new Latency({ baseMs: options.latencyMs, ...options.latency }, this.seed);
    this.oauth = new FakeOAuthServer(options.oauth);
    this.controls = {
      token: this.token,
      tokenRevoked: false,
      legacyTeamsGone: false,
      companyDomain,
      deniedPrefixes: new Set(),
      slowMs: options.slowMs ?? 10_000,
      sendTokenCostHeader: options.sendTokenCostHeader ?? true,
      hostMode: options.hostMode ?? 'any',
      compression: options.compression ?? null,
      v1IgnoresUpdatedSince: options.v1IgnoresUpdatedSince ?? false,
      productsRejectUpdatedSince: options.productsRejectUpdatedSince ?? false,
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
      latency: this.latency,
      cursors: new CursorMemory(),
      afterRead: (pathname, pathWithQuery) => this.runAfterReadHooks(pathname, pathWithQuery),
      delay: (ms) => this.delay(ms),
      pages: new OnePerTurn(),
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

  /** A new custom field; one named like an existing field gets its own key, as in Pipedrive. */
  addCustomField(entity: FieldEntity, spec: CustomFieldSpec): FieldDefinition {
    return structuredClone(this.store.addCustomField(entity, spec));
  }

  // Field-definition changes (the "renamed between discover and read" cases): each shows in
  // `/v1/{entity}Fields` and in the records' values (v2 `custom_fields`, v1 lead root keys).

  /** Same key and values, a new name (and `update_time`). */
  renameCustomField(entity: FieldEntity, key: string, name: string): FieldDefinition {
    return structuredClone(this.store.renameCustomField(entity, key, name));
  }

  /** `active_flag: false`; records stop carrying its values until it is reactivated. */
  deactivateCustomField(entity: FieldEntity, key: string): FieldDefinition {
    return structuredClone(this.store.setCustomFieldActive(entity, key, false));
  }

  /** `active_flag: true` again, with the values records had before. */
  reactivateCustomField(entity: FieldEntity, key: string): FieldDefinition {
    return structuredClone(this.store.setCustomFieldActive(entity, key, true));
  }

  /** Gone from the definitions and from every record; its key is never reused. */
  deleteCustomField(entity: FieldEntity, key: string): void {
    this.store.deleteCustomField(entity, key);
  }

  /** Moves a field (standard or custom) to a 0-based position; every `order_nr` follows. */
  moveField(entity: FieldEntity, key: string, position: number): void {
    this.store.moveField(entity, key, position);
  }

  /** Messages of a mail thread, oldest first (undefined for unknown threads). */
  mailMessagesOf(threadId: number): JsonObject[] | undefined {
    const messages = this.store.mailbox.messagesOf(this.store, threadId);
    return messages ? structuredClone(messages) : undefined;
  }

  /** A new thread in the token user's mailbox, with one message stamped with the clock. */
  addMailThread(partial: JsonObject = {}, kind: MailMessageKind = 'received'): JsonObject {
    const thread = this.store.insert('mailThreads', partial);
    this.store.mailbox.addMessage(this.store, thread.id as number, kind, {});
    return this.get('mailThreads', thread.id as number) as JsonObject;
  }

  /** Adds a message (received, sent or draft) to a thread and bumps the thread's update_time. */
  addMailMessage(
    threadId: number,
    kind: MailMessageKind = 'received',
    partial: JsonObject = {},
  ): JsonObject {
    return this.store.mailbox.addMessage(this.store, threadId, kind, partial);
  }

  updateMailMessage(id: number, patch: JsonObject): JsonObject {
    return this.store.mailbox.updateMessage(this.store, id, patch);
  }

  /** Moves a user to a role: `/roles/{id}/assignments` and the user's `role_id` follow. */
  assignRole(userId: number, roleId: number): JsonObject {
    return assignRole(this.store, userId, roleId);
  }

  /** Gives a user a permission set, replacing the user's set of the same app. */
  assignPermissionSet(userId: number, permissionSetId: string): JsonObject {
    return assignPermissionSet(this.store, userId, permissionSetId);
  }

  // ---- Projects add-on: boards, phases, projects, tasks ------------------------------------------

  /** false: every projects, tasks, boards and phases endpoint answers 403 (see `setProjectsAddon`). */
  get projectsAddon(): boolean {
    return this.store.projects.missingAddonStatus === null;
  }

  set projectsAddon(enabled: boolean) {
    this.setProjectsAddon(enabled);
  }

  /** Pipedrive documents no status for a company without the add-on: 403 is the likely one. */
  setProjectsAddon(enabled: boolean, missingStatus: MissingAddonStatus = 403): void {
    this.store.projects.missingAddonStatus = enabled ? null : missingStatus;
  }

  /** What Pipedrive still has: deleted and archived projects included, removed tasks etc. not. */
  projectItems(collection: ProjectCollection): JsonObject[] {
    return structuredClone(this.store.projects.list(collection));
  }

  insertProjectItem(collection: ProjectCollection, partial: JsonObject = {}): JsonObject {
    return this.store.projects.insert(collection, partial);
  }

  /** Stamps update_time (and status_change_time / marked_as_done_time when those change). */
  updateProjectItem(collection: ProjectCollection, id: number, patch: JsonObject): JsonObject {
    return this.store.projects.update(collection, id, patch);
  }

  /** Projects become `status: deleted` (returned); tasks with their subtasks, boards, phases vanish. */
  removeProjectItem(collection: ProjectCollection, id: number): JsonObject | null {
    return this.store.projects.remove(collection, id);
  }

  /** Sets archive_time: the project leaves `/projects` unless `include_archived=true`. */
  archiveProject(id: number): JsonObject {
    return this.store.projects.archive(id);
  }

  // ---- followers, deal participants, installments, product variations ----------------------------
  // Pipedrive keeps these as records of their own: changing them leaves the parent's update_time.

  /** v2 followers `{user_id, add_time}`; undefined for an unknown parent. */
  followersOf(table: FollowedTable, id: number): JsonObject[] | undefined {
    const followers = this.store.subresources.followersOf(table, id);
    return followers ? structuredClone(followers) : undefined;
  }

  addFollower(table: FollowedTable, id: number, userId: number): JsonObject {
    return this.store.subresources.addFollower(table, id, userId);
  }

  removeFollower(table: FollowedTable, id: number, userId: number): void {
    this.store.subresources.removeFollower(table, id, userId);
  }

  /** Stored rows `{id, deal_id, person_id, add_time, added_by_user_id}` (the endpoint joins the rest). */
  dealParticipantsOf(dealId: number): JsonObject[] | undefined {
    const participants = this.store.subresources.dealParticipantsOf(dealId);
    return participants ? structuredClone(participants) : undefined;
  }

  addDealParticipant(dealId: number, personId: number, addedByUserId = 1): JsonObject {
    return this.store.subresources.addDealParticipant(dealId, personId, addedByUserId);
  }

  removeDealParticipant(dealId: number, participantId: number): void {
    this.store.subresources.removeDealParticipant(dealId, participantId);
  }

  installmentsOf(dealId: number): JsonObject[] {
    return structuredClone(this.store.subresources.installmentsOf(dealId));
  }

  /** Throws, like Pipedrive's 400, unless the deal's products are all one-time ones. */
  addInstallment(dealId: number, partial: JsonObject = {}): JsonObject {
    return this.store.subresources.addInstallment(dealId, partial);
  }

  updateInstallment(dealId: number, id: number, patch: JsonObject): JsonObject {
    return this.store.subresources.updateInstallment(dealId, id, patch);
  }

  removeInstallment(dealId: number, id: number): void {
    this.store.subresources.removeInstallment(dealId, id);
  }

  /** undefined for an unknown product. */
  productVariationsOf(productId: number): JsonObject[] | undefined {
    const variations = this.store.subresources.variationsOf(productId);
    return variations ? structuredClone(variations) : undefined;
  }

  addProductVariation(productId: number, partial: JsonObject = {}): JsonObject {
    return this.store.subresources.addVariation(productId, partial);
  }

  updateProductVariation(productId: number, id: number, patch: JsonObject): JsonObject {
    return this.store.subresources.updateVariation(productId, id, patch);
  }

  removeProductVariation(productId: number, id: number): void {
    this.store.subresources.removeVariation(productId, id);
  }

  // ---- controls -------------------------------------------------------------------------------

  get legacyTeamsGone(): boolean {
    return this.controls.legacyTeamsGone;
  }

  set legacyTeamsGone(gone: boolean) {
    this.controls.legacyTeamsGone = gone;
  }

  /** `company` or `global` refuses the other host's v1 base with a 404; `any` takes both. */
  setHostMode(mode: HostMode): void {
    this.controls.hostMode = mode;
  }

  /** Compress answers from now on (when the request accepts it), or not (null). */
  setCompression(compression: Compression | null): void {
    this.controls.compression = compression;
  }

  /** v1 notes and leads (archived too) silently ignore `updated_since`, as before 2026-01-30. */
  setV1IgnoresUpdatedSince(ignore: boolean): void {
    this.controls.v1IgnoresUpdatedSince = ignore;
  }

  /** v2 products answer 400 to `updated_since`/`updated_until`, as the Dec 2025 file implies. */
  setProductsRejectUpdatedSince(reject: boolean): void {
    this.controls.productsRejectUpdatedSince = reject;
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
   * envelope; 502 HTML, 504 empty), an `ErrorAnswer` with its own `error`/`error_info`, or
   * 'reset' | 'truncated' | 'html' | 'slow' | 'dataNull' | 'noData' | 'successFalse', or one of
   * the odd-but-real answers built from the real one ('noPagination', 'stuckPagination',
   * 'cursorCycle', 'staleRecords', 'deletedNullTime', 'deletedBadTime', 'missingId').
   * `times = Infinity` makes the rule persistent until `clearFaults()`. Checked after
   * authentication and rate limits, before the endpoint.
   */
  failNext(pathRegex: RegExp, status: TargetedFault, times = 1): void {
    this.faults.failNext(pathRegex, status, times);
  }

  /**
   * Runs `callback` after a matching request's endpoint has read its data and before the answer
   * (with its `Date` header, taken from the fake clock afterwards) is written: a change made
   * here is newer than the data served yet not newer than the Date. The next `times` matching
   * requests (default: all) run it, in order; the returned function removes it. The answer
   * waits for a callback's promise: a test can hold one request while the others go on.
   */
  onAfterRead(pathRegex: RegExp, callback: AfterReadCallback, times = Infinity): () => void {
    const hook: AfterReadHook = { pattern: pathRegex, callback, remaining: times };
    this.afterReadHooks.push(hook);
    return () => this.removeAfterReadHook(hook);
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

  /**
   * Another client on the same token makes this many requests per second (0: none). They count
   * in the burst window like this client's own (stats leave them out), so 429s can come while
   * the connector itself sends few requests.
   */
  setOtherClient(requestsPerSecond: number): void {
    this.limiter.setOtherClientRate(requestsPerSecond);
  }

  setDailyBudget(tokens: number | null): void {
    this.budget.setLimit(tokens);
  }

  /** Midnight: a fresh budget for the whole company, other integrations' spending included. */
  resetDailyBudget(): void {
    this.budget.reset();
  }

  /** Another integration of the company spends `tokens` of the shared daily budget now. */
  spendDailyTokensByOthers(tokens: number): void {
    this.budget.spendByOthers(tokens);
  }

  /** Whether charged answers carry `x-token-cost` (they do by default, like Pipedrive's). */
  setTokenCostHeader(send: boolean): void {
    this.controls.sendTokenCostHeader = send;
  }

  /**
   * A number is a fixed delay per answer (no jitter, no size part); a model replaces the whole
   * model, its missing parts being zero.
   */
  setLatency(latency: number | LatencyModel): void {
    this.latency.set(latency);
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

  /** Tokens this fake's clients spent since the last `resetDailyBudget()` (others' excluded). */
  get dailyTokensSpent(): number {
    return this.budget.tokensSpent;
  }

  get dailyTokensSpentByOthers(): number {
    return this.budget.tokensSpentByOthers;
  }

  private async runAfterReadHooks(pathname: string, pathWithQuery: string): Promise<void> {
    for (const hook of [...this.afterReadHooks]) {
      hook.pattern.lastIndex = 0;
      const matches = hook.pattern.test(pathname) || hook.pattern.test(pathWithQuery);
      if (!matches || hook.remaining <= 0) continue;
      if (--hook.remaining <= 0) this.removeAfterReadHook(hook);
      await hook.callback(this, pathWithQuery);
    }
  }

  private removeAfterReadHook(hook: AfterReadHook): void {
    const index = this.afterReadHooks.indexOf(hook);
    if (index >= 0) this.afterReadHooks.splice(index, 1);
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
export type { MailMessageKind } from './data/mailbox';
export type { FollowedTable } from './data/subresources';
export { DEFAULT_RANDOM_FAULT_KINDS } from './http/faults';
export type { MissingAddonStatus, ProjectCollection } from './store/projects';
export type { TableName } from './store/store';
export * from './types';
