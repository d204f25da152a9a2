import { IncomingMessage, ServerResponse } from 'node:http';
import zlib from 'node:zlib';

import { FakeClock } from '../clock';
import { EndpointControls, EndpointResult } from '../endpoints/common';
import { MatchCache } from '../store/query';
import { FakeStore } from '../store/store';
import { Compression, ErrorAnswer, HostMode, JsonObject, TargetedFault } from '../types';
import {
  ApiError,
  BAD_GATEWAY_HTML,
  BURST_LIMIT_BODY,
  CLOUDFLARE_BLOCK_HTML,
  DAILY_BUDGET_BODY,
  ERROR_INFO,
  errorEnvelope,
  FORBIDDEN_BODY,
  MAINTENANCE_HTML,
  UNAUTHORIZED_BODY,
} from './errors';
import { FaultInjector } from './faults';
import { Latency } from './latency';
import { LegacyControls, legacyQuery } from './legacy';
import { BurstLimiter, DailyBudget } from './limits';
import { FakeOAuthServer } from './oauth';
import { RouteMatch, Router } from './router';
import { StatsRecorder } from './stats';
import {
  AnswerVariant,
  applyVariant,
  CursorMemory,
  isAnswerVariant,
  variantApplies,
  variantQuery,
  VariantRequest,
} from './variants';
import { handleClockControl, handleWrite, parseWriteBody } from './writes';

/**
 * The request pipeline, in Pipedrive's order: authentication, burst limit, daily budget, then
 * (fake only) injected faults, host and routing, permissions and the endpoint itself; then
 * the answer's variant, the after-read hooks, the Date header and the latency.
 */

export interface ServerControls extends EndpointControls, LegacyControls {
  token: string;
  tokenRevoked: boolean;
  /** Canonical path prefixes answering 403. */
  deniedPrefixes: Set<string>;
  slowMs: number;
  sendTokenCostHeader: boolean;
  hostMode: HostMode;
  /** The encoding answers are compressed with when the request accepts it (null: none). */
  compression: Compression | null;
  /** The OAuth token endpoint and the bearer access tokens the API accepts. */
  oauth: FakeOAuthServer;
}

export interface ServerRuntime {
  store: FakeStore;
  clock: FakeClock;
  router: Router;
  limiter: BurstLimiter;
  budget: DailyBudget;
  faults: FaultInjector;
  stats: StatsRecorder;
  matchCache: MatchCache;
  controls: ServerControls;
  latency: Latency;
  cursors: CursorMemory;
  /** Runs the `onAfterRead` hooks matching the request. */
  afterRead(pathname: string, pathWithQuery: string): Promise<void>;
  /** Resolves after `ms`, unless the fake stops first. */
  delay(ms: number): Promise<void>;
  /** Answers are built one per event-loop turn (see OnePerTurn). */
  pages: OnePerTurn;
}

interface Outcome {
  status: number;
  kind: 'json' | 'html' | 'empty' | 'reset' | 'truncated';
  body?: JsonObject | string;
  headers: Record<string, string>;
  cost: number;
  fault: boolean;
}

const STATUS_MESSAGES: Record<number, string> = {
  // A 200 with `success: false`: Pipedrive's catch-all text for a request it did not carry out.
  200: 'Request could not be completed',
  400: 'Bad request',
  401: 'unauthorized access',
  402: 'Company account is not open (possible reason: trial expired, payment details not entered)',
  403: "You don't have permission to access this resource",
  404: 'Not found',
  410: 'Gone',
  422: 'Unprocessable entity',
  429: 'Request over limit',
  500: 'Internal server error',
  503: 'Service unavailable',
};

/**
 * Building and rendering a page of records takes the fake tens of milliseconds of CPU. Run back
 * to back (libuv runs every ready callback of a phase in one go), a dozen of them would hold
 * the event loop for hundreds of ms, and requests arriving meanwhile would be stamped late, all
 * together: the burst window would count bunches the client never sent. So pages are built one
 * per event-loop turn, with the arrivals of that turn stamped in between.
 */
export class OnePerTurn {
  private readonly waiting: Array<() => void> = [];
  private scheduled = false;

  turn(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // An immediate queued from an immediate runs on the next turn, after the poll phase.
    setImmediate(() => {
      this.scheduled = false;
      this.waiting.shift()?.();
      if (this.waiting.length > 0) this.schedule();
    });
  }
}

