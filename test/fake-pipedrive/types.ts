import type { FakeOAuthOptions } from './http/oauth';

/** Public types of the fake Pipedrive. Records are plain JSON objects in Pipedrive's API shape. */

export type JsonObject = Record<string, unknown>;
export type RecordId = number | string;

export interface Sizes {
  users: number;
  pipelines: number;
  stagesPerPipeline: number;
  organizations: number;
  persons: number;
  /** Deals served by `/api/v2/deals` (neither archived nor deleted). */
  deals: number;
  /** Extra deals only served by `/api/v2/deals/archived`. */
  archivedDeals: number;
  /** Extra deals deleted within the last 30 days (`status=deleted`). */
  deletedDeals: number;
  /** Each deal gets 0..productsPerDealMax products attached. */
  productsPerDealMax: number;
  products: number;
  activities: number;
  notes: number;
  /** Leads in the inbox (`/v1/leads`). */
  leads: number;
  /** Extra leads only served by `/v1/leads/archived`. */
  archivedLeads: number;
  leadLabels: number;
  teams: number;
  /** Each deal gets 0..flowEventsPerDealMax generated flow items. */
  flowEventsPerDealMax: number;
  /** `/v1/files`; every 12th one is soft-deleted (hidden from the list). */
  files: number;
  filters: number;
  goals: number;
  /** The token user's mailbox (`/v1/mailbox/mailThreads`). */
  mailThreads: number;
  /** Each thread gets 1..mailMessagesPerThreadMax generated messages. */
  mailMessagesPerThreadMax: number;
  /** Call logs of every user; `/v1/callLogs` serves only the token user's. */
  callLogs: number;
  roles: number;
  /** Project boards (Projects add-on), each with `projectPhasesPerBoard` phases. */
  projectBoards: number;
  projectPhasesPerBoard: number;
  /** Projects served by `/v1/projects` by default (neither archived nor deleted). */
  projects: number;
  /** Extra projects only served with `include_archived=true`. */
  archivedProjects: number;
  /** Extra projects only served with `status=…,deleted`. */
  deletedProjects: number;
  /** Each project gets 0..tasksPerProjectMax tasks, some of them subtasks. */
  tasksPerProjectMax: number;
  /** Each deal gets 0..dealParticipantsPerDealMax participants (its contact person first). */
  dealParticipantsPerDealMax: number;
  /** Each deal, person, organization and product gets 0..followersPerItemMax followers. */
  followersPerItemMax: number;
  /** Each deal whose products are all one-time gets 0..installmentsPerDealMax installments. */
  installmentsPerDealMax: number;
  /** Each product gets 0..variationsPerProductMax variations. */
  variationsPerProductMax: number;
  /** An activity with a person has 1..activityParticipantsMax participants. */
  activityParticipantsMax: number;
  /** Each activity gets 0..activityAttendeesMax calendar attendees. */
  activityAttendeesMax: number;
}

export const DEFAULT_SIZES: Sizes = {
  users: 8,
  pipelines: 3,
  stagesPerPipeline: 5,
  organizations: 120,
  persons: 300,
  deals: 400,
  archivedDeals: 15,
  deletedDeals: 10,
  productsPerDealMax: 3,
  products: 40,
  activities: 600,
  notes: 500,
  leads: 60,
  archivedLeads: 8,
  leadLabels: 5,
  teams: 4,
  flowEventsPerDealMax: 6,
  files: 40,
  filters: 12,
  goals: 8,
  mailThreads: 30,
  mailMessagesPerThreadMax: 4,
  callLogs: 30,
  roles: 5,
  projectBoards: 2,
  projectPhasesPerBoard: 4,
  projects: 24,
  archivedProjects: 3,
  deletedProjects: 2,
  tasksPerProjectMax: 5,
  dealParticipantsPerDealMax: 3,
  followersPerItemMax: 3,
  installmentsPerDealMax: 3,
  variationsPerProductMax: 3,
  activityParticipantsMax: 3,
  activityAttendeesMax: 4,
};

/**
 * Injectable failures. Numeric kinds are HTTP statuses: 500/503 answer Pipedrive's JSON error
 * envelope, 502 an HTML gateway page, 504 an empty body.
 */
