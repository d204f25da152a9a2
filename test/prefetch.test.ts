/**
 * A paginator requests the next page while its reader works on the current one, but the
 * answer waits as text until the reader asks for it: with many lanes at once, parsed pages
 * waiting for stdout would hold the memory (and GC time) of every page in flight. Proved by
 * counts: a broken prefetched answer is only found, and retried, once its reader asks.
 */
import { ApiTokenAuth } from '../src/pipedrive/auth';
import { PipedriveClient } from '../src/pipedrive/client';
import { FakePipedrive } from './fake-pipedrive';

const TOKEN = 'prefetch-test-token-77c1';

const clientOf = (fake: FakePipedrive): PipedriveClient =>
  new PipedriveClient({
    baseUrl: fake.url,
    auth: new ApiTokenAuth(TOKEN),
    maxRequestsPer2Seconds: 100,
    retryBaseMs: 1,
  });

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('prefetched pages wait as text until their reader asks', () => {
  const fake = new FakePipedrive({ seed: 5, token: TOKEN, sizes: { deals: 1200, notes: 1200 } });
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());

  const client = (): PipedriveClient => clientOf(fake);

  async function settled(requests: () => number, expected: number): Promise<void> {
    for (let waited = 0; requests() < expected && waited < 5000; waited += 10) await sleep(10);
    // Time enough for a retry that should not happen (its backoff is at most 1 ms here).
    await sleep(150);
  }

  test.each([
    ['v2 cursor', '/api/v2/deals', (c: PipedriveClient) => c.paginateV2('/deals', {}, 'deals')],
    [
      'v1 offset',
      '/api/v1/notes',
      (c: PipedriveClient) => c.paginateV1('/notes', {}, 'notes', { limit: 500 }),
    ],
  ])(
    '%s: a broken prefetched answer is retried when its reader asks, not before',
    async (_name, path, open) => {
      fake.resetStats();
      fake.failNext(/cursor=|start=500/, 'successFalse', 1);
      const requests = (): Array<Record<string, string>> =>
        fake.requestLog.filter((entry) => entry.path === path).map((entry) => entry.query);
      const pages = open(client());

      const first = await pages.next();
      expect(first.value.records).toHaveLength(500);
      await settled(() => requests().length, 2);
      // Page 2 was asked for and answered (success: false), but nobody has read it yet.
      expect(requests()).toHaveLength(2);

      const second = await pages.next();
      expect(second.value.records).toHaveLength(500);
      const firstIds = new Set(first.value.records.map((record: any) => record.id));
      expect(second.value.records.some((record: any) => firstIds.has(record.id))).toBe(false);
      // Read now: the broken answer was found and asked again, then page 3 was prefetched.
      await settled(() => requests().length, 4);
      const log = requests();
      expect(log).toHaveLength(4);
      expect(log[2]).toEqual(log[1]);
      expect(log[3]).not.toEqual(log[1]);
      await pages.return(undefined);
    },
  );
});

describe('a reader that will not want the next page says so', () => {
  const fake = new FakePipedrive({ seed: 6, token: TOKEN, sizes: { deals: 1600 } });
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());

  const client = (): PipedriveClient => clientOf(fake);
  const deals = (): number =>
    fake.requestLog.filter((entry) => entry.path === '/api/v2/deals').length;

  test('no prefetch after a page the reader marks as its last; asked for on demand', async () => {
    fake.resetStats();
    // Page 2 "reaches the window's end": its next page is not asked for while it is handled.
    let page = 0;
    const pages = client().paginateV2('/deals', {}, 'deals', { prefetch: () => ++page !== 2 });
    await pages.next();
    await pages.next();
    await sleep(150);
    expect(deals()).toBe(2);
    // A reader that wants it after all still gets it (later, but nothing is lost).
    const third = await pages.next();
    expect(third.value.records).toHaveLength(500);
    await sleep(150);
    // Page 4 was prefetched as usual once page 3 came.
    expect(deals()).toBe(4);
    const fourth = await pages.next();
    expect(fourth.value.records).toHaveLength(100);
    expect(fourth.value.hasMore).toBe(false);
    expect(deals()).toBe(4);
  });

  test('without the option the next page is prefetched', async () => {
    fake.resetStats();
    const pages = client().paginateV2('/deals', {}, 'deals');
    await pages.next();
    await sleep(150);
    expect(deals()).toBe(2);
    await pages.return(undefined);
  });
});