export function createRequestHandler(runtime: ServerRuntime) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    handle(runtime, request, response).catch((error: unknown) => {
      // A bug in the fake must be loud, but must not take the test process down.
      console.error('fake-pipedrive: unhandled error', error);
      if (!response.headersSent) writeOutcome(response, internalError(), render(internalError()));
    });
  };
}

async function handle(runtime: ServerRuntime, request: IncomingMessage, response: ServerResponse) {
  const arrivedAt = Date.now();
  runtime.stats.arrival(arrivedAt);
  runtime.stats.started();
  // 'close' comes once per response, whether it was sent, reset or abandoned by the client.
  response.once('close', () => runtime.stats.ended());
  const url = new URL(request.url ?? '/', 'http://fake.invalid');
  const query = queryRecord(url.searchParams);
  const method = request.method ?? 'GET';
  const body = method === 'GET' || method === 'HEAD' ? '' : await readBody(request);
  // Outside the API: the OAuth server (its own host at Pipedrive) and the fake's clock control.
  const side =
    url.pathname === '/oauth/token' && method === 'POST'
      ? runtime.controls.oauth.handle(
          request.headers.authorization,
          body,
          `http://${request.headers.host ?? '127.0.0.1'}`,
        )
      : handleClockControl(runtime.clock, method, url.pathname, query);
  if (side) {
    const outcome = json(side.status, side.body);
    writeOutcome(response, outcome, render(outcome));
    return;
  }
  const served = Router.servedOn(runtime.controls.hostMode, url.pathname);
  const route = served ? runtime.router.match(url.pathname) : null;
  const outcome = await decide(runtime, request, url, query, route, body);

  runtime.stats.record(
    {
      t: arrivedAt,
      method,
      path: url.pathname,
      query,
      status: outcome.kind === 'reset' ? 0 : outcome.status,
      cost: outcome.cost,
      headers: flattenHeaders(request),
    },
    `${method} ${route ? route.template : url.pathname}`,
    outcome.fault,
  );
  if (response.destroyed || response.writableEnded) return;
  // Like Pipedrive, answer with the server's own time: the fake's clock, not the wall clock.
  // It is stamped when the answer is ready; the latency that follows is the trip to the client.
  outcome.headers = { ...outcome.headers, date: runtime.clock.now().toUTCString() };
  const rendered = render(outcome);
  const wait = runtime.latency.delayFor(rendered.bytes);
  // Each request sleeps on its own timer, so concurrent requests overlap their latency.
  if (wait > 0) await runtime.delay(wait);
  if (response.destroyed || response.writableEnded) return;
  writeOutcome(response, outcome, rendered, negotiated(runtime.controls.compression, request));
}

/** The fake's compression, if the request's accept-encoding lists it. */
function negotiated(
  compression: Compression | null,
  request: IncomingMessage,
): Compression | undefined {
  if (!compression) return undefined;
  const accepted = String(request.headers['accept-encoding'] ?? '')
    .split(',')
    .map((part) => part.split(';')[0].trim().toLowerCase());
  return accepted.includes(compression) ? compression : undefined;
}

const COMPRESSORS: Record<Compression, (text: string) => Buffer> = {
  gzip: (text) => zlib.gzipSync(text),
  deflate: (text) => zlib.deflateSync(text),
  br: (text) => zlib.brotliCompressSync(text),
};

