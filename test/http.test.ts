import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';

import { PipedriveClient } from '../src/pipedrive/client';
import { exchange, NetworkFailure } from '../src/pipedrive/http';
import { Connections } from '../src/pipedrive/proxy';
import { FakePipedrive } from './fake-pipedrive';
import type { Compression } from './fake-pipedrive/types';
import {
  configuredCatalog,
  expectValidProtocol,
  recordsOf,
  runConnector,
  statusesOf,
} from './helpers/connector';
import { allOutput } from './helpers/resilience';

/**
 * The HTTP layer (src/pipedrive/http.ts) over real sockets: compressed answers as Pipedrive
 * sends them, sockets that stall or break mid-body, URLs under a base with a path, and what
 * the client makes of each (a retry, a clear error, never a secret).
 */

const TOKEN = 'http-layer-secret-token-93be11';

/** A server whose handler the test writes; closed after each test. */
async function server(
  handler: http.RequestListener,
): Promise<{ url: string; close(): Promise<void> }> {
  const listener = http.createServer(handler);
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        listener.closeAllConnections();
        listener.close(() => resolve());
      }),
  };
}

const connections = new Connections({ keepAlive: true });
afterAll(() => connections.close());

const get = (url: string, timeoutMs = 5000) =>
  exchange({ method: 'GET', url: new URL(url), headers: {}, timeoutMs, connections });

describe('exchange', () => {
  const BODY = JSON.stringify({ success: true, data: [{ id: 1, name: 'Ünïcødé ✓'.repeat(2000) }] });
  const ENCODERS: Record<Compression, (text: string) => Buffer> = {
    gzip: (text) => zlib.gzipSync(text),
    deflate: (text) => zlib.deflateSync(text),
    br: (text) => zlib.brotliCompressSync(text),
  };

  test.each(Object.keys(ENCODERS) as Compression[])(
    'asks for compression and decodes a %s body, split in small chunks',
    async (encoding) => {
      let accepted: string | undefined;
      const compressed = ENCODERS[encoding](BODY);
      const target = await server((request, response) => {
        accepted = request.headers['accept-encoding'];
        response.writeHead(200, {
          'content-encoding': encoding,
          'content-type': 'application/json',
        });
        // Bytes in chunks of 100: the decoder sees multi-byte characters split across chunks.
        for (let at = 0; at < compressed.length; at += 100)
          response.write(compressed.subarray(at, at + 100));
        response.end();
      });
      try {
        const answer = await get(`${target.url}/x`);
        expect(accepted).toBe('gzip, deflate, br');
        expect(answer.status).toBe(200);
        expect(answer.data).toBe(BODY);
      } finally {
        await target.close();
      }
    },
  );

  test('a body that is not what its content-encoding says is a network failure (retried by the client)', async () => {
    const target = await server((_request, response) => {
      response.writeHead(200, { 'content-encoding': 'gzip' });
      response.end('{"this is": "not gzip"}');
    });
    try {
      const failure = await get(`${target.url}/x`).catch((error) => error);
      expect(failure).toBeInstanceOf(NetworkFailure);
      expect(failure.code).toMatch(/^Z_/);
    } finally {
      await target.close();
    }
  });

  test('a gzip body cut short decodes to the part that came (the client then retries it as unparseable)', async () => {
    const compressed = zlib.gzipSync(BODY);
    const target = await server((_request, response) => {
      response.writeHead(200, { 'content-encoding': 'gzip' });
      response.end(compressed.subarray(0, Math.floor(compressed.length / 2)));
    });
    try {
      const answer = await get(`${target.url}/x`);
      expect(answer.data.length).toBeGreaterThan(0);
      // (The cut may fall inside a multi-byte character: its part decodes to U+FFFD.)
      expect(BODY.startsWith(answer.data.replace(/\uFFFD$/, ''))).toBe(true);
      expect(answer.data.length).toBeLessThan(BODY.length);
    } finally {
      await target.close();
    }
  });

  test('a socket that goes quiet fails with ETIMEDOUT after the timeout, a socket closed mid-body with ECONNRESET', async () => {
    const target = await server((request, response) => {
      response.writeHead(200, { 'content-length': '1000' });
      response.write('{"success": true, "data": [');
      if (request.url === '/reset') setTimeout(() => response.socket?.destroy(), 50);
    });
    try {
      const started = Date.now();
      const quiet = await get(`${target.url}/quiet`, 300).catch((error) => error);
      expect(quiet).toBeInstanceOf(NetworkFailure);
      expect(quiet.code).toBe('ETIMEDOUT');
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      const reset = await get(`${target.url}/reset`).catch((error) => error);
      expect(reset).toBeInstanceOf(NetworkFailure);
      expect(reset.code).toBe('ECONNRESET');
    } finally {
      await target.close();
    }
  });

  test('redirects are answers, not followed; headers and the POST body arrive as sent', async () => {
    const seen: Array<{
      method?: string;
      url?: string;
      body: string;
      headers: http.IncomingHttpHeaders;
    }> = [];
    const target = await server((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        seen.push({ method: request.method, url: request.url, body, headers: request.headers });
        response.writeHead(302, { location: 'http://elsewhere.invalid/' });
        response.end();
      });
    });
    try {
      const answer = await exchange({
        method: 'POST',
        url: new URL(`${target.url}/oauth/token`),
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-test': 'yes' },
        body: 'grant_type=refresh_token&refresh_token=r%C3%A9',
        timeoutMs: 5000,
        connections,
      });
      expect(answer.status).toBe(302);
      expect(answer.data).toBe('');
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({
        method: 'POST',
        url: '/oauth/token',
        body: 'grant_type=refresh_token&refresh_token=r%C3%A9',
      });
      expect(seen[0].headers['x-test']).toBe('yes');
      expect(seen[0].headers['content-length']).toBe('46');
    } finally {
      await target.close();
    }
  });

  test('an unknown host fails with ENOTFOUND and nothing else in the message', async () => {
    const failure = await get('http://no-such-host.invalid/x').catch((error) => error);
    expect(failure).toBeInstanceOf(NetworkFailure);
    expect(failure.code).toBe('ENOTFOUND');
    expect(failure.message).toBe('ENOTFOUND');
  });
});

