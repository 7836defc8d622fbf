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