async function decide(
  runtime: ServerRuntime,
  request: IncomingMessage,
  url: URL,
  query: Record<string, string>,
  route: RouteMatch | null,
  body: string,
): Promise<Outcome> {
  const { controls } = runtime;
  const bearer = bearerToken(request);
  const token = bearer ?? requestToken(request, query);
  const valid =
    bearer !== undefined
      ? controls.oauth.accepts(bearer)
      : token === controls.token && !controls.tokenRevoked;
  if (token === undefined || !valid) {
    return json(401, UNAUTHORIZED_BODY);
  }

  const burst = runtime.limiter.admit(token, Date.now());
  if (!burst.allowed) {
    return json(429, BURST_LIMIT_BODY, { ...burst.headers, ...runtime.budget.headers() });
  }
  const budgetState = runtime.budget.admit();
  if (budgetState === 'blocked') {
    return {
      status: 403,
      kind: 'html',
      body: CLOUDFLARE_BLOCK_HTML,
      headers: {},
      cost: 0,
      fault: false,
    };
  }
  if (budgetState === 'exhausted') {
    return json(429, DAILY_BUDGET_BODY, { ...burst.headers, ...runtime.budget.headers() });
  }

  const variantRequest = route ? variantRequestOf(runtime, route, url, query) : null;
  const fault = runtime.faults.next(url.pathname, url.pathname + url.search, (candidate) =>
    isAnswerVariant(candidate)
      ? variantRequest !== null && variantApplies(candidate, variantRequest)
      : true,
  );
  if (fault !== null && fault !== 'slow' && fault !== 'truncated' && !isAnswerVariant(fault)) {
    // A forced 429 stands for a window spent by someone: it frees in 2 s, as Pipedrive would say.
    const headers =
      fault === 429
        ? { ...burst.headers, 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '2' }
        : burst.headers;
    return { ...faultOutcome(fault), headers, fault: true };
  }

  if (request.method !== 'GET') {
    let written;
    try {
      written = handleWrite(
        runtime.store,
        request.method ?? '',
        url.pathname,
        parseWriteBody(body, request.headers['content-type']),
      );
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      written = { status: error.status, body: error.body() };
    }
    if (written) {
      return json(written.status, written.body, { ...burst.headers, ...runtime.budget.headers() });
    }
  }
  if (!route || !variantRequest || request.method !== 'GET') {
    const headers = { ...burst.headers, ...runtime.budget.headers() };
    return json(404, errorEnvelope('Unknown method .', { errorCode: 404 }), headers);
  }
  const variant = isAnswerVariant(fault) ? fault : null;
  await runtime.pages.turn();
  let result = serve(runtime, route, url, variantQuery(variant, query));
  runtime.cursors.remember(route.template, query.cursor, result);
  if (variant) result = applyVariant(variant, result, variantRequest);
  // The data is read; whatever the hooks change lands between the read and the Date header.
  await runtime.afterRead(url.pathname, url.pathname + url.search);
  const status = result.status ?? 200;
  // Pipedrive charges the calls it served, the caller's own mistakes (4xx) included.
  const cost = status < 500 ? route.endpoint.cost : 0;
  runtime.budget.charge(cost);
  const headers = { ...burst.headers, ...runtime.budget.headers() };
  if (cost > 0 && controls.sendTokenCostHeader) headers['x-token-cost'] = String(cost);
  const outcome: Outcome = { ...json(status, result.body, headers), cost, fault: fault !== null };

  if (fault === 'slow') await runtime.delay(controls.slowMs);
  if (fault === 'truncated') return { ...outcome, kind: 'truncated' };
  return outcome;
}

function variantRequestOf(
  runtime: ServerRuntime,
  route: RouteMatch,
  url: URL,
  query: Record<string, string>,
): VariantRequest {
  return {
    version: route.endpoint.version,
    endpoint: route.template,
    query,
    cursors: runtime.cursors,
    serve: (borrowed) => serve(runtime, route, url, borrowed),
  };
}

function serve(
  runtime: ServerRuntime,
  route: RouteMatch,
  url: URL,
  query: Record<string, string>,
): EndpointResult {
  const canonical = Router.canonicalPath(url.pathname);
  for (const prefix of runtime.controls.deniedPrefixes) {
    if (canonical === prefix || canonical.startsWith(`${prefix}/`)) {
      return { status: 403, body: FORBIDDEN_BODY };
    }
  }
  try {
    return route.endpoint.handle({
      store: runtime.store,
      query: legacyQuery(runtime.controls, route.template, query),
      params: route.params,
      controls: runtime.controls,
      nowSeconds: runtime.clock.nowSeconds(),
      matchCache: runtime.matchCache,
    });
  } catch (error) {
    if (error instanceof ApiError) return { status: error.status, body: error.body() };
    console.error('fake-pipedrive: endpoint failed', error);
    return { status: 500, body: errorEnvelope('Internal server error', { errorCode: 500 }) };
  }
}

