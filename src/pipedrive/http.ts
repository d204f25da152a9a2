/**
 * One HTTP exchange over node:http(s): the request, the answer's status, headers and body as
 * text (decompressed), and a network failure as a code. Nothing more: no redirects, no
 * parsing, no retries (the client decides all of that), and nothing that could carry a secret
 * into an error (the failure holds only the system's error code).
 *
 * It replaced axios, whose own per-request work (config merging, interceptors, its adapter's
 * streams) cost about 5% of a loopback sync's CPU and whose modules took 40 ms to load before
 * the first request.
 */
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';

import { version } from '../version';
import type { Connections, Proxy } from './proxy';

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body as UTF-8 text ('' when empty). */
  data: string;
}

export interface HttpExchange {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: string;
  /** Fails with ETIMEDOUT when the socket is idle this long (no byte sent or received). */
  timeoutMs: number;
  connections: Connections;
  /** Called once the request's last byte is handed to the socket. */
  onLeft?: (at: number) => void;
}

/**
 * A request that got no complete answer: the system's error code, and the proxy it went
 * through (if any), nothing else.
 */
export class NetworkFailure extends Error {
  constructor(
    readonly code: string,
    readonly proxy?: Proxy,
  ) {
    super(code);
    this.name = 'NetworkFailure';
  }
}

/** The proxy answered CONNECT with something else than 200: Pipedrive was never reached. */
export class ProxyRefusal extends Error {
  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly proxy: Proxy,
  ) {
    super(`${status} ${statusText}`.trim());
    this.name = 'ProxyRefusal';
  }
}

/** What the connector accepts, in order of preference (all decoded by node:zlib). */
const ACCEPT_ENCODING = 'gzip, deflate, br';

export function exchange(options: HttpExchange): Promise<HttpAnswer> {
  const { url } = options;
  const secure = url.protocol === 'https:';
  const { agent, proxy } = options.connections.route(url);
  const headers: Record<string, string> = {
    'accept-encoding': ACCEPT_ENCODING,
    // Says who is calling (node:http sends no user-agent), so that Pipedrive's logs and support
    // can tell this connector's requests apart.
    'user-agent': `source-pipedrive/${version()}`,
    ...options.headers,
  };
  if (options.body !== undefined)
    headers['content-length'] = String(Buffer.byteLength(options.body));
  return new Promise<HttpAnswer>((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      request.destroy();
      reject(
        error instanceof NetworkFailure || error instanceof ProxyRefusal
          ? error
          : new NetworkFailure(codeOf(error), proxy),
      );
    };
    const request = (secure ? https : http).request(
      url,
      {
        method: options.method,
        headers,
        agent,
      },
      (response) => {
        const body = decoded(response);
        const chunks: Buffer[] = [];
        body.on('data', (chunk: Buffer) => chunks.push(chunk));
        body.once('error', fail);
        response.once('aborted', () => fail(new NetworkFailure('ECONNRESET', proxy)));
        body.once('end', () => {
          if (settled) return;
          settled = true;
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            data:
              chunks.length === 1
                ? chunks[0].toString('utf8')
                : Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    request.setTimeout(options.timeoutMs, () => fail(new NetworkFailure('ETIMEDOUT', proxy)));
    if (proxy) {
      // https-proxy-agent replays a refused CONNECT's answer as if it were Pipedrive's: stop it.
      request.once('proxyConnect', (connect: { statusCode: number; statusText?: string }) => {
        if (connect.statusCode !== 200)
          fail(new ProxyRefusal(connect.statusCode, connect.statusText ?? '', proxy));
      });
    }
    request.once('error', fail);
    if (options.onLeft) request.once('finish', () => options.onLeft!(Date.now()));
    request.end(options.body);
  });
}

/** The body stream, decompressed as its content-encoding says. */
function decoded(response: http.IncomingMessage): NodeJS.ReadableStream {
  const encoding = String(response.headers['content-encoding'] ?? '')
    .trim()
    .toLowerCase();
  let decoder: zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined;
  // Flushed leniently, as browsers do: a gzip stream cut at a block boundary still decodes.
  const lenient = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  if (encoding === 'gzip' || encoding === 'x-gzip') decoder = zlib.createGunzip(lenient);
  else if (encoding === 'deflate') decoder = zlib.createInflate(lenient);
  else if (encoding === 'br') decoder = zlib.createBrotliDecompress();
  if (!decoder) return response;
  response.once('error', (error) => decoder!.destroy(error));
  return response.pipe(decoder);
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : 'network error';
}
