import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { openDatabase, type Database } from '../../core/db/client.ts';
import { migrate } from '../../core/db/migrate.ts';

/** A fresh, migrated database for one benchmark: its own database on DATABASE_URL, else in-memory PGlite. */
export async function benchDatabase(): Promise<Database & { kind: string; url?: string }> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const db = await openDatabase({ pgliteDir: null });
    await migrate(db.sql);
    return db;
  }
  const name = `huike_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  const db = await openDatabase({ databaseUrl: u.toString() });
  await migrate(db.sql);
  return {
    ...db,
    url: u.toString(),
    async close() {
      await db.close();
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}

export const quantile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/**
 * What autovacuum would have done by now on a production server: tables that grew from nothing analyzed. This
 * machine's PostgreSQL runs with `autovacuum = off`, and without statistics the planner keeps the generic plans
 * it made while the tables were nearly empty: a delivery's `update messages … where m.id = v.id` went on scanning
 * the whole table (4.5 ms a statement at 56,000 messages, against 0.1-0.3 ms with an index scan). Nothing is done
 * where autovacuum is on (it does this by itself) or on PGlite.
 */
export async function analyzeLikeAutovacuum(...dbs: (Database & { kind: string })[]): Promise<void> {
  for (const db of dbs) {
    if (db.kind !== 'postgres') continue;
    const [{ autovacuum }] = await db.sql<{ autovacuum: string }[]>`show autovacuum`;
    if (autovacuum === 'off') await db.sql`analyze`;
  }
}

/**
 * Where autovacuum is off, the bench's own stand-in for it while a long rate runs: every `everyMs` (autovacuum's
 * default naptime is a minute), each table with more dead rows than autovacuum's default threshold (50 + a fifth of
 * its live rows) is vacuumed and analyzed. Without it the conversations (1,000 rows, a row version written per
 * message, none of them in place) pile up hundreds of thousands of dead versions over ten minutes, which no
 * production server keeps. PostgreSQL's CPU for it counts with the rest of the machine's, as autovacuum's would.
 * Returns a stop function; does nothing where autovacuum is on or on PGlite.
 */
export async function vacuumLikeAutovacuum(db: Database & { kind: string }, everyMs = 60_000): Promise<() => Promise<void>> {
  if (db.kind !== 'postgres') return async () => {};
  const [{ autovacuum }] = await db.sql<{ autovacuum: string }[]>`show autovacuum`;
  if (autovacuum !== 'off') return async () => {};
  let running: Promise<void> | null = null;
  let pid: number | null = null;
  const pass = async () => {
    const due = await db.sql<{ name: string }[]>`
      select quote_ident(relname) as name from pg_stat_user_tables where n_dead_tup > 50 + 0.2 * n_live_tup`;
    if (!due.length) return;
    // throttled as autovacuum is by default (autovacuum_vacuum_cost_delay 2 ms, a cost limit of 200 a round): a
    // manual VACUUM runs unthrottled, and costs the rate far more than autovacuum would
    const c = await db.sql.reserve();
    try {
      [{ pid }] = await c<{ pid: number }[]>`select pg_backend_pid() as pid`;
      await c`set vacuum_cost_delay = 2`;
      await c`set vacuum_cost_limit = 200`;
      for (const { name } of due) await c.unsafe(`vacuum (analyze) ${name}`);
      await c`reset vacuum_cost_delay`;
      await c`reset vacuum_cost_limit`;
    } finally {
      pid = null;
      c.release();
    }
  };
  // a pass still running when the next is due: the next waits for the interval after
  const timer = setInterval(() => {
    if (!running) running = pass().catch(() => {}).finally(() => (running = null));
  }, everyMs);
  return async () => {
    clearInterval(timer);
    // a throttled VACUUM of a large table can take minutes: the rate is over, so it is cancelled
    if (pid !== null) await db.sql`select pg_cancel_backend(${pid})`;
    await running;
  };
}
