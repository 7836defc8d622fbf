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
