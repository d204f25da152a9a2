import { ConcurrencyGate } from '../src/pipedrive/gate';
import { RollingWindowLimiter } from '../src/pipedrive/rate-limiter';

/**
 * Who goes first when requests wait: the stream holding the fewest places (a list read page
 * after page) before the one holding many (a fan-out's crowd of batches); equals in order.
 */
/** Lets every granted waiter run its continuation. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the gate serves the least loaded stream first', () => {
  test('a chain waiting behind a crowd gets the first free place', async () => {
    // Before any round trip is measured the gate allows at most its cap: here 2.
    const gate = new ConcurrencyGate(2, () => 10);
    await gate.acquire('deal_products');
    await gate.acquire('deal_products');
    expect(gate.load('deal_products')).toBe(2);
    const order: string[] = [];
    const wait = (scope: string) => gate.acquire(scope).then(() => order.push(scope));
    const waiting = [wait('deal_products'), wait('deal_products'), wait('notes'), wait('persons')];
    gate.release('deal_products');
    await settle();
    // notes (0 places) jumps the two batches that asked before it.
    expect(order).toEqual(['notes']);
    gate.release('deal_products');
    await settle();
    // deal_products holds none now, like persons: equals go in order, the batch asked first.
    expect(order).toEqual(['notes', 'deal_products']);
    // Then persons (0) before the batch left (deal_products holds 1 again).
    gate.release('notes');
    gate.release('deal_products');
    await Promise.all(waiting);
    expect(order).toEqual(['notes', 'deal_products', 'persons', 'deal_products']);
    expect(gate.load('notes')).toBe(0);
  });

  test('without scopes the gate is first come, first served', async () => {
    const gate = new ConcurrencyGate(1, () => 10);
    await gate.acquire();
    const order: number[] = [];
    const waiting = [1, 2, 3].map((n) => gate.acquire().then(() => order.push(n)));
    for (let i = 0; i < 3; i++) {
      gate.release();
      await settle();
    }
    gate.release();
    await Promise.all(waiting);
    expect(order).toEqual([1, 2, 3]);
  });
});

describe('the rate limiter grants the lowest rank first', () => {
  test('when the window frees, the waiter with the lowest rank starts first', async () => {
    const limiter = new RollingWindowLimiter(1, 100, 0);
    await limiter.acquire();
    const ranks: Record<string, number> = { crowd: 5, chain: 1 };
    const order: string[] = [];
    const wait = (name: string, rank: () => number) =>
      limiter.acquire(rank).then(() => order.push(name));
    await Promise.all([
      wait('crowd 1', () => ranks.crowd),
      wait('crowd 2', () => ranks.crowd),
      wait('chain', () => ranks.chain),
      // Ranks are read when a slot frees, not when the caller asked.
      wait('late', () => (order.length >= 1 ? 0 : 9)),
    ]);
    expect(order).toEqual(['chain', 'late', 'crowd 1', 'crowd 2']);
  });
});

describe('how many requests the gate lets out', () => {
  test('before the first answer: 0.4 s of the allowed rate, at least 4, at most 24 and the cap', () => {
    expect(new ConcurrencyGate(64, () => 10).target).toBe(4);
    expect(new ConcurrencyGate(64, () => 20).target).toBe(8);
    expect(new ConcurrencyGate(64, () => 60).target).toBe(24);
    expect(new ConcurrencyGate(64, () => 240).target).toBe(24);
    expect(new ConcurrencyGate(3, () => 60).target).toBe(3);
  });

  test('after it: allowed rate x round trip x 2 + 4, under the cap', () => {
    // At time 0 no CPU sample is taken: a busy test worker would lower the ceiling.
    const gate = new ConcurrencyGate(64, () => 10);
    gate.observe(500, 0);
    expect(gate.target).toBe(14);
    const capped = new ConcurrencyGate(64, () => 60);
    capped.observe(800, 0);
    expect(capped.target).toBe(64);
  });
});

describe('a crowd of slow requests cannot shut a stream out', () => {
  // Target 4 (rate 0 x round trip + 4), cap 8; no CPU sample is taken (time 0, idle loop).
  const gateOf = () => {
    const gate = new ConcurrencyGate(
      8,
      () => 0,
      () => 0,
    );
    gate.observe(100, 0);
    expect(gate.target).toBe(4);
    return gate;
  };

  test('a stream holding none may send one past the target, never past the cap', async () => {
    const gate = gateOf();
    for (let i = 0; i < 4; i++) await gate.acquire('deal_products');
    let more = false;
    void gate.acquire('deal_products').then(() => (more = true));
    // persons has nothing in flight: it gets a place although 4 are held (the target).
    await gate.acquire('persons');
    expect({ inFlight: gate.inFlight, persons: gate.load('persons'), more }).toEqual({
      inFlight: 5,
      persons: 1,
      more: false,
    });
    // Its second request waits like anyone over the target.
    let second = false;
    void gate.acquire('persons').then(() => (second = true));
    await settle();
    expect(second).toBe(false);
    for (const scope of ['a', 'b', 'c']) await gate.acquire(scope);
    expect(gate.inFlight).toBe(8);
    let capped = false;
    void gate.acquire('d').then(() => (capped = true));
    await settle();
    expect(capped).toBe(false);
  });

  test('a stream whose last request was answered gets a place from the queue', async () => {
    const gate = gateOf();
    for (let i = 0; i < 4; i++) await gate.acquire('deal_products');
    await gate.acquire('persons');
    let second = false;
    void gate.acquire('persons').then(() => (second = true));
    await settle();
    expect(second).toBe(false);
    // Its first page is answered: it holds none, and its waiting request goes past the target.
    gate.release('persons');
    await settle();
    expect({ second, inFlight: gate.inFlight }).toEqual({ second: true, inFlight: 5 });
  });
});

describe('the round trip the gate plans with is the network, not this process', () => {
  test('the shortest of the recent round trips: answers waiting for a busy loop do not raise it', () => {
    const gate = new ConcurrencyGate(
      256,
      () => 60,
      () => 0,
    );
    gate.observe(300, 0);
    expect(gate.target).toBe(Math.ceil(60 * 0.3 * 2) + 4);
    // Answers that waited for the event loop: the target stays where the network puts it.
    for (let i = 0; i < 20; i++) gate.observe(900, 0);
    expect(gate.target).toBe(40);
  });

  test('a network that got slower is followed once the short ones have left the window', () => {
    const gate = new ConcurrencyGate(
      256,
      () => 60,
      () => 0,
    );
    gate.observe(100, 0);
    for (let i = 0; i < 31; i++) gate.observe(800, 0);
    expect(gate.target).toBe(Math.ceil(60 * 0.1 * 2) + 4);
    gate.observe(800, 0);
    expect(gate.target).toBe(Math.ceil(60 * 0.8 * 2) + 4);
  });
});

describe('the CPU ceiling', () => {
  /** A gate with `active` places taken and a scripted busy share per 250 ms sample. */
  async function gateWith(active: number, shares: number[]) {
    let next = 0;
    const gate = new ConcurrencyGate(
      64,
      () => 60,
      () => shares[next++] ?? 0,
    );
    gate.observe(800, 0); // target 64
    for (let i = 0; i < active; i++) await gate.acquire();
    const sample = (at: number) => gate.observe(800, at);
    return { gate, sample };
  }

  test('a process busy sample after sample lowers the ceiling below what is in flight', async () => {
    const { gate, sample } = await gateWith(40, [1, 1, 1]);
    sample(250);
    sample(500);
    // Smoothed: 0.5, then 0.75 - not yet busy; the third sample (0.875) still is not.
    expect(gate.target).toBe(64);
    sample(750);
    expect(gate.target).toBe(64);
    const { gate: saturated, sample: tick } = await gateWith(40, [1, 1, 1, 1, 1, 1]);
    for (let at = 250; at <= 1500; at += 250) tick(at);
    // 0.97 after five samples: cut to 90% of the 40 in flight (36), then 90% of that.
    expect(saturated.target).toBe(32);
  });

  test('one busy sample between idle ones is a cluster of answers, not a CPU-bound process', async () => {
    const { gate, sample } = await gateWith(40, [0.3, 1, 0.3, 1, 0.3, 1]);
    for (let at = 250; at <= 1500; at += 250) sample(at);
    expect(gate.target).toBe(64);
  });

  test('the ceiling comes back two places a sample once the loop has time to spare', async () => {
    const { gate, sample } = await gateWith(40, [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    for (let at = 250; at <= 1500; at += 250) sample(at);
    const cut = gate.target;
    sample(1750); // smoothed 0.49: idle
    expect(gate.target).toBe(cut + 2);
    sample(1750 + 100); // not a new sample: under 250 ms since the last
    expect(gate.target).toBe(cut + 2);
    sample(2000);
    expect(gate.target).toBe(cut + 4);
  });
});

