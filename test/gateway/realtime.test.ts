import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { buildAgent, buildKb, buildTeam } from '../support/factories.ts';
import { emitAck, nextEvent, startTestHuike, type TestHuike } from '../support/huike.ts';
import { testDatabase } from '../support/db.ts';
import { agentStatus, agentStatusOnce } from '../support/presence.ts';
import type { Database } from '../../core/db/client.ts';

describe('realtime: /customer and /agent', () => {
  let h: TestHuike;
  let database: Database;
  let agentId: string;
  let agentToken: string;
  // every statement the node sends, to see which queries a message costs
  const statements: string[] = [];

  beforeAll(async () => {
    database = await testDatabase({ onQuery: (q) => statements.push(q) });
    h = await startTestHuike({ database });
    const team = await buildTeam(h.deps.sql, { name: '售后', categories: ['物流'], isDefault: true });
    const agent = await buildAgent(h.deps.sql, { email: 'rt@test.huike', teamIds: [team.id] });
    agentId = agent.id;
    await buildKb(h.deps.sql, [
      { id: 'ship-free', category: '物流', question: '包邮吗？', similar: ['运费多少', '满多少包邮'], answer: '全场满 99 元包邮。' },
      { id: 'ret-how', category: '退换货', question: '怎么申请退货？', similar: ['退货流程'], answer: '在我的订单里申请售后。' },
    ]);
    await h.bot.reload();
    agentToken = await h.login('rt@test.huike');
  });
  afterAll(async () => {
    await h.close();
    await database.close();
  });

  it('gives a new visitor an id, and keeps a known one', async () => {
    const fresh = await h.customerSocket();
    expect(fresh.visitorId).toMatch(/^v_[A-Za-z0-9_-]{24}$/);
    const again = await h.customerSocket(fresh.visitorId);
    expect(again.visitorId).toBe(fresh.visitorId);
    const invalid = await h.customerSocket('bad id!');
    expect(invalid.visitorId).not.toBe('bad id!');
  });

  it('acks a message only once it is stored, stores a resend once, and the bot answers from the KB', async () => {
    const { socket } = await h.customerSocket();
    const answer = nextEvent(socket, 'message:new', (e) => e.message.senderType === 'bot');
    const ack = await emitAck(socket, 'message:send', { clientMsgId: 'c1', text: '包邮吗' });
    expect(ack).toMatchObject({ ok: true, duplicate: false, message: { seq: 1, senderType: 'customer', text: '包邮吗' } });
    const [stored] = await h.deps.sql`select id from messages where id = ${ack.message.id}`;
    expect(stored).toBeDefined();
    const resend = await emitAck(socket, 'message:send', { clientMsgId: 'c1', text: '包邮吗' });
    expect(resend).toMatchObject({ ok: true, duplicate: true, message: { id: ack.message.id } });
    const bot = await answer;
    expect(bot).toMatchObject({ seq: 2, message: { text: '全场满 99 元包邮。', payload: { kbId: 'ship-free' } } });
    const history = await emitAck(socket, 'history', { afterSeq: 0 });
    expect(history.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2]);
    const [{ n }] = await h.deps.sql<{ n: number }[]>`select count(*)::int as n from messages where conversation_id = ${ack.message.conversationId}`;
    expect(n).toBe(2);
  });

  it("a customer's message and the bot's answer reach the console with their inbox rows, and no query loads them", async () => {
    const boss = await buildAgent(h.deps.sql, { email: 'inbox-rt@test.huike', role: 'supervisor' });
    const bossToken = await h.login(boss.email);
    const watcher = await h.agentSocket(bossToken);
    const { socket } = await h.customerSocket();
    const seen = { customer: nextEvent(watcher, 'message:new', (e) => e.message.senderType === 'customer'), bot: nextEvent(watcher, 'message:new', (e) => e.message.senderType === 'bot') };
    statements.length = 0;
    await emitAck(socket, 'message:send', { clientMsgId: 'inbox-1', text: '运费多少' });
    const [customer, bot] = [await seen.customer, await seen.bot];
    await h.settle();
    // the inbox row's query (customer name, last text, open ticket) is the console's list, not the events'
    expect(statements.filter((q) => /as customer_name,\s*\(select m\.text/.test(q))).toEqual([]);
    expect(customer.conversation).toMatchObject({ lastText: '运费多少', ticket: null, customerName: expect.any(String) });
    const res = await fetch(`${h.url}/api/v1/conversations?limit=100`, { headers: { authorization: `Bearer ${bossToken}` } });
    const listed = ((await res.json()) as { conversations: { id: string }[] }).conversations.find((c) => c.id === bot.conversationId);
    expect(bot.conversation).toEqual(listed);
    expect(bot.conversation).toMatchObject({ lastText: '全场满 99 元包邮。', customerName: customer.conversation.customerName });
  });

  it('rejects malformed messages with an error ack and stores nothing', async () => {
    const { socket } = await h.customerSocket();
    const before = (await h.deps.sql<{ n: number }[]>`select count(*)::int as n from messages`)[0].n;
    for (const bad of [{ text: 'no id' }, { clientMsgId: 'x', text: '' }, { clientMsgId: 'x', text: 'x'.repeat(5000) }, 'string', null]) {
      const r = await emitAck(socket, 'message:send', bad);
      expect(r).toMatchObject({ ok: false, error: { code: 'invalid_message' } });
    }
    expect((await h.deps.sql<{ n: number }[]>`select count(*)::int as n from messages`)[0].n).toBe(before);
  });

  it('refuses an agent socket without a valid token', async () => {
    const err = await new Promise<Error & { data?: { code: string } }>((resolve) => {
      const s = io(`${h.url}/agent`, { auth: { token: 'forged' }, transports: ['websocket'], reconnection: false, forceNew: true });
      s.once('connect_error', (e) => {
        s.disconnect();
        resolve(e);
      });
    });
    expect(err.data?.code).toBe('unauthorized');
  });

  it('runs the loop: 转人工 -> ticket assigned to the online agent -> agent sees it live -> reply reaches the customer', async () => {
    const agent = await h.agentSocket(agentToken);
    const [{ status }] = await h.deps.sql<{ status: string }[]>`select status from agents where id = ${agentId}`;
    expect(status).toBe('online'); // opening the console puts the agent online

    const { socket: customer } = await h.customerSocket();
    const assigned = nextEvent(agent, 'ticket:assigned');
    await emitAck(customer, 'message:send', { clientMsgId: 'h1', text: '转人工' });
    const a = await assigned;
    expect(a.ticket).toMatchObject({ assigneeId: agentId, status: 'assigned', reason: 'customer_request' });
    expect(a.conversation).toMatchObject({ status: 'open', assigneeId: agentId });
    // what came before the assignment is there to read
    const history = await emitAck(agent, 'sync', { conversationId: a.conversation.id, afterSeq: 0 });
    expect(history.messages[0]).toMatchObject({ seq: 1, senderType: 'customer', text: '转人工' });
    // and what comes after arrives live
    const seenByAgent = nextEvent(agent, 'message:new', (e) => e.message.senderType === 'customer');
    await emitAck(customer, 'message:send', { clientMsgId: 'h1b', text: '我的快递三天没动了' });
    const seen = await seenByAgent;
    expect(seen.message.text).toBe('我的快递三天没动了');
    expect(seen.seq).toBe(history.messages.at(-1).seq + 1);
    // the event carries the conversation as the inbox lists it: customer, last text, the open ticket
    const inboxRow = async () => {
      const res = await fetch(`${h.url}/api/v1/conversations?limit=100`, { headers: { authorization: `Bearer ${agentToken}` } });
      return ((await res.json()) as { conversations: { id: string }[] }).conversations.find((c) => c.id === a.conversation.id);
    };
    expect(seen.conversation).toMatchObject({ lastText: '我的快递三天没动了', ticket: { id: a.ticket.id, status: 'assigned', firstResponseAt: null } });
    expect(seen.conversation).toEqual(await inboxRow());

    const ownReply = nextEvent(agent, 'message:new', (e) => e.message.senderType === 'agent');
    const reply = nextEvent(customer, 'message:new', (e) => e.message.senderType === 'agent');
    const res = await fetch(`${h.url}/api/v1/conversations/${a.conversation.id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${agentToken}` },
      body: JSON.stringify({ text: '您好，请问有什么可以帮您？' }),
    });
    expect(res.status).toBe(201);
    const got = await reply;
    expect(got.message.text).toBe('您好，请问有什么可以帮您？');
    expect(got.seq).toBeGreaterThan(seen.seq);
    // the agent's own reply: the inbox row shows the ticket answered (its first response, written with the reply)
    const mine = await ownReply;
    expect(mine.conversation).toMatchObject({ lastText: '您好，请问有什么可以帮您？', ticket: { id: a.ticket.id, firstResponseAt: expect.any(String) } });
    expect(mine.conversation).toEqual(await inboxRow());

    // while a human serves the conversation the bot stays quiet
    const botCount = async () =>
      (await h.deps.sql<{ n: number }[]>`select count(*)::int as n from messages where conversation_id = ${a.conversation.id} and sender_type = 'bot'`)[0].n;
    const botBefore = await botCount();
    await emitAck(customer, 'message:send', { clientMsgId: 'h2', text: '包邮吗' });
    await h.settle();
    expect(await botCount()).toBe(botBefore);
  });

  it('fills a gap by seq through sync after missing live events', async () => {
    const { socket: customer } = await h.customerSocket();
    const first = await emitAck(customer, 'message:send', { clientMsgId: 'g1', text: '运费多少' });
    await h.settle();
    const agent = await h.agentSocket(await h.login('rt@test.huike'));
    const boss = await buildAgent(h.deps.sql, { email: 'boss-rt@test.huike', role: 'supervisor' });
    const bossSocket = await h.agentSocket(await h.login(boss.email));
    const r = await emitAck(bossSocket, 'sync', { conversationId: first.message.conversationId, afterSeq: 1 });
    expect(r.ok).toBe(true);
    expect(r.messages.map((m: { seq: number }) => m.seq)).toEqual([2]);
    // an agent outside the conversation's team/assignment is refused
    const denied = await emitAck(agent, 'sync', { conversationId: first.message.conversationId, afterSeq: 0 });
    expect(denied).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('sets the agent offline when their last console disconnects', async () => {
    const other = await buildAgent(h.deps.sql, { email: 'leaver@test.huike' });
    const s = await h.agentSocket(await h.login('leaver@test.huike'));
    s.disconnect();
    expect(await agentStatusOnce(h.deps.sql, other.id, 'offline')).toBe('offline');
  });

  it('keeps the agent online while another of their consoles is open, and offline once the last one closes', async () => {
    const agent = await buildAgent(h.deps.sql, { email: 'two-tabs@test.huike' });
    const [first, second] = [await h.agentSocket(await h.login('two-tabs@test.huike')), await h.agentSocket(await h.login('two-tabs@test.huike'))];
    first.disconnect();
    await new Promise((r) => setTimeout(r, 500));
    expect(await agentStatus(h.deps.sql, agent.id)).toBe('online');
    second.disconnect();
    expect(await agentStatusOnce(h.deps.sql, agent.id, 'offline')).toBe('offline');
  });
});
