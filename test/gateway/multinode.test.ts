import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import pino from 'pino';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/client.ts';
import { TokenService } from '../../core/agents/tokens.ts';
import { createMetrics } from '../../gateway/metrics.ts';
import { adapterSubscribed, createRealtime } from '../../gateway/realtime/server.ts';
import { depsFor, testDatabase } from '../support/db.ts';
import { buildAgent, buildConversation, buildTeam, TEST_PASSWORD } from '../support/factories.ts';
import { emitAck, nextEvent, startTestHuike, type TestHuike, testRedisPrefix } from '../support/huike.ts';
import { agentStatus, agentStatusOnce } from '../support/presence.ts';

// Two gateway nodes over one database and one Redis: what happens on node A reaches sockets on node B.
describe.skipIf(!process.env.REDIS_URL)('two gateway nodes through Redis', () => {
  let db: Database;
  let a: TestHuike;
  let b: TestHuike;
  const redisPrefix = testRedisPrefix();
  let teamId = '';

  beforeAll(async () => {
    db = await testDatabase();
    a = await startTestHuike({ database: db, redisPrefix });
    b = await startTestHuike({ database: db, redisPrefix });
    const team = await buildTeam(db.sql, { isDefault: true });
    teamId = team.id;
    await buildAgent(db.sql, { email: 'node-b@test.huike', teamIds: [team.id] });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.close();
  });

  it('a node joining counts as started only once its own adapter subscriptions are live, not those of the nodes already up', async () => {
    // A and B are subscribed on the public channels, so those counts say nothing about a third node
    const redis = new Redis(process.env.REDIS_URL!);
    await redis.ping(); // connected before the node starts: its first look is the moment the node says it is ready
    const http = createServer();
    const realtime = createRealtime(http, depsFor(db), new TokenService('test-secret-test-secret-test-secret-1234'), createMetrics(), {
      redisUrl: process.env.REDIS_URL,
      redisPrefix,
      nodeId: 'a-third-node',
    });
    try {
      await realtime.ready;
      const own = ['/', '/agent', '/customer'].map((n) => `${redisPrefix}sio#${n}#${(realtime.io.of(n).adapter as unknown as { uid: string }).uid}#`);
      const counts = (await redis.pubsub('NUMSUB', ...own)) as (string | number)[];
      expect(counts.filter((_, i) => i % 2 === 1).map(Number)).toEqual([1, 1, 1]);
    } finally {
      redis.disconnect();
      await realtime.close();
    }
  });

  it('a node whose adapter never subscribes starts after the wait and says so in the log', async () => {
    const lines: { level: number; msg: string; missing: string[] }[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const redis = new Redis(process.env.REDIS_URL!);
    try {
      const nobody = `${redisPrefix}sio#/nobody#0#`;
      const started = Date.now();
      await adapterSubscribed(redis, [nobody], log, 200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(200);
      expect(lines).toMatchObject([{ level: 40, missing: [nobody], msg: expect.stringContaining('not subscribed') }]);
    } finally {
      redis.disconnect();
    }
  });

  it('a handoff ingested on node A reaches the agent connected to node B, and B’s reply reaches the customer on A', async () => {
    const agent = await b.agentSocket(await b.login('node-b@test.huike'));
    const { socket: customer } = await a.customerSocket();
    const assigned = nextEvent(agent, 'ticket:assigned');
    await emitAck(customer, 'message:send', { clientMsgId: 'n1', text: '转人工' });
    const { conversation } = await assigned;

    const live = nextEvent(agent, 'message:new', (e) => e.message.text === '还在吗');
    await emitAck(customer, 'message:send', { clientMsgId: 'n2', text: '还在吗' });
    expect((await live).conversationId).toBe(conversation.id);

    const reply = nextEvent(customer, 'message:new', (e) => e.message.senderType === 'agent');
    const res = await fetch(`${b.url}/api/v1/conversations/${conversation.id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await b.login('node-b@test.huike')}` },
      body: JSON.stringify({ text: '在的，请讲' }),
    });
    expect(res.status).toBe(201);
    expect((await reply).message.text).toBe('在的，请讲');
  });

  it('another workspace on the same Redis (its own database and REDIS_PREFIX) hears nothing of this one', async () => {
    // production and staging, or two shops, on one Redis database: the rooms are named alike in both (supervisors)
    const otherDb = await testDatabase();
    const other = await startTestHuike({ database: otherDb });
    try {
      const ours = await buildAgent(db.sql, { role: 'supervisor', teamIds: [teamId] });
      const theirs = await buildAgent(otherDb.sql, { role: 'supervisor' });
      const [oursSocket, theirsSocket] = [await b.agentSocket(await b.login(ours.email)), await other.agentSocket(await other.login(theirs.email))];
      const heardByThem: string[] = [];
      theirsSocket.onAny((name: string) => heardByThem.push(name));
      const { socket: customer } = await a.customerSocket();
      const heard = nextEvent(oursSocket, 'message:new', (e) => e.message.text === '只给本店看');
      await emitAck(customer, 'message:send', { clientMsgId: 'w1', text: '只给本店看' });
      await heard;
      await a.settle();
      await new Promise((r) => setTimeout(r, 300));
      expect(heardByThem).toEqual([]);
      expect(a.config.REDIS_PREFIX).not.toBe(other.config.REDIS_PREFIX);
    } finally {
      await other.close();
      await otherDb.close();
    }
  });

  it('an admin on node A moves an agent to another team: their console on node B hears the new team at once, the old no more', async () => {
    const admin = await buildAgent(db.sql, { role: 'admin', teamIds: [teamId] });
    const adminToken = await a.login(admin.email);
    const mover = await buildAgent(db.sql, { teamIds: [teamId] });
    const socket = await b.agentSocket(await b.login(mover.email));
    const newTeam = await buildTeam(db.sql);
    const [old, fresh] = [await buildConversation(db.sql, { teamId }), await buildConversation(db.sql, { teamId: newTeam.id })];
    const moved = await fetch(`${a.url}/api/v1/agents/${mover.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ teamIds: [newTeam.id] }),
    });
    expect(moved.status).toBe(200);

    const heard: string[] = [];
    socket.on('message:new', (e) => heard.push(e.message.text));
    const last = nextEvent(socket, 'message:new', (e) => e.message.text === 'to the new team');
    for (const [c, text] of [[old, 'to the old team'], [fresh, 'to the new team']] as const) {
      const res = await fetch(`${a.url}/api/v1/conversations/${c.id}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({ text }),
      });
      expect(res.status).toBe(201);
    }
    await last;
    await new Promise((r) => setTimeout(r, 150));
    expect(heard).toEqual(['to the new team']);
  });

  it('a password changed through node A closes the agent’s console on node B, and keeps the one that asked, on A', async () => {
    const agent = await buildAgent(db.sql, { teamIds: [teamId] });
    const [here, there] = [await a.login(agent.email), await b.login(agent.email)];
    const [onA, onB] = [await a.agentSocket(here), await b.agentSocket(there)];
    const gone = new Promise<string>((resolve) => onB.once('disconnect', resolve));
    let closedOnA = false;
    onA.once('disconnect', () => (closedOnA = true));
    const r = await a.api(here, '/agents/me/password', { method: 'PUT', body: JSON.stringify({ currentPassword: TEST_PASSWORD, newPassword: 'xin-mima-2026' }) });
    expect(r.status).toBe(200);
    expect(await gone).toBe('io server disconnect');
    expect((await b.api(there, '/conversations')).status).toBe(401);
    expect((await b.api(r.body.token, '/conversations')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(closedOnA).toBe(false);
  });

  it('an agent with consoles on both nodes stays online when the one on node A closes, and goes offline with the last', async () => {
    const agent = await buildAgent(db.sql, { teamIds: [teamId] });
    const onA = await a.agentSocket(await a.login(agent.email));
    const onB = await b.agentSocket(await b.login(agent.email));
    onA.disconnect();
    await new Promise((r) => setTimeout(r, 1000));
    // node A has no console of theirs left: it asks node B, which has one
    expect(await agentStatus(db.sql, agent.id)).toBe('online');
    onB.disconnect();
    expect(await agentStatusOnce(db.sql, agent.id, 'offline')).toBe('offline');
  });

  it('a dropped connection that comes back within two minutes recovers its session and the events it missed (Redis stream)', async () => {
    const token = await b.login('node-b@test.huike');
    const agent = io(`${b.url}/agent`, { auth: { token }, transports: ['websocket'], forceNew: true, reconnectionDelay: 200, reconnectionDelayMax: 200 });
    try {
      await new Promise<void>((resolve) => agent.once('ready', () => resolve()));
      const { socket: customer } = await a.customerSocket();
      const assigned = nextEvent(agent, 'ticket:assigned');
      await emitAck(customer, 'message:send', { clientMsgId: 'r1', text: '转人工' });
      const { conversation } = await assigned;
      await b.settle();
      const seen: { seq: number; text: string | null }[] = [];
      agent.on('message:new', (e: { conversationId: string; seq: number; message: { text: string | null } }) => {
        if (e.conversationId === conversation.id) seen.push({ seq: e.seq, text: e.message.text });
      });

      // the transport drops (not a clean disconnect); the customer writes through node A meanwhile
      const dropped = new Promise((resolve) => agent.once('disconnect', resolve));
      agent.io.engine.close();
      await dropped;
      for (const [id, text] of [['r2', '断线时的第一条'], ['r3', '断线时的第二条']]) await emitAck(customer, 'message:send', { clientMsgId: id, text });
      await a.settle();
      await new Promise<void>((resolve) => agent.once('connect', () => resolve()));
      expect(agent.recovered).toBe(true);
      await expect.poll(() => seen.map((e) => e.text)).toEqual(['断线时的第一条', '断线时的第二条']);
      expect(new Set(seen.map((e) => e.seq)).size).toBe(2);
    } finally {
      agent.disconnect();
    }
  });

  it('a node dies under its agents: they reconnect to another node, sync by seq, and get exactly what they missed', async () => {
    const c = await startTestHuike({ database: db, redisPrefix });
    try {
      const token = await b.login('node-b@test.huike');
      const agent = await c.agentSocket(token);
      const { socket: customer, visitorId } = await a.customerSocket();
      const assigned = nextEvent(agent, 'ticket:assigned');
      await emitAck(customer, 'message:send', { clientMsgId: 'k1', text: '转人工，我要退款' });
      const { conversation } = await assigned;
      const seen: number[] = [];
      agent.on('message:new', (e: { seq: number }) => seen.push(e.seq));
      await emitAck(customer, 'message:send', { clientMsgId: 'k2', text: '在吗' });
      await expect.poll(() => seen.length).toBeGreaterThan(0);
      const lastSeen = Math.max(...seen);

      // node C goes down with the agent on it; the customer keeps writing through node A
      const down = new Promise((resolve) => agent.once('disconnect', resolve));
      await c.stop(); // stop, not close: close would delete what the other nodes share in Redis
      await down;
      for (const [id, text] of [['k3', '订单号 TB123'], ['k4', '什么时候到账'], ['k5', '谢谢']]) await emitAck(customer, 'message:send', { clientMsgId: id, text });
      await a.settle();

      // the console reconnects (here to node B) and asks for everything after the last seq it holds
      const again = await b.agentSocket(token);
      const sync = await emitAck<{ messages: { seq: number; text: string | null }[] }>(again, 'sync', { conversationId: conversation.id, afterSeq: lastSeen });
      const [{ lastSeq }] = await db.sql<{ lastSeq: number }[]>`select last_seq from conversations where id = ${conversation.id}`;
      expect(sync.messages.map((m) => m.seq)).toEqual(Array.from({ length: lastSeq - lastSeen }, (_, i) => lastSeen + 1 + i));
      expect(sync.messages.map((m) => m.text)).toEqual(expect.arrayContaining(['订单号 TB123', '什么时候到账', '谢谢']));
      // and live events flow again through the surviving nodes, each once
      const live: number[] = [];
      again.on('message:new', (e: { seq: number }) => live.push(e.seq));
      await emitAck(customer, 'message:send', { clientMsgId: 'k6', text: '还有一个问题' });
      await expect.poll(() => live.length).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 300));
      expect(new Set(live).size).toBe(live.length);
      expect(visitorId).toBeTruthy();
    } finally {
      await c.stop();
    }
  });
});
