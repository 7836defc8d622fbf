import postgres from 'postgres';
import { ensureConsoleBuilt } from '../../gateway/console-build.ts';
import { migrate } from '../../core/db/migrate.ts';
import { templateName } from './template.ts';

/**
 * Once per run: build the console for the browser tests and, on real Postgres, prepare a migrated template
 * database that every test file clones (much faster than migrating per file).
 */
export default async function setup() {
  await ensureConsoleBuilt();
  const url = process.env.DATABASE_URL;
  if (!url) return;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  const name = templateName();
  try {
    const [exists] = await admin`select 1 from pg_database where datname = ${name}`;
    if (!exists) {
      await admin.unsafe(`create database "${name}"`);
      const db = postgres(withDatabase(url, name), { max: 1, onnotice: () => {}, transform: postgres.camel });
      await migrate(db);
      await db.end();
    }
  } finally {
    await admin.end();
  }
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}
