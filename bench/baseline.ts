/**
 * The throughput baseline: the least a program can do to copy the same Pipedrive pages to
 * stdout. Plain node:http with keep-alive, one request at a time, the same endpoints and
 * query parameters as the connector's full refresh, each record written as one JSON line
 * (with backpressure). No schemas, no coercion, no protocol envelope, no rate limiter.
 *
 *   node --import tsx bench/baseline.ts <base url> <token> deals,persons,...
 */
import http from 'node:http';

const [baseUrl, token, streamList = 'deals,persons,organizations,activities,notes'] =
  process.argv.slice(2);

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

interface Endpoint {
  version: 'v1' | 'v2';
  path: string;
  query: Record<string, string>;
}

const V2_BY_ID = { sort_by: 'id', sort_direction: 'asc' };
const ENDPOINTS: Record<string, Endpoint[]> = {
  deals: [
    { version: 'v2', path: '/deals', query: { ...V2_BY_ID, status: 'open,won,lost,deleted' } },
    {
      version: 'v2',
      path: '/deals/archived',
      query: { ...V2_BY_ID, status: 'open,won,lost,deleted' },
    },
  ],
  persons: [{ version: 'v2', path: '/persons', query: V2_BY_ID }],
  organizations: [{ version: 'v2', path: '/organizations', query: V2_BY_ID }],
  activities: [{ version: 'v2', path: '/activities', query: V2_BY_ID }],
  products: [{ version: 'v2', path: '/products', query: V2_BY_ID }],
  // The connector pages notes by moving updated_since, not by offset (see src/streams/v1-sorted.ts).
  notes: [{ version: 'v1', path: '/notes', query: { sort: 'update_time ASC' } }],
};

function getJson(url: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, headers: { 'x-api-token': token } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        if (response.statusCode !== 200) {
          reject(new Error(`GET ${url} answered ${response.statusCode}`));
          return;
        }
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      });
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

function write(text: string): Promise<void> {
  if (process.stdout.write(text)) return Promise.resolve();
  return new Promise((resolve) => process.stdout.once('drain', resolve));
}

/** `2024-01-01 10:00:00` (v1) as `2024-01-01T10:00:00Z`. */
const rfc3339 = (v1Time: string): string => `${v1Time.replace(' ', 'T')}Z`;

async function copy(endpoint: Endpoint): Promise<void> {
  const query = new URLSearchParams({ ...endpoint.query, limit: '500' });
  let start = 0;
  // v1 lists page like the connector: by moving updated_since to the newest update_time read,
  // skipping the records of that second that were already copied.
  let since = '';
  let seenAtSince = new Set<unknown>();
  for (;;) {
    if (endpoint.version === 'v1') query.set('start', String(start));
    const body = await getJson(`${baseUrl}/api/${endpoint.version}${endpoint.path}?${query}`);
    const records: any[] = body.data ?? [];
    let text = '';
    for (const record of records) {
      if (seenAtSince.size > 0 && seenAtSince.has(record.id)) continue;
      text += `${JSON.stringify(record)}\n`;
    }
    await write(text);
    if (endpoint.version === 'v2') {
      const cursor = body.additional_data?.next_cursor;
      if (!cursor) return;
      query.set('cursor', cursor);
      continue;
    }
    if (!body.additional_data?.pagination?.more_items_in_collection) return;
    const newest = rfc3339(records[records.length - 1].update_time);
    if (newest > since) {
      since = newest;
      start = 0;
      seenAtSince = new Set();
      query.set('updated_since', since);
    } else {
      start += records.length;
    }
    for (const record of records)
      if (rfc3339(record.update_time) === since) seenAtSince.add(record.id);
  }
}

async function main(): Promise<void> {
  for (const stream of streamList.split(',')) {
    const endpoints = ENDPOINTS[stream];
    if (!endpoints) throw new Error(`baseline: unknown stream ${stream}`);
    for (const endpoint of endpoints) await copy(endpoint);
  }
  agent.destroy();
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
