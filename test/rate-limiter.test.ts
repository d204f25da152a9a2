import { ApiTokenAuth, type RequestAuth } from '../src/pipedrive/auth';
import { PipedriveClient } from '../src/pipedrive/client';
import { RollingWindowLimiter } from '../src/pipedrive/rate-limiter';
import { FakePipedrive } from './fake-pipedrive';

describe('RollingWindowLimiter', () => {
  test('never lets more than the limit start in any rolling window', async () => {
    const limiter = new RollingWindowLimiter(5, 200, 0);
    const starts: number[] = [];
    await Promise.all(
      // The start time the limiter counted: a clock read after the await would also count
      // how long a loaded machine took to resume this callback.
      Array.from({ length: 17 }, async () => {
        starts.push(await limiter.acquire());
      }),
    );
    starts.sort((a, b) => a - b);
    for (let i = 0; i < starts.length; i++) {
      const inWindow = starts.filter((t) => t >= starts[i] && t < starts[i] + 200).length;
      expect(inWindow).toBeLessThanOrEqual(5);
    }
    // 17 requests at 5 per 200 ms need at least three full windows.
    expect(starts[16] - starts[0]).toBeGreaterThanOrEqual(600);
  });

  test('pauseFor holds every caller until the server says the window is free', async () => {
    const limiter = new RollingWindowLimiter(100, 2000, 0);
    const begin = Date.now();
    limiter.pauseFor(150);
    await limiter.acquire();
    expect(Date.now() - begin).toBeGreaterThanOrEqual(140);
  });

  test('counts the starts in the current window', async () => {
    const limiter = new RollingWindowLimiter(10, 2000, 0);
    await limiter.acquire();
    await limiter.acquire();
    expect(limiter.inWindow()).toBe(2);
  });
});

describe('a wider margin when arrivals bunch up', () => {
  test('the next window starts only after window + margin, which grows by steps up to a cap', async () => {
    const limiter = new RollingWindowLimiter(2, 100, 0);
    expect(limiter.widenMargin(150, 200)).toBe(true);
    expect(limiter.widenMargin(150, 200)).toBe(true);
    expect(limiter.margin).toBe(200);
    expect(limiter.widenMargin(150, 200)).toBe(false);
    const first = await limiter.acquire();
    await limiter.acquire();
    const third = await limiter.acquire();
    // Without the margin the third would start 100 ms after the first.
    expect(third - first).toBeGreaterThanOrEqual(300);
  });
});

describe('a request that leaves later than its slot', () => {
  test('counts from when it left: the next ones wait for the window after it', async () => {
    let clock = 0;
    const limiter = new RollingWindowLimiter(2, 1000, 0, () => clock);
    const first = await limiter.acquire();
    await limiter.acquire();
    // The first was held up 600 ms (a busy event loop) before it really left.
    limiter.restamp(first, 600);
    clock = 1001;
    // Without the restamp a slot would free at 1000; now only the second one's (at 0) did.
    expect(limiter.inWindow()).toBe(1);
    clock = 1601;
    expect(limiter.inWindow()).toBe(0);
  });
});