function faultOutcome(
  fault: Exclude<TargetedFault, 'slow' | 'truncated' | AnswerVariant>,
): Omit<Outcome, 'headers' | 'fault'> {
  if (typeof fault === 'object') return errorAnswer(fault);
  if (fault === 'reset') return { status: 0, kind: 'reset', cost: 0 };
  if (fault === 'dataNull')
    return { status: 200, kind: 'json', body: { success: true, data: null }, cost: 0 };
  if (fault === 'noData') return { status: 200, kind: 'json', body: { success: true }, cost: 0 };
  if (fault === 'html') return { status: 200, kind: 'html', body: MAINTENANCE_HTML, cost: 0 };
  if (fault === 'successFalse') return errorAnswer({ status: 200 });
  const status = Number(fault);
  if (status === 502) return { status, kind: 'html', body: BAD_GATEWAY_HTML, cost: 0 };
  if (status === 504) return { status, kind: 'empty', cost: 0 };
  if (status === 401) return { status, kind: 'json', body: UNAUTHORIZED_BODY, cost: 0 };
  if (status === 429) return { status, kind: 'json', body: BURST_LIMIT_BODY, cost: 0 };
  return errorAnswer({ status });
}

/** Pipedrive's envelope with the given texts; a 200 is the `success: false` answer. */
function errorAnswer(answer: ErrorAnswer): Omit<Outcome, 'headers' | 'fault'> {
  const { status } = answer;
  const error = answer.error ?? STATUS_MESSAGES[status] ?? `HTTP ${status}`;
  const errorInfo = answer.errorInfo ?? ERROR_INFO;
  const body =
    status === 200
      ? { success: false, error, error_info: errorInfo, data: null }
      : errorEnvelope(error, { error_info: errorInfo, errorCode: status });
  return { status, kind: 'json', body, cost: 0 };
}

function json(status: number, body: JsonObject, headers: Record<string, string> = {}): Outcome {
  return { status, kind: 'json', body, headers, cost: 0, fault: false };
}

function internalError(): Outcome {
  return json(500, errorEnvelope('Internal server error', { errorCode: 500 }));
}

interface Rendered {
  text: string;
  contentType: string;
  bytes: number;
}

function render(outcome: Outcome): Rendered {
  if (outcome.kind === 'reset' || outcome.kind === 'empty') {
    return { text: '', contentType: '', bytes: 0 };
  }
  const isHtml = outcome.kind === 'html';
  const full = isHtml ? String(outcome.body) : JSON.stringify(outcome.body);
  // No content-length for a truncated answer: it ends "cleanly" with half a JSON document,
  // like a proxy that gave up mid-stream. Clients see a 200 whose body does not parse.
  const text = outcome.kind === 'truncated' ? full.slice(0, Math.floor(full.length / 2)) : full;
  return {
    text,
    contentType: isHtml ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
    bytes: Buffer.byteLength(text),
  };
}

function writeOutcome(
  response: ServerResponse,
  outcome: Outcome,
  rendered: Rendered,
  encoding?: Compression,
): void {
  if (outcome.kind === 'reset') {
    response.socket?.destroy();
    return;
  }
  if (outcome.kind === 'empty') {
    response.writeHead(outcome.status, { ...outcome.headers, 'content-length': '0' });
    response.end();
    return;
  }
  const headers: Record<string, string> = {
    ...outcome.headers,
    'content-type': rendered.contentType,
  };
  // A truncated answer is compressed as it is cut: it decodes to half a JSON document.
  const body = encoding ? COMPRESSORS[encoding](rendered.text) : rendered.text;
  if (encoding) headers['content-encoding'] = encoding;
  if (outcome.kind !== 'truncated') headers['content-length'] = String(Buffer.byteLength(body));
  response.writeHead(outcome.status, headers);
  response.end(body);
}

function requestToken(request: IncomingMessage, query: Record<string, string>): string | undefined {
  const header = request.headers['x-api-token'];
  if (typeof header === 'string' && header !== '') return header;
  return query.api_token;
}

/** An OAuth access token (`Authorization: Bearer …`), checked against the fake OAuth server. */
function bearerToken(request: IncomingMessage): string | undefined {
  const authorization = request.headers.authorization;
  return authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : undefined;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Repeated parameters (`deal_ids=1&deal_ids=2`) become one comma separated value. */
function queryRecord(params: URLSearchParams): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [key, value] of params) {
    record[key] = key in record ? `${record[key]},${value}` : value;
  }
  return record;
}

function flattenHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}
