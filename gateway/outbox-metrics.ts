import { Gauge } from 'prom-client';
import type { Sql } from '../core/db/client.ts';
import type { Metrics } from './metrics.ts';

/**
 * What an operator watches when WeChat sends stall (the API down, the minute's budget used up, a bad secret):
 * the outbox's backlog, read from the database at each scrape, so every node reports the fleet's.
 */
export function watchOutbox(metrics: Metrics, sql: Sql, onError: (err: unknown) => void): void {
  let read: Promise<{ pending: number; oldestS: number; failedLastHour: number } | null> | null = null;
  // the three gauges are one scrape: one query
  const once = () =>
    (read ??= sql<{ pending: number; oldestS: number; failedLastHour: number }[]>`
      select (select count(*)::int from outbox where status = 'pending') as pending,
             coalesce((select extract(epoch from now() - min(created_at))::float8 from outbox where status = 'pending'), 0) as oldest_s,
             (select count(*)::int from outbox where status = 'failed' and next_attempt_at > now() - interval '1 hour') as failed_last_hour`
      .then(([row]) => row)
      .catch((err) => {
        // a scrape while the database is away still answers, without these figures
        onError(err);
        return null;
      })
      .finally(() => setImmediate(() => (read = null))));
  const gauge = (name: string, help: string, pick: (r: { pending: number; oldestS: number; failedLastHour: number }) => number) =>
    new Gauge({
      name,
      help,
      registers: [metrics.registry],
      async collect() {
        const r = await once();
        // unknown while the database is away: NaN, not the last figure, nor a reassuring 0
        this.set(r ? pick(r) : Number.NaN);
      },
    });
  gauge('huike_outbox_pending', 'Replies waiting in the outbox to be sent to a channel', (r) => r.pending);
  gauge('huike_outbox_oldest_pending_seconds', 'Age of the oldest reply still waiting in the outbox', (r) => r.oldestS);
  gauge('huike_outbox_failed_last_hour', 'Replies that failed for good in the last hour (their agents see why)', (r) => r.failedLastHour);
}
