import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import pino from 'pino';
import { openDatabase, type Database } from '../../core/db/client.ts';
import type { Deps } from '../../core/deps.ts';
import { EventBus } from '../../core/events.ts';
import { migrate } from '../../core/db/migrate.ts';
import { withDatabase } from './global-setup.ts';
import { templateName } from './template.ts';

/**
 * A database of its own for one test file: a clone of the migrated template on real Postgres (DATABASE_URL),
 * a fresh in-memory PGlite otherwise. close() drops it.
 */
export async function testDatabase(opts: { onQuery?: (query: string) => void } = {}): Promise<Database & { url?: string }> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const db = await openDatabase({ pgliteDir: null, onQuery: opts.onQuery });
    await migrate(db.sql);
    return db;
  }
  const name = `huike_t_${randomBytes(6).toString('hex')}`;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.unsafe(`create database "${name}" template "${templateName()}"`);
      break;
    } catch (err) {
      // two files cloning the template at the same instant: one waits and retries
      if (attempt < 20 && /being accessed by other users/.test(String(err))) {
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
        continue;
      }
      throw err;
    }
  }
  const db = await openDatabase({ databaseUrl: withDatabase(url, name), onQuery: opts.onQuery });
  return {
    ...db,
    url: withDatabase(url, name),
    async close() {
      await db.close();
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}

/** Core dependencies over a test database: a fresh event bus and a silent logger. */
export function depsFor(db: Pick<Database, 'sql'>): Deps {
  return { sql: db.sql, bus: new EventBus(), log: pino({ level: 'silent' }) };
}
