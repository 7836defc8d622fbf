import { describe, expect, it } from 'vitest';
import { openDatabase, transaction } from '../../core/db/client.ts';
import { testDatabase } from '../support/db.ts';

describe('transactions under pipelining pressure', () => {
  // postgres.js 3.4's sql.begin() can lose its reservation when BEGIN fills a connection's pipeline
  // (porsager/postgres#823); transaction() reserves first. A small pool and a short pipeline make the race likely.
  it.skipIf(!process.env.DATABASE_URL)('hundreds of concurrent transactions beside plain queries: no UNSAFE_TRANSACTION, nothing leaks', { timeout: 60_000 }, async () => {
    const base = await testDatabase();
    const db = await openDatabase({ databaseUrl: base.url, max: 3 });
    try {
      await db.sql`create table t (id int primary key, n int not null)`;
      await db.sql`insert into t select g, 0 from generate_series(1, 20) g`;
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < 300; i++) {
        work.push(transaction(db.sql, async (tx) => tx`update t set n = n + 1 where id = ${(i % 20) + 1}`));
        work.push(db.sql`select pg_sleep(0.001), ${i}::int as i`);
      }
      const results = await Promise.allSettled(work);
      expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
      const [{ total }] = await db.sql<{ total: number }[]>`select sum(n)::int as total from t`;
      expect(total).toBe(300);
      const [{ idle }] = await db.sql<{ idle: number }[]>`
        select count(*)::int as idle from pg_stat_activity where datname = current_database() and state = 'idle in transaction'`;
      expect(idle).toBe(0);
    } finally {
      await db.close();
      await base.close();
    }
  });
});
