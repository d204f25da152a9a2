/**
 * Runs `work` over `items` with at most `concurrency` in flight and returns the
 * results in input order. Used for per-deal fan-out inside the shared limiter.
 */
export async function mapOrdered<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  // After a failure no new item starts: the caller gets the error, not more requests.
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index], index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, worker);
  await Promise.all(workers);
  return results;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/**
 * Index of the item with the lowest key, the earliest of equals (-1 when empty): who goes
 * first among waiters kept in arrival order. Keys are read once each, when asked.
 */
export function indexOfLowest<T>(items: readonly T[], key: (item: T) => number): number {
  let best = -1;
  let bestKey = Infinity;
  for (let index = 0; index < items.length; index++) {
    const value = key(items[index]);
    if (best < 0 || value < bestKey) {
      best = index;
      bestKey = value;
    }
  }
  return best;
}
