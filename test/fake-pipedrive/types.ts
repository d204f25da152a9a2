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
  | 'html';

/** What `failNext` accepts: any HTTP status (JSON envelope, HTML for 502, empty for 504). */
export type TargetedFault = number | FaultKind;

export interface RandomFaultOptions {
  /** Probability in [0, 1] that an authenticated request gets a fault. */
  rate: number;
  /** Kinds to draw from; default: every kind except 'slow'. */
  kinds?: FaultKind[];
  /** Seed of the fault RNG (default: the data seed). */
  seed?: number;
}

export interface FakePipedriveOptions {
  seed?: number;
  sizes?: Partial<Sizes>;
  token?: string;
  companyDomain?: string;
  /** Requests per rolling 2 s per token; null/0 = unlimited (no x-ratelimit-* headers). */
  burstLimit?: number | null;
  /** Daily token budget; null = unlimited. */
  dailyTokenBudget?: number | null;
  sendDailyBudgetHeaders?: boolean;
  /**
   * After the daily budget is exhausted, this many 429s are answered, then a Cloudflare-like 403
   * HTML page until `resetDailyBudget()` (Pipedrive's punishment for hammering). null = never.
   */
  blockAfterBudget429s?: number | null;
  faults?: RandomFaultOptions | null;
  /** Delay of the 'slow' fault (default 10 s). */
  slowMs?: number;
  now?: Date;
  latencyMs?: number;
  /** Port to listen on (default 0: ephemeral). */
  port?: number;
  /** The OAuth app and its tokens (`${url}/oauth/token`); defaults work out of the box. */
  oauth?: FakeOAuthOptions;
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
  | 'teams';

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
