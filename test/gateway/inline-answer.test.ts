import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { ingestInbound } from '../../core/conversations/ingest.ts';
import { buildAgent, buildKb, buildTeam } from '../support/factories.ts';
import { startTestHuike, type TestHuike } from '../support/huike.ts';

// The bot's answers that need nothing but the message and the KB are written in the transaction that stores the
// message (core/conversations/inline-answer.ts); the rest are answered after commit, as before.
let h: TestHuike;
let watcher: Socket;
let n = 0;

beforeAll(async () => {
  h = await startTestHuike();
  const team = await buildTeam(h.deps.sql, { name: '售后', categories: ['物流'], isDefault: true });
  const sup = await buildAgent(h.deps.sql, { role: 'supervisor', teamIds: [team.id] });
  watcher = await h.agentSocket(await h.login(sup.email));
  await buildKb(h.deps.sql, [
    { id: 'ship-when', category: '物流', question: '下单后多久发货？', similar: ['什么时候发货', '几天发货'], answer: '付款后 48 小时内发货。' },
    { id: 'ref-when', category: '退款', question: '退款多久到账？', similar: ['退款几天到'], answer: '1-3 个工作日原路退回。' },
  ]);
  await h.bot.reload();
});
afterAll(() => h?.close());

const ask = (visitor: string, text: string) =>
  ingestInbound(h.deps, { channel: 'web', channelMsgId: `${visitor}:${++n}`, identity: { kind: 'web_visitor', value: visitor }, type: 'text', text });

/** The conversation's messages in seq order, with the transaction that wrote each (xmin). */
const messagesOf = (conversationId: string) =>
  h.deps.sql<{ seq: number; senderType: string; text: string; payload: Record<string, any>; tx: string }[]>`
    select seq, sender_type, text, payload, xmin::text as tx from messages where conversation_id = ${conversationId} order by seq`;
const conversation = (id: string) =>
  h.deps.sql<{ lastSeq: number; repliesSinceCustomer: number; botMisses: number; status: string }[]>`
    select last_seq, replies_since_customer, bot_misses, status from conversations where id = ${id}`.then((r) => r[0]);

describe('the bot answer written with the question', () => {
  it('is committed with the question, before the callback is acknowledged, and only once', async () => {
    const q = await ask('v-inline-1', '几天发货');
    // nothing has run after commit yet: the answer is there already, written by the same transaction
    const [question, answer, ...rest] = await messagesOf(q.conversation.id);
    expect(rest).toEqual([]);
    expect(question).toMatchObject({ seq: 1, senderType: 'customer', text: '几天发货' });
    expect(answer).toMatchObject({ seq: 2, senderType: 'bot', text: '付款后 48 小时内发货。', payload: { kbId: 'ship-when', clientMsgId: `bot-${q.message.id}` } });
    expect(answer.tx).toBe(question.tx);
    expect(await conversation(q.conversation.id)).toMatchObject({ lastSeq: 2, repliesSinceCustomer: 1, botMisses: 0, status: 'bot' });
    // the bot, told of the message after commit, does not answer it again; the KB answer is counted
    const [before] = await h.deps.sql<{ hits: number }[]>`select hits from kb_entries where id = 'ship-when'`;
    await h.settle();
    expect((await messagesOf(q.conversation.id)).map((m) => m.seq)).toEqual([1, 2]);
    const [after] = await h.deps.sql<{ hits: number }[]>`select hits from kb_entries where id = 'ship-when'`;
    expect(after.hits).toBe(before.hits + 1);
  });

  it('reaches the agent as two events in seq order, the question with the conversation as it stood then', async () => {
    const seen: { seq: number; senderType: string; lastSeq: number; lastText: string }[] = [];
    const collect = (e: any) =>
      e.conversation.customerName !== undefined &&
      seen.push({ seq: e.seq, senderType: e.message.senderType, lastSeq: e.conversation.lastSeq, lastText: e.conversation.lastText });
    watcher.on('message:new', collect);
    try {
      const first = await ask('v-inline-2', '你好');
      await h.settle();
      seen.length = 0;
      const q = await ask('v-inline-2', '退款几天到');
      await h.settle();
      await expect.poll(() => seen.length).toBe(2);
      const s = q.message.seq;
      expect(s).toBe(first.message.seq + 2);
      expect(seen).toEqual([
        { seq: s, senderType: 'customer', lastSeq: s, lastText: '退款几天到' },
        { seq: s + 1, senderType: 'bot', lastSeq: s + 1, lastText: '1-3 个工作日原路退回。' },
      ]);
    } finally {
      watcher.off('message:new', collect);
    }
  });

  it('ends a run of misses, which are answered after commit', async () => {
    const miss = await ask('v-inline-3', '你们的猫叫什么名字');
    await h.settle();
    const [question, reply] = await messagesOf(miss.conversation.id);
    // a miss is logged and counted by the bot after commit, in a transaction of its own
    expect(reply).toMatchObject({ seq: 2, senderType: 'bot' });
    expect(reply.tx).not.toBe(question.tx);
    expect((await conversation(miss.conversation.id)).botMisses).toBe(1);
    await ask('v-inline-3', '几天发货');
    expect(await conversation(miss.conversation.id)).toMatchObject({ lastSeq: 4, botMisses: 0 });
  });

  it('leaves two questions of one conversation stored together to the bot, which answers them in order', async () => {
    const first = await ask('v-inline-4', '你好');
    await h.settle();
    // submitted in the same turn: stored in one batch
    const [a, b] = await Promise.all([ask('v-inline-4', '几天发货'), ask('v-inline-4', '退款几天到')]);
    expect([a.message.seq, b.message.seq]).toEqual([first.message.seq + 2, first.message.seq + 3]);
    await h.settle();
    const after = (await messagesOf(a.conversation.id)).filter((m) => m.seq > b.message.seq);
    expect(after.map((m) => [m.senderType, m.payload.clientMsgId])).toEqual([
      ['bot', `bot-${a.message.id}`],
      ['bot', `bot-${b.message.id}`],
    ]);
  });

  it('is not written once a person has the conversation', async () => {
    const q = await ask('v-inline-5', '转人工');
    await h.settle();
    expect((await conversation(q.conversation.id)).status).not.toBe('bot');
    const before = (await messagesOf(q.conversation.id)).length;
    const again = await ask('v-inline-5', '几天发货');
    await h.settle();
    const rows = await messagesOf(q.conversation.id);
    expect(rows).toHaveLength(before + 1);
    expect(rows.at(-1)).toMatchObject({ seq: again.message.seq, senderType: 'customer' });
  });
});