describe('the window counts when a request reaches the socket', () => {
  const TOKEN = 'socket-stamp-token-9d2e';
  const fake = new FakePipedrive({ seed: 3, token: TOKEN });
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());

  test('a request held up between its stamp and its bytes leaving still gets its full window', async () => {
    // After the client stamps the first request and hands it to http, the event loop is held
    // 400 ms (page work on a busy connector) before the new connection's connect callback can
    // run, so the bytes leave 400 ms after the stamp. With one request per 2 s, the second may
    // only leave a full window (plus margin) after the first really left. The hold runs at the
    // end of the current task (after the request is created, before any I/O callback): a
    // microtask queued 200 deep comes after the client's own chain of promises.
    const api = new ApiTokenAuth(TOKEN);
    let held = false;
    const hold = (): void => {
      const until = Date.now() + 400;
      while (Date.now() < until);
    };
    const later = (depth: number, task: () => void): void => {
      if (depth === 0) task();
      else queueMicrotask(() => later(depth - 1, task));
    };
    const auth: RequestAuth = {
      kind: 'api_token',
      headers: async () => {
        if (!held) {
          held = true;
          later(200, hold);
        }
        return api.headers();
      },
      renewAfter401: api.renewAfter401.bind(api),
      rejectedMessage: api.rejectedMessage.bind(api),
    };
    const client = new PipedriveClient({ baseUrl: fake.url, auth, maxRequestsPer2Seconds: 1 });
    fake.resetStats();
    await client.get('v1', '/currencies', {}, 'currencies');
    await client.get('v1', '/currencies', {}, 'currencies');
    const [first, second] = fake.requestLog.filter((entry) => entry.path === '/api/v1/currencies');
    expect(second.t - first.t).toBeGreaterThanOrEqual(2000);
  });
});

describe('spreading a window over its parts', () => {
  test('at most a quarter of the limit starts in any quarter window, and the rate stays the limit', async () => {
    const limiter = new RollingWindowLimiter(8, 400, 0, Date.now, 4);
    const starts: number[] = [];
    await Promise.all(
      Array.from({ length: 24 }, async () => {
        starts.push(await limiter.acquire());
      }),
    );
    starts.sort((a, b) => a - b);
    for (let i = 0; i < starts.length; i++) {
      expect(
        starts.filter((t) => t >= starts[i] && t < starts[i] + 100).length,
      ).toBeLessThanOrEqual(2);
      expect(
        starts.filter((t) => t >= starts[i] && t < starts[i] + 400).length,
      ).toBeLessThanOrEqual(8);
    }
    // 24 at 8 per 400 ms: three windows' worth, so a little over two windows from first to last
    // (spreading costs no rate), where bursts of 8 would have taken just over 800 ms too.
    expect(starts[23] - starts[0]).toBeGreaterThanOrEqual(800);
    expect(starts[23] - starts[0]).toBeLessThan(1300);
  });
});

describe('the client speaks both protocols', () => {
  test.each(['http', 'https'])(
    '%s: a refused connection is a network error, not a wrong-protocol one',
    async (scheme) => {
      // Port 9 (discard) is closed here: the request gets as far as connecting.
      const client = new PipedriveClient({
        baseUrl: `${scheme}://127.0.0.1:9`,
        apiToken: 'protocol-test-token-1234',
        maxRequestsPer2Seconds: 10,
        maxAttempts: 1,
      });
      await expect(client.get('v1', '/users/me', {}, 'check')).rejects.toThrow(/ECONNREFUSED/);
    },
  );
});

describe('a full window of our own is no reason to pause', () => {
  const TOKEN = 'own-window-token-51c0';
  // Limit 2 per 2 s: the two requests leave a paced half window apart, and the second one's
  // answer (x-ratelimit-remaining: 0, counted on its arrival) comes back 1.2 s later, when the
  // first has left our window. Our window held both when the second left: nothing to pause for.
  const fake = new FakePipedrive({ seed: 3, token: TOKEN, burstLimit: 2, latencyMs: 1200 });
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());

  test('remaining 0 that our own requests explain does not hold the next ones', async () => {
    const pauses = jest.spyOn(RollingWindowLimiter.prototype, 'pauseFor');
    try {
      const client = new PipedriveClient({
        baseUrl: fake.url,
        apiToken: TOKEN,
        maxRequestsPer2Seconds: 2,
      });
      fake.resetStats();
      await Promise.all([
        client.get('v1', '/currencies', {}, 'currencies'),
        client.get('v1', '/currencies', {}, 'currencies'),
      ]);
      // The second answer said the window was spent: Pipedrive's count, and ours.
      expect(fake.stats.maxRequestsInAnyWindow).toBe(2);
      expect(fake.stats.responses429).toBe(0);
      expect(pauses).not.toHaveBeenCalled();
    } finally {
      pauses.mockRestore();
    }
  });
});
