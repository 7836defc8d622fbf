import { Gauge } from 'prom-client';
import type { Metrics } from './metrics.ts';

/**
 * Gauges read from the database at each scrape, so every node reports the fleet's: one query for all of them per
 * scrape. While the database is away a scrape still answers, each of them NaN: not the last figure, nor a
 * reassuring 0.
 */
export function databaseGauges<T>(
  metrics: Metrics,
  read: () => Promise<T>,
  onError: (err: unknown) => void,
  gauges: { name: string; help: string; pick: (row: T) => number }[],
): void {
  let reading: Promise<T | null> | null = null;
  const once = () =>
    (reading ??= read()
      .catch((err) => {
        onError(err);
        return null;
      })
      .finally(() => setImmediate(() => (reading = null))));
  for (const { name, help, pick } of gauges)
    new Gauge({
      name,
      help,
      registers: [metrics.registry],
      async collect() {
        const row = await once();
        this.set(row ? pick(row) : Number.NaN);
      },
    });
}
