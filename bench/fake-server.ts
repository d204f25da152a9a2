/**
 * The fake Pipedrive in a process of its own, for the bench and the demo: its CPU must not
 * compete with the measured process' event loop. Takes the FakePipedrive options as JSON in
 * argv[2], prints one line `{"url","token","control"}` once listening, and serves its counters
 * on a second port:
 *   GET /stats          fake.stats plus the first and last request arrival times
 *   GET /log?from=N     arrival time, status, path and query of the requests logged from index N on
 * Exits on SIGTERM/SIGINT or when its parent closes stdin.
 *
 * With `"replayCache": true` a front server answers a GET it has answered before (same path,
 * query and token) from memory. The fake rebuilds every record of every page from its seed, so
 * it serves far fewer records per second than a reader can take; the cache lets a throughput
 * run measure the readers instead. Cached answers are counted like the fake counts requests.
 * Only for runs without rate limits or faults: those live in the fake behind the cache.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { FakePipedrive } from '../test/fake-pipedrive';
import { ENDPOINTS } from '../test/fake-pipedrive/endpoints';
import { Router } from '../test/fake-pipedrive/http/router';

interface CachedAnswer {
  body: Buffer;
  contentType: string;
  /** `GET /api/v2/deals`: the fake's stats key. */
  endpoint: string;
  cost: number;
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/** Same request, same answer: path, query parameters in any order, token. */
function cacheKey(request: http.IncomingMessage): string {
  const url = new URL(request.url ?? '/', 'http://fake');
  url.searchParams.sort();
  return `${url.pathname}?${url.searchParams}#${request.headers['x-api-token'] ?? ''}`;
}

class ReplayCache {
  private readonly answers = new Map<string, CachedAnswer>();
  private readonly router = new Router(ENDPOINTS);
  private readonly agent = new http.Agent({ keepAlive: true });
  readonly hits = { requests: 0, tokens: 0, byEndpoint: {} as Record<string, EndpointCount> };
  lastHitAt: number | null = null;

  constructor(private readonly upstream: string) {}

  handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const key = request.method === 'GET' ? cacheKey(request) : '';
    const cached = key ? this.answers.get(key) : undefined;
    if (cached) {
      this.count(cached);
      response.writeHead(200, { 'content-type': cached.contentType });
      response.end(cached.body);
      return;
    }
    const forward = http.request(
      `${this.upstream}${request.url}`,
      { method: request.method, headers: request.headers, agent: this.agent },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const body = Buffer.concat(chunks);
          if (key && answer.statusCode === 200) this.store(key, request, answer, body);
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          response.end(body);
        });
        answer.on('error', () => response.destroy());
      },
    );
    forward.on('error', () => response.destroy());
    request.pipe(forward);
  }

  private store(
    key: string,
    request: http.IncomingMessage,
    answer: http.IncomingMessage,
    body: Buffer,
  ): void {
    const route = this.router.match(new URL(request.url ?? '/', 'http://fake').pathname);
    if (!route) return;
    this.answers.set(key, {
      body,
      contentType: String(answer.headers['content-type'] ?? 'application/json'),
      endpoint: `GET ${route.template}`,
      cost: route.endpoint.cost,
    });
  }

  private count(answer: CachedAnswer): void {
    this.hits.requests++;
    this.hits.tokens += answer.cost;
    const entry = (this.hits.byEndpoint[answer.endpoint] ??= { requests: 0, tokens: 0 });
    entry.requests++;
    entry.tokens += answer.cost;
    this.lastHitAt = Date.now();
  }
}

interface EndpointCount {
  requests: number;
  tokens: number;
}

async function main(): Promise<void> {
  const { replayCache, ...options } = JSON.parse(process.argv[2] ?? '{}');
  if (options.now) options.now = new Date(options.now);
  const fake = new FakePipedrive(options);
  await fake.start();

  let url = fake.url;
  let cache: ReplayCache | undefined;
  if (replayCache) {
    const replay = new ReplayCache(fake.url);
    const front = http.createServer((request, response) => replay.handle(request, response));
    url = `http://127.0.0.1:${await listen(front)}`;
    cache = replay;
  }

  const stats = (): Record<string, unknown> => {
    const log = fake.requestLog;
    const own = fake.stats;
    const byEndpoint: Record<string, EndpointCount> = structuredClone(own.byEndpoint);
    for (const [endpoint, hit] of Object.entries(cache?.hits.byEndpoint ?? {})) {
      const entry = (byEndpoint[endpoint] ??= { requests: 0, tokens: 0 });
      entry.requests += hit.requests;
      entry.tokens += hit.tokens;
    }
    const lastUpstream = log.length > 0 ? log[log.length - 1].t : null;
    return {
      ...own,
      requests: own.requests + (cache?.hits.requests ?? 0),
      tokensSpent: own.tokensSpent + (cache?.hits.tokens ?? 0),
      byEndpoint,
      cacheHits: cache?.hits.requests ?? 0,
      firstRequestAt: log.length > 0 ? log[0].t : null,
      lastRequestAt: Math.max(lastUpstream ?? 0, cache?.lastHitAt ?? 0) || null,
    };
  };

  const control = http.createServer((request, response) => {
    const route = new URL(request.url ?? '/', 'http://control');
    let body: unknown;
    if (route.pathname === '/stats') {
      body = stats();
    } else if (route.pathname === '/log') {
      const from = Number(route.searchParams.get('from') ?? 0);
      body = fake.requestLog
        .slice(from)
        .map(({ t, status, path, query }) => ({ t, status, path, query }));
    } else {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  });
  const controlPort = await listen(control);

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    control.close();
    await fake.stop();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();

  process.stdout.write(
    `${JSON.stringify({ url, token: fake.token, control: `http://127.0.0.1:${controlPort}` })}\n`,
  );
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
