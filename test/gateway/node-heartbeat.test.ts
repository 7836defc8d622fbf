import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/client.ts';
import { startHeartbeat } from '../../gateway/node-heartbeat.ts';
import { testDatabase } from '../support/db.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The sweep trusts a node's judgement of others only while its own beats land (gateway/workers/presence-sweep.ts).
describe('a node’s heartbeat', () => {
  let db: Database;
  beforeAll(async () => {
    db = await testDatabase();
  });
  afterAll(() => db.close());

  it('is in the database before it starts, beats on, and is steady only while its beats land', async () => {
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
    const heartbeat = await startHeartbeat({ sql: db.sql, log }, 500); // a beat every 100 ms
    try {
      const seen = async () => (await db.sql<{ seenAt: Date }[]>`select seen_at from gateway_nodes where id = ${heartbeat.id}`)[0]?.seenAt;
      const first = await seen();
      expect(first).toBeInstanceOf(Date);
      await expect.poll(async () => (await seen())!.getTime()).toBeGreaterThan(first!.getTime());
      await expect.poll(() => heartbeat.steadyForMs()).toBeGreaterThanOrEqual(500);

      // its row locked: the beats wait, and a late beat is a missed one
      let release!: () => void;
      const locked = new Promise<void>((resolve) => {
        void db.sql.begin(async (tx) => {
          await tx`select id from gateway_nodes where id = ${heartbeat.id} for update`;
          resolve();
          await new Promise<void>((r) => (release = r));
        });
      });
      await locked;
      await expect.poll(() => heartbeat.steadyForMs(), { timeout: 2000, interval: 20 }).toBe(0);
      expect(warnings).toContain('node heartbeat missed: this node judges no other until it beats steadily again');
      await sleep(300);
      expect(heartbeat.steadyForMs()).toBe(0);

      release();
      await expect.poll(() => heartbeat.steadyForMs(), { interval: 20 }).toBeGreaterThan(0);
      // steady again from its first beat after the trouble, not from before
      expect(heartbeat.steadyForMs()).toBeLessThan(500);
    } finally {
      await heartbeat.stop();
    }
    // stopped: no more beats, and the row says it stopped on purpose
    const [{ seenAt: last, stoppedAt }] = await db.sql<{ seenAt: Date; stoppedAt: Date | null }[]>`select seen_at, stopped_at from gateway_nodes where id = ${heartbeat.id}`;
    expect(stoppedAt).toBeInstanceOf(Date);
    await sleep(400);
    expect((await db.sql<{ seenAt: Date }[]>`select seen_at from gateway_nodes where id = ${heartbeat.id}`)[0].seenAt).toEqual(last);
  });
});
