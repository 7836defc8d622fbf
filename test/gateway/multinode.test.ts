import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/client.ts';
import { testDatabase } from '../support/db.ts';
import { buildAgent, buildTeam } from '../support/factories.ts';
import { emitAck, nextEvent, startTestHuike, type TestHuike } from '../support/huike.ts';

// Two gateway nodes over one database and one Redis: what happens on node A reaches sockets on node B.
describe.skipIf(!process.env.REDIS_URL)('two gateway nodes through Redis', () => {
  let db: Database;
  let a: TestHuike;
  let b: TestHuike;

  beforeAll(async () => {
    db = await testDatabase();
    const streamName = `huike:test:${randomBytes(4).toString('hex')}`;
    a = await startTestHuike({ database: db, streamName });
    b = await startTestHuike({ database: db, streamName });
    const team = await buildTeam(db.sql, { isDefault: true });
    await buildAgent(db.sql, { email: 'node-b@test.huike', teamIds: [team.id] });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.close();
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
});
