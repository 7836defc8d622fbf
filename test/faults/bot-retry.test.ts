import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOT_RETRY } from '../../bot/engine.ts';
import { REPLIES } from '../../bot/replies.ts';
import { resolveConversation } from '../../core/tickets/tickets.ts';
import { buildKb } from '../support/factories.ts';
import { failOnce } from '../support/fail-once.ts';
import { emitAck, startTestHuike, type TestHuike } from '../support/huike.ts';
import { databaseBehindRelay, type TcpProxy } from '../support/tcp-proxy.ts';

const url = process.env.DATABASE_URL;

describe.skipIf(!url)('the database goes away right after a customer message is stored', () => {
  let relayed: Awaited<ReturnType<typeof databaseBehindRelay>>;
  let proxy: TcpProxy;
  let h: TestHuike;
  const saved = { ...BOT_RETRY };
  beforeAll(async () => {
    relayed = await databaseBehindRelay();
    ({ proxy } = relayed);
    h = await startTestHuike({ database: relayed.database });
    await buildKb(h.deps.sql, [{ id: 'ship', category: '物流', question: '多久发货', similar: ['几天发货'], answer: '下单后 48 小时内发货。' }]);
    await h.bot.reload();
    BOT_RETRY.baseMs = 100;
  });
  afterAll(async () => {
    Object.assign(BOT_RETRY, saved);
    await proxy?.restore().catch(() => {});
    await h?.close();
    await relayed?.close();
  });

  it('the bot answers it once the database is back, and only once', { timeout: 30_000 }, async () => {
    // cut the moment the message is committed: the bot's work for it starts with the database away
    const unsubscribe = h.deps.bus.subscribe((e) => {
      if (e.type !== 'message.created' || e.message.senderType !== 'customer') return;
      unsubscribe();
      void proxy.cut().then(() => setTimeout(() => void proxy.restore(), 800));
    });
    const { socket } = await h.customerSocket();
    const ack = await emitAck<{ message: { id: string } }>(socket, 'message:send', { clientMsgId: 'away-1', text: '多久发货' });
    expect(ack.message.id).toBeTruthy();
    const bot = () => h.deps.sql<{ text: string }[]>`select text from messages where sender_type = 'bot'`.then((r) => r.map((m) => m.text), () => null);
    await expect.poll(bot, { timeout: 20_000, interval: 200 }).toEqual(['下单后 48 小时内发货。']);
    await h.settle();
    expect(await bot()).toEqual(['下单后 48 小时内发货。']);
  });

  it('a miss whose reply fails is counted once, with its reply, when the bot tries again', { timeout: 30_000 }, async () => {
    // the bot's next reply fails as a database that went away mid-answer fails it: once, with a "try again" error
    const restore = await failOnce(h.deps.sql, 'messages', `new.sender_type = 'bot'`);
    try {
      const { socket } = await h.customerSocket();
      const ack = await emitAck<{ message: { conversationId: string } }>(socket, 'message:send', { clientMsgId: 'miss-1', text: '嗯嗯那个啥' });
      const id = ack.message.conversationId;
      const bot = () => h.deps.sql<{ text: string }[]>`select text from messages where conversation_id = ${id} and sender_type = 'bot'`.then((r) => r.map((m) => m.text));
      await expect.poll(bot, { timeout: 10_000, interval: 100 }).toEqual([REPLIES.miss]);
      await h.settle();
      const [c] = await h.deps.sql<{ botMisses: number; status: string }[]>`select bot_misses, status from conversations where id = ${id}`;
      // one miss, not two: the count and the reply are one write, so the failed try left nothing behind
      expect(c).toEqual({ botMisses: 1, status: 'bot' });
      const [logged] = await h.deps.sql<{ n: number }[]>`select count(*)::int as n from kb_unanswered where conversation_id = ${id}`;
      expect(logged.n).toBe(1);
    } finally {
      await restore();
    }
  });

  it('a handoff whose ticket fails is told and opened together when the bot tries again, once', { timeout: 30_000 }, async () => {
    // opening the ticket fails once with a "try again" error, as a database gone between the two writes did
    const restore = await failOnce(h.deps.sql, 'tickets', 'true');
    try {
      const { socket } = await h.customerSocket();
      const ack = await emitAck<{ message: { conversationId: string } }>(socket, 'message:send', { clientMsgId: 'human-1', text: '转人工' });
      const id = ack.message.conversationId;
      const tickets = () => h.deps.sql<{ n: number }[]>`select count(*)::int as n from tickets where conversation_id = ${id}`.then((r) => r[0].n);
      await expect.poll(tickets, { timeout: 10_000, interval: 100 }).toBe(1);
      await h.settle();
      const said = await h.deps.sql<{ text: string }[]>`select text from messages where conversation_id = ${id} and sender_type = 'bot' order by seq`;
      // "being transferred" once, with its ticket; then where the customer is in the queue
      expect(said.map((m) => m.text).filter((t) => t === REPLIES.handoff)).toHaveLength(1);
      expect(said[0].text).toBe(REPLIES.handoff);
      const [c] = await h.deps.sql<{ status: string }[]>`select status from conversations where id = ${id}`;
      expect(['queued', 'open']).toContain(c.status);
    } finally {
      await restore();
    }
  });

  it('a queued handoff whose queue notice fails is told, opened and placed in the queue together, once', { timeout: 30_000 }, async () => {
    // nobody online: the ticket waits in the queue, and the customer is told where they stand
    const online = await h.deps.sql<{ id: string }[]>`update agents set status = 'offline' where status <> 'offline' returning id`;
    const restore = await failOnce(h.deps.sql, 'messages', `new.sender_type = 'bot' and new.text <> '${REPLIES.handoff}'`);
    try {
      const { socket } = await h.customerSocket();
      const ack = await emitAck<{ message: { conversationId: string } }>(socket, 'message:send', { clientMsgId: 'queue-1', text: '转人工' });
      const id = ack.message.conversationId;
      const said = () => h.deps.sql<{ text: string }[]>`select text from messages where conversation_id = ${id} and sender_type = 'bot' order by seq`;
      await expect.poll(async () => (await said()).length, { timeout: 10_000, interval: 100 }).toBe(2);
      await h.settle();
      const messages = await said();
      // before, the notice failed alone after the ticket was opened: told "being transferred", never where in the queue
      expect(messages[0].text).toBe(REPLIES.handoff);
      // with a team, the notice says how many are ahead; this customer has none
      expect([REPLIES.queued, REPLIES.queuedAt(0, 10)]).toContain(messages[1].text);
      const tickets = await h.deps.sql<{ status: string }[]>`select status from tickets where conversation_id = ${id}`;
      expect(tickets.map((t) => t.status)).toEqual(['new']);
      const [c] = await h.deps.sql<{ status: string }[]>`select status from conversations where id = ${id}`;
      expect(c.status).toBe('queued');
    } finally {
      await restore();
      if (online.length) await h.deps.sql`update agents set status = 'online' where id = any(${online.map((a) => a.id)}::uuid[])`;
    }
  });

  it('a rating whose thanks fails is recorded, thanked and closed together when the bot tries again, once', { timeout: 30_000 }, async () => {
    // a customer handed to a person, whose conversation was solved and who was asked to rate it
    const { socket } = await h.customerSocket();
    const first = await emitAck<{ message: { conversationId: string } }>(socket, 'message:send', { clientMsgId: 'rate-0', text: '转人工' });
    await h.settle();
    await resolveConversation(h.deps, first.message.conversationId);
    await h.settle();
    const [ticket] = await h.deps.sql<{ id: string; csatRequestedAt: Date | null }[]>`select id, csat_requested_at from tickets where conversation_id = ${first.message.conversationId}`;
    expect(ticket.csatRequestedAt).not.toBeNull();

    const restore = await failOnce(h.deps.sql, 'messages', `new.text = '${REPLIES.thanksForRating}'`);
    try {
      const rated = await emitAck<{ message: { conversationId: string } }>(socket, 'message:send', { clientMsgId: 'rate-1', text: '5' });
      const id = rated.message.conversationId;
      const status = () => h.deps.sql<{ status: string }[]>`select status from conversations where id = ${id}`.then((r) => r[0].status);
      await expect.poll(status, { timeout: 10_000, interval: 100 }).toBe('resolved');
      await h.settle();
      const said = await h.deps.sql<{ text: string }[]>`select text from messages where conversation_id = ${id} and sender_type = 'bot'`;
      expect(said.map((m) => m.text)).toEqual([REPLIES.thanksForRating]);
      const [t] = await h.deps.sql<{ csatScore: number }[]>`select csat_score from tickets where id = ${ticket.id}`;
      expect(t.csatScore).toBe(5);
      const [events] = await h.deps.sql<{ n: number }[]>`select count(*)::int as n from ticket_events where ticket_id = ${ticket.id} and type = 'csat'`;
      expect(events.n).toBe(1);
    } finally {
      await restore();
    }
  });
});
