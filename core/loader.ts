/**
 * Batched reads: every key asked for in one turn of the event loop is fetched by a single call of `fetch`, so a
 * burst of events (a batch of messages just committed) costs one query, not one per event. A key `fetch` leaves
 * out resolves to undefined. Nothing is cached beyond the turn: each turn reads fresh rows.
 */
export function batchLoader<K, V>(fetch: (keys: K[]) => Promise<Map<K, V>>): (key: K) => Promise<V | undefined> {
  let pending: Map<K, { resolve: (v: V | undefined) => void; reject: (e: unknown) => void }[]> | null = null;
  const flush = () => {
    const batch = pending!;
    pending = null;
    fetch([...batch.keys()]).then(
      (found) => {
        for (const [k, waiters] of batch) for (const w of waiters) w.resolve(found.get(k));
      },
      (err) => {
        for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
      },
    );
  };
  return (key) =>
    new Promise((resolve, reject) => {
      if (!pending) {
        pending = new Map();
        setImmediate(flush);
      }
      const waiters = pending.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else pending.set(key, [{ resolve, reject }]);
    });
}
