import type { Sql } from '../core/db/client.ts';
import { databaseGauges } from './db-gauges.ts';
import type { Metrics } from './metrics.ts';

interface Backlog {
  pending: number;
  oldestS: number;
  failedLastHour: number;
}

/**
 * What an operator watches when WeChat sends stall (the API down, the minute's budget used up, a bad secret):
 * the outbox's backlog.
 */
export function watchOutbox(metrics: Metrics, sql: Sql, onError: (err: unknown) => void): void {
  const read = async () =>
    (
      await sql<Backlog[]>`
        select (select count(*)::int from outbox where status = 'pending') as pending,
               coalesce((select extract(epoch from now() - min(created_at))::float8 from outbox where status = 'pending'), 0) as oldest_s,
               (select count(*)::int from outbox where status = 'failed' and next_attempt_at > now() - interval '1 hour') as failed_last_hour`
    )[0];
  databaseGauges(metrics, read, onError, [
    { name: 'huike_outbox_pending', help: 'Replies waiting in the outbox to be sent to a channel', pick: (r) => r.pending },
    { name: 'huike_outbox_oldest_pending_seconds', help: 'Age of the oldest reply still waiting in the outbox', pick: (r) => r.oldestS },
    { name: 'huike_outbox_failed_last_hour', help: 'Replies that failed for good in the last hour (their agents see why)', pick: (r) => r.failedLastHour },
  ]);
}