export type FaultKind =
  | '500'
  | '502'
  | '503'
  | '504'
  /** The socket is destroyed before any byte is written. */
  | 'reset'
  /** 200 with the first half of the real JSON body, then the connection ends. */
  | 'truncated'
  /** The real answer, but only after `slowMs`. */
  | 'slow'
  /** 200 `{"success":true,"data":null}` (seen from the flow endpoint in the wild). */
  | 'dataNull'
  /** 200 `{"success":true}` without `data`. */
  | 'noData'
  /** 200 with an HTML page instead of JSON (a proxy's maintenance page). */
  | 'html'
  /** 200 `{"success":false,"error":…,"error_info":…,"data":null}`. */
  | 'successFalse'
  // The kinds below change the real answer (and are charged like it) instead of replacing it.
  /** A list without its paging block: v1 loses `additional_data.pagination`, v2 all of it. */
  | 'noPagination'
  /**
   * v1 (an OpenAPI-generated mock): the first page whatever `start` says, with
   * `more_items_in_collection: true` and `next_start` = start + 1.
   */
  | 'stuckPagination'
  /**
   * v2: `next_cursor` is the cursor issued one page before the request's own, so the pass
   * cycles over two pages. Waits for a request that has such a cursor (page 3 or later).
   */
  | 'cursorCycle'
  /** Records updated before the requested `updated_since` come first in the page. */
  | 'staleRecords'
  /** The page's last record comes as deleted (`is_deleted: true`) with `update_time: null`. */
  | 'deletedNullTime'
  /** The page's last record comes as deleted with `update_time: "0000-00-00 00:00:00"`. */
  | 'deletedBadTime'
  /** The page's last record comes without its `id`. */
  | 'missingId';

/** A JSON error answer with Pipedrive's `error` and `error_info`; 200 means `success: false`. */
export interface ErrorAnswer {
  status: number;
  error?: string;
  errorInfo?: string;
}

/**
 * What `failNext` accepts: any HTTP status (JSON envelope, HTML for 502, empty for 504), a kind,
 * or an error answer with its own text.
 */
export type TargetedFault = number | FaultKind | ErrorAnswer;

export interface RandomFaultOptions {
  /** Probability in [0, 1] that an authenticated request gets a fault. */
  rate: number;
  /** Kinds to draw from; default: every kind except 'slow'. */
  kinds?: FaultKind[];
  /** Seed of the fault RNG (default: the data seed). */
  seed?: number;
}

/**
 * Which base paths answer: `company` is {company}.pipedrive.com (`/api/v1`, `/api/v2`),
 * `global` is api.pipedrive.com (`/v1`, `/api/v2`), `any` accepts all three (lenient).
 */
export type HostMode = 'company' | 'global' | 'any';

/** A content-encoding the fake can answer with. */
export type Compression = 'gzip' | 'deflate' | 'br';

export interface FakePipedriveOptions {
  seed?: number;
  sizes?: Partial<Sizes>;
  token?: string;
  companyDomain?: string;
  /** Requests per rolling 2 s per token; null/0 = unlimited (no x-ratelimit-* headers). */
  burstLimit?: number | null;
  /**
   * Another client on the same token, in steady requests per second: its requests count in the
   * burst window (not in the stats), so 429s come while the connector's own rate is low.
   */
  otherClientRequestsPerSecond?: number;
  /** Daily token budget; null = unlimited. */
  dailyTokenBudget?: number | null;
  sendDailyBudgetHeaders?: boolean;
  /**
   * Tokens of the daily budget other integrations of the company spent before the fake starts
   * (the budget is shared); `resetDailyBudget()` clears them like midnight does. Default 0.
   */
  dailyTokensSpentByOthers?: number;
  /** Send `x-token-cost: <cost>` on every charged answer, like Pipedrive (default true). */
  sendTokenCostHeader?: boolean;
  /**
   * After the daily budget is exhausted, this many 429s are answered, then a Cloudflare-like 403
   * HTML page until `resetDailyBudget()` (Pipedrive's punishment for hammering). null = never.
   */
  blockAfterBudget429s?: number | null;
  faults?: RandomFaultOptions | null;
  /** Delay of the 'slow' fault (default 10 s). */
  slowMs?: number;
  now?: Date;
  /** Fixed delay per answer; the same as `latency: { baseMs }` (which wins if both are set). */
  latencyMs?: number;
  /** Per-answer delay: fixed part, seeded jitter and a part per KB of body. Default: none. */
  latency?: LatencyModel;
  /** Default `any`; otherwise the other host's v1 base answers 404 "Unknown method". */
  hostMode?: HostMode;
  /**
   * Compress answers with this encoding when the request's accept-encoding allows it, as
   * Pipedrive (behind Cloudflare) does. Default none: plain bodies, as a proxy may send them.
   */
  compression?: Compression | null;
  /** v1 notes and leads ignore `updated_since` (a server from before 2026-01-30). Default false. */
  v1IgnoresUpdatedSince?: boolean;
  /** v2 products answer 400 to `updated_since`/`updated_until` (December 2025). Default false. */
  productsRejectUpdatedSince?: boolean;
  /** Port to listen on (default 0: ephemeral). */
  port?: number;
  /** The OAuth app and its tokens (`${url}/oauth/token`); defaults work out of the box. */
  oauth?: FakeOAuthOptions;
}

