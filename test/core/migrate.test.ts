import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/client.ts';
import { listMigrations, migrate } from '../../core/db/migrate.ts';
import { DEMO_LOGINS, seedDemo } from '../../core/seed/demo.ts';
import { testDatabase } from '../support/db.ts';

describe('migrations', () => {
  let db: Database;
  beforeAll(async () => {
    db = await testDatabase();
  });
  afterAll(() => db.close());

  it('are recorded once and re-running applies nothing', async () => {
    const rows = await db.sql<{ name: string }[]>`select name from schema_migrations order by name`;
    expect(rows.map((r) => r.name)).toEqual(listMigrations().map((m) => m.name));
    expect(await migrate(db.sql)).toEqual([]);
  });

  it('can run from several nodes at once (advisory lock)', async () => {
    const results = await Promise.all([migrate(db.sql), migrate(db.sql), migrate(db.sql)]);
    expect(results.flat()).toEqual([]);
    const [{ n }] = await db.sql<{ n: number }[]>`select count(*)::int as n from schema_migrations`;
    expect(n).toBe(listMigrations().length);
  });
});

describe('demo seed', () => {
  let db: Database;
  beforeAll(async () => {
    db = await testDatabase();
  });
  afterAll(() => db.close());

  it('several nodes starting together on an empty database seed it once', async () => {
    const results = await Promise.all([1, 2, 3].map(() => seedDemo(db.sql, new Date(), { onlyIfEmpty: true })));
    expect(results.filter(Boolean)).toHaveLength(1);
    const [{ n }] = await db.sql<{ n: number }[]>`select count(*)::int as n from agents`;
    expect(n).toBe(DEMO_LOGINS.length);
    expect(await seedDemo(db.sql, new Date(), { onlyIfEmpty: true })).toBeNull();
  });
});