describe('fan-out batches leave lists their places', () => {
  const chain = { scope: 'persons', crowd: false, yields: () => true, roundTripMs: 500 };
  const crowd = { scope: 'deal_products', crowd: true, yields: () => true, roundTripMs: 500 };
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  test('a batch waits while starting it would leave a page under way no place when it is back', async () => {
    let clock = 0;
    const limiter = new RollingWindowLimiter(4, 1000, 0, () => clock);
    const first = await limiter.acquire(() => 1, chain);
    const order: string[] = [];
    const batches = [1, 2, 3].map((n) =>
      limiter.acquire(() => 5, crowd).then(() => order.push(`batch ${n}`)),
    );
    await pause(60);
    // At 500 ms the window will still hold the four starts of 0 ms: a third batch would take
    // the place of persons' next page.
    expect(order).toEqual(['batch 1', 'batch 2']);
    clock = 500;
    limiter.answered('persons', first);
    await limiter.acquire(() => 1, chain).then(() => order.push('persons 2'));
    expect(order).toEqual(['batch 1', 'batch 2', 'persons 2']);
    // Once the starts of 0 ms have left the window, a place is left for persons 3 at 1000 ms.
    clock = 1001;
    await Promise.all(batches);
    expect(order).toEqual(['batch 1', 'batch 2', 'persons 2', 'batch 3']);
  });

  test('a list that asks for nothing more frees its place a moment after its answer', async () => {
    let clock = 0;
    const limiter = new RollingWindowLimiter(3, 1000, 0, () => clock);
    const first = await limiter.acquire(() => 1, chain);
    await limiter.acquire(() => 5, crowd);
    let started = false;
    const batch = limiter.acquire(() => 5, crowd).then(() => (started = true));
    clock = 500;
    limiter.answered('persons', first);
    await pause(60);
    expect(started).toBe(false); // its next page may still come
    clock = 800; // it did not: the lane ended
    await batch;
    expect(started).toBe(true);
  });

  test('a crowd far behind (not yielding) takes the window as it comes', async () => {
    const limiter = new RollingWindowLimiter(4, 1000, 0, () => 0);
    await limiter.acquire(() => 1, chain);
    const behind = { ...crowd, yields: () => false };
    await Promise.all([1, 2, 3].map(() => limiter.acquire(() => 5, behind)));
    expect(limiter.inWindow()).toBe(4);
  });

  test('the gate keeps a place a list gave back for its next page, not for a waiting batch', async () => {
    const gate = new ConcurrencyGate(2, () => 10);
    gate.markCrowd('deal_products');
    await gate.acquire('persons');
    await gate.acquire('deal_products');
    const order: string[] = [];
    const batch = gate.acquire('deal_products').then(() => order.push('batch'));
    gate.release('persons');
    await settle();
    expect(order).toEqual([]);
    await gate.acquire('persons');
    order.push('persons');
    // The lane ends: nothing asks for the place, which goes to the batch after a moment.
    gate.release('persons');
    await settle();
    expect(order).toEqual(['persons']);
    await batch;
    expect(order).toEqual(['persons', 'batch']);
    // Without a crowd nothing is kept: a list's place goes to the next list at once.
    const plain = new ConcurrencyGate(1, () => 10);
    await plain.acquire('persons');
    const notes = plain.acquire('notes');
    plain.release('persons');
    await notes;
    expect(plain.load('notes')).toBe(1);
  });
});