describe('the client over the HTTP layer', () => {
  test('paths go under a base URL with a path of its own, with the query encoded, and the token never in the URL', async () => {
    const urls: string[] = [];
    const headers: http.IncomingHttpHeaders[] = [];
    const target = await server((request, response) => {
      urls.push(request.url ?? '');
      headers.push(request.headers);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ success: true, data: [] }));
    });
    try {
      const client = new PipedriveClient({
        baseUrl: `${target.url}/proxy/pipedrive/`,
        apiToken: TOKEN,
        maxRequestsPer2Seconds: 10,
      });
      await client.get(
        'v2',
        '/deals',
        { updated_since: '2026-01-01T00:00:00Z', term: 'a b&c', skip: undefined },
        'deals',
      );
      expect(urls).toEqual([
        '/proxy/pipedrive/api/v2/deals?updated_since=2026-01-01T00%3A00%3A00Z&term=a+b%26c',
      ]);
      expect(headers[0]['x-api-token']).toBe(TOKEN);
      expect(headers[0].accept).toBe('application/json');
      const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
      expect(headers[0]['user-agent']).toBe(`source-pipedrive/${pkg.version}`);
    } finally {
      await target.close();
    }
  });

  test('a body that fails to decode is retried, then answered', async () => {
    let calls = 0;
    const target = await server((_request, response) => {
      calls++;
      response.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/json' });
      response.end(
        calls === 1
          ? 'not gzip at all'
          : zlib.gzipSync(JSON.stringify({ success: true, data: [{ id: 7 }] })),
      );
    });
    try {
      const client = new PipedriveClient({
        baseUrl: target.url,
        apiToken: TOKEN,
        maxRequestsPer2Seconds: 10,
        retryBaseMs: 1,
      });
      const envelope = await client.get('v1', '/currencies', {}, 'currencies');
      expect(envelope.data).toEqual([{ id: 7 }]);
      expect(calls).toBe(2);
    } finally {
      await target.close();
    }
  });
});

describe('a sync against a Pipedrive that compresses its answers', () => {
  const SIZES = {
    deals: 700,
    archivedDeals: 5,
    deletedDeals: 5,
    persons: 600,
    organizations: 30,
    activities: 40,
    notes: 40,
    products: 5,
    leads: 5,
    archivedLeads: 0,
  };
  const STREAMS = ['deals', 'persons', 'deal_fields', 'notes', 'leads'];
  let fake: FakePipedrive;
  beforeAll(async () => {
    fake = new FakePipedrive({ token: TOKEN, seed: 11, sizes: SIZES, latencyMs: 30 });
    await fake.start();
  });
  afterAll(() => fake.stop());

  async function read(compression: Compression | null) {
    fake.setCompression(compression);
    // A fault on the way: one deals page cut short (compressed as it was cut).
    fake.failNext(/\/api\/v2\/deals$/, 'truncated', 1);
    const result = await runConnector(['read'], {
      config: { api_token: TOKEN, api_url: fake.url, max_requests_per_2_seconds: 400 },
      catalog: configuredCatalog(
        STREAMS.map((name) => ({ name, syncMode: 'full_refresh' as const })),
      ),
    });
    expectValidProtocol(result);
    expect(allOutput(result)).not.toContain(TOKEN);
    for (const stream of STREAMS) expect(statusesOf(result, stream).at(-1)).toBe('COMPLETE');
    return result;
  }

  test('reads the same records whatever the encoding (gzip, deflate, br, none)', async () => {
    const plain = await read(null);
    expect(recordsOf(plain, 'deals').length).toBe(710);
    // Lanes may write their windows in another order from one run to the next: compare sets.
    const canonical = (result: Awaited<ReturnType<typeof read>>) =>
      STREAMS.map((stream) =>
        recordsOf(result, stream)
          .map((data) => JSON.stringify(data))
          .sort(),
      );
    for (const compression of ['gzip', 'deflate', 'br'] as const) {
      const compressed = await read(compression);
      expect(canonical(compressed)).toEqual(canonical(plain));
    }
  });
});