export interface LatencyModel {
  /** Every answer waits at least this long. */
  baseMs?: number;
  /** Plus a uniformly drawn [0, jitterMs), from a seeded RNG. */
  jitterMs?: number;
  /** Plus this much per 1024 bytes of body: big pages are slower than small lists. */
  perKbMs?: number;
  /** Seed of the jitter RNG (default: the data seed). */
  seed?: number;
}

export type CollectionName =
  | 'deals'
  | 'persons'
  | 'organizations'
  | 'activities'
  | 'products'
  | 'dealProducts'
  | 'pipelines'
  | 'stages'
  | 'notes'
  | 'users'
  | 'activityTypes'
  | 'leads'
  | 'leadLabels'
  | 'currencies'
  | 'teams'
  | 'files'
  | 'filters'
  | 'goals'
  | 'mailThreads'
  | 'callLogs'
  | 'roles'
  | 'permissionSets';

export type FieldEntity = 'deal' | 'person' | 'organization' | 'product' | 'activity';

export interface EndpointStats {
  requests: number;
  tokens: number;
}

export interface FakeStats {
  requests: number;
  /** Keyed by method and templated canonical path, e.g. `GET /api/v2/deals`. */
  byEndpoint: Record<string, EndpointStats>;
  tokensSpent: number;
  responses429: number;
  responses5xx: number;
  faultsInjected: number;
  /** Most requests received (answered or not) in any rolling 2 s window. */
  maxRequestsInAnyWindow: number;
  /** Requests between arrival and the end of their response right now. */
  inFlight: number;
  /** Most requests in flight at once (since the last `resetStats()`). */
  maxInFlight: number;
}

export interface RequestLogEntry {
  /** Wall-clock epoch milliseconds when the request arrived. */
  t: number;
  method: string;
  /** Raw path as requested, without the query string. */
  path: string;
  query: Record<string, string>;
  status: number;
  cost: number;
  headers: Record<string, string>;
}

export interface FieldOption {
  id: number;
  label: string;
}

/** v1 field definition (`/v1/dealFields` etc.). */
export interface FieldDefinition extends JsonObject {
  id: number;
  key: string;
  name: string;
  order_nr: number;
  field_type: string;
  add_time: string;
  update_time: string;
  last_updated_by_user_id: number | null;
  created_by_user_id: number | null;
  active_flag: boolean;
  edit_flag: boolean;
  index_visible_flag: boolean;
  details_visible_flag: boolean;
  add_visible_flag: boolean;
  important_flag: boolean;
  bulk_edit_allowed: boolean;
  searchable_flag: boolean;
  filtering_allowed: boolean;
  sortable_flag: boolean;
  mandatory_flag: boolean;
  options: FieldOption[] | null;
  json_column_flag: boolean;
}

/** v1 flow item (`/v1/deals/{id}/flow`). */
export interface FlowItem extends JsonObject {
  object: string;
  timestamp: string;
  data: JsonObject;
}
