import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/client.ts';
import type { Deps } from '../../core/deps.ts';
import { inTransaction, type DomainEvent } from '../../core/events.ts';
import { ingestInbound, type InboundMessage } from '../../core/conversations/ingest.ts';
import { sendOutbound } from '../../core/conversations/outbound.ts';
import { resolveConversation } from '../../core/tickets/tickets.ts';
import { depsFor, testDatabase } from '../support/db.ts';

describe('ingestInbound', () => {
  let db: Database;
  let deps: Deps;
  const events: DomainEvent[] = [];
  beforeAll(async () => {
    db = await testDatabase();
    deps = depsFor(db);
    deps.bus.subscribe((e) => {
      events.push(e);
    });
  });
  afterAll(() => db.close());

  const msg = (visitor: string, id: string, text = '你好'): InboundMessage => ({
    channel: 'web',
    channelMsgId: `${visitor}:${id}`,
    identity: { kind: 'web_visitor', value: visitor },
    type: 'text',
    text,
  });

  it('stores a message once however often the channel retries it', async () => {
    const first = await ingestInbound(deps, msg('visitor-aaaa', 'm1'));
    const again = await ingestInbound(deps, msg('visitor-aaaa', 'm1'));
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    expect(again.message.id).toBe(first.message.id);
    const [{ n }] = await db.sql<{ n: number }[]>`select count(*)::int as n from messages where channel_msg_id = 'visitor-aaaa:m1'`;
    expect(n).toBe(1);
    await deps.bus.idle();
    expect(events.filter((e) => e.type === 'message.created' && e.message.id === first.message.id)).toHaveLength(1);
  });

  it('a retry that arrives while its message still waits to be stored joins that wait, and takes no place in a batch', async () => {
    const sizes: number[] = [];
    // a fresh event bus comes with a batcher of its own, which this test watches
    const own: Deps = { ...depsFor(db), observeBatch: (batch, n) => void (batch === 'ingest' && sizes.push(n)) };
    const [first, retry, again] = await Promise.all([ingestInbound(own, msg('visitor-join', 'm1')), ingestInbound(own, msg('visitor-join', 'm1')), ingestInbound(own, msg('visitor-join', 'm1'))]);
    expect(first.duplicate).toBe(false);
    expect([retry.duplicate, again.duplicate]).toEqual([true, true]);
    expect(new Set([first, retry, again].map((r) => r.message.id)).size).toBe(1);
    // one batch of one item: before, each retry was one more item for the database to look up (a batch of 3)
    expect(sizes).toEqual([1]);
    // a retry after it was stored goes to the database, which knows it
    expect((await ingestInbound(own, msg('visitor-join', 'm1'))).duplicate).toBe(true);
    expect(sizes).toEqual([1, 1]);
  });

  it('a NUL character (which PostgreSQL cannot store) is dropped, and never fails the other messages of its batch', async () => {
    const [poisoned, neighbour] = await Promise.all([
      ingestInbound(deps, { ...msg('visitor-nul1', 'm1', '你\u0000好'), payload: { note: 'a\u0000b', list: ['\u0000'] } }),
      ingestInbound(deps, msg('visitor-nul2', 'm1', '在吗')),
    ]);
    expect(poisoned.message.text).toBe('你好');
    expect(poisoned.message.payload).toEqual({ note: 'ab', list: [''] });
    expect(neighbour.message.text).toBe('在吗');
  });

  it('stores concurrent retries of a new customer once, with one customer and one conversation', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => ingestInbound(deps, msg('visitor-race', 'same'))));
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    const [{ customers, conversations, messages }] = await db.sql<{ customers: number; conversations: number; messages: number }[]>`
      select (select count(*)::int from identities where value = 'visitor-race') as customers,
             (select count(*)::int from conversations c join identities i on i.id = c.identity_id where i.value = 'visitor-race') as conversations,
             (select count(*)::int from messages where channel_msg_id = 'visitor-race:same') as messages`;
    expect({ customers, conversations, messages }).toEqual({ customers: 1, conversations: 1, messages: 1 });
  });

  it('numbers messages of a conversation 1, 2, 3... across customer and replies, with no gaps under concurrency', async () => {
    const first = await ingestInbound(deps, msg('visitor-seq', 'a'));
    await Promise.all([
      ingestInbound(deps, msg('visitor-seq', 'b')),
      ingestInbound(deps, msg('visitor-seq', 'c')),
      sendOutbound(deps, { conversationId: first.conversation.id, senderType: 'bot', text: '您好' }),
      sendOutbound(deps, { conversationId: first.conversation.id, senderType: 'bot', text: '在的' }),
    ]);
    const seqs = await db.sql<{ seq: number }[]>`select seq from messages where conversation_id = ${first.conversation.id} order by seq`;
    expect(seqs.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    const [conv] = await db.sql<{ lastSeq: number }[]>`select last_seq from conversations where id = ${first.conversation.id}`;
    expect(conv.lastSeq).toBe(5);
  });

  it('starts a new conversation after the last one was resolved', async () => {
    const first = await ingestInbound(deps, msg('visitor-res', '1'));
    await resolveConversation(deps, first.conversation.id);
    const next = await ingestInbound(deps, msg('visitor-res', '2'));
    expect(next.conversation.id).not.toBe(first.conversation.id);
    expect(next.conversation.customerId).toBe(first.conversation.customerId);
    expect(next.message.seq).toBe(1);
  });

  it('rejects bad input and stores nothing', async () => {
    const before = await db.sql<{ n: number }[]>`select count(*)::int as n from messages`;
    await expect(ingestInbound(deps, { ...msg('visitor-bad', 'x'), text: '长'.repeat(4001) })).rejects.toMatchObject({ code: 'message_too_long' });
    await expect(ingestInbound(deps, { ...msg('visitor-bad', 'x'), channelMsgId: '' })).rejects.toMatchObject({ code: 'invalid_message' });
    await expect(ingestInbound(deps, { ...msg('visitor-bad', 'x'), identity: { kind: 'nope' as never, value: 'x' } })).rejects.toMatchObject({
      code: 'invalid_identity',
    });
    const after = await db.sql<{ n: number }[]>`select count(*)::int as n from messages`;
    expect(after[0].n).toBe(before[0].n);
    const [{ n }] = await db.sql<{ n: number }[]>`select count(*)::int as n from identities where value = 'visitor-bad'`;
    expect(n).toBe(0);
  });

  it('stores phone identities normalized, so one number in two spellings is one customer', async () => {
    const a = await ingestInbound(deps, { ...msg('x', 'p1'), identity: { kind: 'phone', value: '+86 139-0000-1234' } });
    const b = await ingestInbound(deps, { ...msg('x', 'p2'), identity: { kind: 'phone', value: '13900001234' } });
    expect(b.conversation.customerId).toBe(a.conversation.customerId);
    const [row] = await db.sql<{ value: string }[]>`select value from identities where customer_id = ${a.conversation.customerId}`;
    expect(row.value).toBe('13900001234');
    await expect(ingestInbound(deps, { ...msg('x', 'p3'), identity: { kind: 'phone', value: '12345' } })).rejects.toMatchObject({
      code: 'invalid_identity',
    });
  });

  it('publishes nothing when the transaction rolls back', async () => {
    events.length = 0;
    const failing = inTransaction(deps.sql, deps.bus, async (tx, emit) => {
      await tx`insert into customers (display_name) values ('回滚客户')`;
      emit({ type: 'agent.status', agentId: 'x', status: 'online', disconnectedAt: null });
      throw new Error('boom');
    });
    await expect(failing).rejects.toThrow('boom');
    await deps.bus.idle();
    expect(events).toHaveLength(0);
    const [{ n }] = await db.sql<{ n: number }[]>`select count(*)::int as n from customers where display_name = '回滚客户'`;
    expect(n).toBe(0);
  });
  it('returns and publishes its rows as the database holds them: the message, the bot\'s answer, the conversation', async () => {
    // a bus of its own (and so a batcher of its own) with an inline answerer, as the gateway runs it
    const own: Deps = { ...depsFor(db), answerInline: (q) => (q.text === '在吗' ? { text: '在的，请问有什么可以帮您？', payload: { kbId: 'hello', score: 0.9 }, resetMisses: true } : null) };
    const seen: DomainEvent[] = [];
    own.bus.subscribe((e) => {
      seen.push(e);
    });
    const row = async (table: 'messages' | 'conversations', id: string) => (await db.sql`select * from ${db.sql(table)} where id = ${id}`)[0];
    const opened = await ingestInbound(own, { ...msg('visitor-rows', 'm1'), payload: { source: '商品页', n: 1 } });
    expect(opened.message).toEqual(await row('messages', opened.message.id));
    expect(opened.conversation).toEqual(await row('conversations', opened.conversation.id));
    // the columns a customer's message moves on or clears
    await db.sql`update conversations set snoozed_until = now() + interval '1 hour', bot_misses = 2 where id = ${opened.conversation.id}`;
    const [asked, other] = await Promise.all([ingestInbound(own, msg('visitor-rows', 'm2', '在吗')), ingestInbound(own, msg('visitor-rows-2', 'm1'))]);
    for (const r of [asked, other]) {
      expect(r.message).toEqual(await row('messages', r.message.id));
      expect(r.conversation).toEqual(await row('conversations', r.conversation.id));
    }
    expect(asked.conversation).toMatchObject({ snoozedUntil: null, botMisses: 0, lastSeq: 3, repliesSinceCustomer: 1 });
    await own.bus.idle();
    const created = seen.filter((e): e is Extract<DomainEvent, { type: 'message.created' }> => e.type === 'message.created' && e.conversation.id === asked.conversation.id && e.message.seq > 1);
    expect(created.map((e) => e.message.senderType)).toEqual(['customer', 'bot']);
    const answer = created[1];
    expect(answer.message).toEqual(await row('messages', answer.message.id));
    expect(answer.message).toMatchObject({ seq: 3, text: '在的，请问有什么可以帮您？', payload: { kbId: 'hello', score: 0.9 }, status: 'sent' });
    expect(answer.conversation).toEqual(await row('conversations', asked.conversation.id));
  });
});
