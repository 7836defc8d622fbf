import { existsSync } from 'node:fs';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/client.ts';
import { testDatabase } from '../support/db.ts';
import { buildAgent, buildTeam } from '../support/factories.ts';
import { emitAck, nextEvent, startTestHuike, type TestHuike, testRedisPrefix } from '../support/huike.ts';
import { expectLiveAgain } from '../support/live-again.ts';
import { privateRedis, REDIS_SERVER, type PrivateRedis } from '../support/private-redis.ts';

// Redis itself killed and started again, empty (a cache-only Redis keeps nothing over a restart), where
// redis-outage.test.ts cuts the way to a Redis that keeps its data: the adapter's stream, the sessions kept for
// recovery, the cached WeChat tokens are all gone. A server of this file's own, so the shared one keeps serving.
describe.skipIf(!process.env.REDIS_URL || !existsSync(REDIS_SERVER))('Redis is killed and restarts empty under two nodes', () => {
  let db: Database;
  let redis: PrivateRedis;
  let a: TestHuike;
  let b: TestHuike;
  const redisPrefix = testRedisPrefix();
  beforeAll(async () => {
    db = await testDatabase();
    redis = await privateRedis();
    a = await startTestHuike({ database: db, redisPrefix, env: { REDIS_URL: redis.url } });
    b = await startTestHuike({ database: db, redisPrefix, env: { REDIS_URL: redis.url } });
    const team = await buildTeam(db.sql, { isDefault: true });
    await buildAgent(db.sql, { email: 'redis-restart@test.huike', teamIds: [team.id] });
  });
  afterAll(async () => {
    await a?.close();
    await b?.stop();
    await redis?.close();
    await db?.close();
  });

  it('live updates across nodes resume, and a console dropped meanwhile comes back as a new session', { timeout: 60_000 }, async () => {
    const token = await b.login('redis-restart@test.huike');
    const agent = io(`${b.url}/agent`, { auth: { token }, transports: ['websocket'], forceNew: true, reconnectionDelay: 200, reconnectionDelayMax: 200 });
    try {
      await new Promise<void>((resolve) => agent.once('ready', () => resolve()));
      const { socket: customer } = await a.customerSocket();
      const assigned = nextEvent(agent, 'ticket:assigned');
      await emitAck(customer, 'message:send', { clientMsgId: 'rr1', text: '转人工' });
      const { conversation } = await assigned;

      await redis.kill();
      // the console's connection drops too, and it tries again every 200 ms while Redis is down
      const dropped = new Promise((resolve) => agent.once('disconnect', resolve));
      agent.io.engine.close();
      await dropped;
      const back = new Promise<void>((resolve) => agent.once('connect', () => resolve()));
      // the database does not need Redis: the customer's message is stored meanwhile
      const during = await emitAck<{ ok: boolean }>(customer, 'message:send', { clientMsgId: 'rr2', text: 'Redis 重启时发的' });
      expect(during.ok).toBe(true);
      await new Promise((r) => setTimeout(r, 1500));
      await redis.start();

      // the session kept for connection state recovery died with Redis: the console is back as a new session
      // (its `sync` fills the gap from its last seq), and hears live events again
      await back;
      expect(agent.recovered).toBe(false);
      await expectLiveAgain(customer, agent);
      const texts = (await db.sql<{ text: string }[]>`select text from messages where conversation_id = ${conversation.id} and sender_type = 'customer'`).map((m) => m.text);
      expect(texts).toContain('Redis 重启时发的');
    } finally {
      agent.disconnect();
    }
  });
});
