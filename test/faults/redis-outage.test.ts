import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/client.ts';
import { testDatabase } from '../support/db.ts';
import { buildAgent, buildTeam } from '../support/factories.ts';
import { emitAck, nextEvent, startTestHuike, type TestHuike, dropRedisPrefix, testRedisPrefix } from '../support/huike.ts';
import { expectLiveAgain } from '../support/live-again.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

const redisUrl = process.env.REDIS_URL;

// Both nodes reach Redis through a TCP relay the test cuts: Redis itself keeps serving the other test files.
describe.skipIf(!redisUrl)('Redis goes away and comes back under two nodes', () => {
  let db: Database;
  let proxy: TcpProxy;
  let a: TestHuike;
  let b: TestHuike;
  let proxied: string;
  const redisPrefix = testRedisPrefix();
  beforeAll(async () => {
    db = await testDatabase();
    const real = new URL(redisUrl!);
    proxy = new TcpProxy({ host: real.hostname, port: Number(real.port || 6379) });
    await proxy.start();
    real.port = String(proxy.port);
    proxied = real.toString();
    a = await startTestHuike({ database: db, redisPrefix, env: { REDIS_URL: proxied } });
    b = await startTestHuike({ database: db, redisPrefix, env: { REDIS_URL: proxied } });
    const team = await buildTeam(db.sql, { isDefault: true });
    await buildAgent(db.sql, { email: 'redis-fault@test.huike', teamIds: [team.id] });
  });
  afterAll(async () => {
    await proxy?.restore().catch(() => {});
    await a?.close();
    await b?.stop();
    await proxy?.stop();
    await dropRedisPrefix(redisUrl!, redisPrefix);
    await db?.close();
  });

  it('live updates across nodes resume by themselves after the outage; messages were stored throughout', { timeout: 60_000 }, async () => {
    const agent = await b.agentSocket(await b.login('redis-fault@test.huike'));
    const { socket: customer } = await a.customerSocket();
    const assigned = nextEvent(agent, 'ticket:assigned');
    await emitAck(customer, 'message:send', { clientMsgId: 'r1', text: '转人工' });
    const { conversation } = await assigned;

    // a third node whose console connection drops during the outage (the adapter queues the session write for
    // recovery), and which is then stopped (SIGTERM) while Redis is still away: it used to wait for Redis forever
    const c = await startTestHuike({ database: db, redisPrefix, env: { REDIS_URL: proxied } });
    const other = await c.agentSocket(await c.login('redis-fault@test.huike'));
    // each node tells its own clients, once Redis is back, to reload what other nodes published meanwhile
    const resyncs = { agent: 0, customer: 0 };
    agent.on('resync', () => resyncs.agent++);
    customer.on('resync', () => resyncs.customer++);
    await proxy.cut();
    // while Redis is away the customer's message is still stored (the database does not need Redis)
    const during = await emitAck<{ ok: boolean }>(customer, 'message:send', { clientMsgId: 'r2', text: 'Redis 断开时发的' });
    expect(during.ok).toBe(true);
    const dropped = new Promise((r) => other.once('disconnect', r));
    other.io.engine.close();
    await dropped;
    await new Promise((r) => setTimeout(r, 100));
    await c.stop();
    await new Promise((r) => setTimeout(r, 1500));
    await proxy.restore();

    // cross-node delivery comes back without restarting anything
    await expectLiveAgain(customer, agent);
    // the message sent meanwhile never reached the agent's node live: its console is told to reload, once
    await expect.poll(() => resyncs, { timeout: 10_000 }).toEqual({ agent: 1, customer: 1 });
    await new Promise((r) => setTimeout(r, 1000));
    expect(resyncs).toEqual({ agent: 1, customer: 1 });
    // and whatever the agent missed is one sync away
    const texts = (await db.sql<{ text: string }[]>`select text from messages where conversation_id = ${conversation.id} and sender_type = 'customer'`).map((m) => m.text);
    expect(texts).toContain('Redis 断开时发的');
  });
});
