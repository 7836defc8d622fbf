import type { MessageRow } from '../../core/conversations/rows.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/client.ts';
import type { Deps } from '../../core/deps.ts';
import { ingestInbound } from '../../core/conversations/ingest.ts';
import { sendOutbound } from '../../core/conversations/outbound.ts';
import { claimDueDeliveries, markDelivered, markUndeliverable, releaseClaims } from '../../core/conversations/delivery.ts';
import { replyWindow } from '../../core/conversations/channel-rules.ts';
import { depsFor, testDatabase } from '../support/db.ts';
import type { DomainEvent } from '../../core/events.ts';

describe('outbox claims', () => {
  let db: Database;
  let deps: Deps;
  let conversationId: string;
  beforeAll(async () => {
    db = await testDatabase();
    deps = depsFor(db);
    const r = await ingestInbound(deps, {
      channel: 'wecom_kf',
      channelMsgId: 'kf-1',
      channelAccount: 'wkA',
      identity: { kind: 'wecom_external_userid', value: 'wmOUTBOX' },
      type: 'text',
      text: '你好',
    });
    conversationId = r.conversation.id;
    for (let i = 1; i <= 4; i++) await sendOutbound(deps, { conversationId, senderType: 'agent', text: `回复${i}` });
  });
  afterAll(() => db.close());

  it('hands each due row to exactly one of several concurrent claimers, with recipient and account', async () => {
    const claims = await Promise.all(Array.from({ length: 6 }, () => claimDueDeliveries(deps, 2, 60_000)));
    const ids = claims.flat().map((d) => d.outboxId);
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(4);
    const one = claims.flat()[0];
    expect(one).toMatchObject({ recipient: 'wmOUTBOX', attempts: 1, conversation: { channelAccount: 'wkA' } });
    // leased rows are invisible until their lease ends
    expect(await claimDueDeliveries(deps, 10, 60_000)).toEqual([]);
  });

  it('a lease that ran out (the node died mid-send) brings the row back, counting the attempt', async () => {
    await deps.sql`update outbox set lease_until = now() - interval '1 second'`;
    const again = await claimDueDeliveries(deps, 10, 60_000);
    expect(again).toHaveLength(4);
    expect(again.every((d) => d.attempts === 2)).toBe(true);
  });

  it('rows given back unsent are claimable at once with the attempt uncounted, unless claimed again meanwhile', async () => {
    const held = await claimDueDeliveries(deps, 10, 60_000); // nothing: the previous test's claims hold them
    expect(held).toEqual([]);
    await deps.sql`update outbox set lease_until = now() - interval '1 second'`;
    const [mine, ...others] = await claimDueDeliveries(deps, 10, 60_000); // attempts 3 now
    // one of them went to another node after its lease ran out here: attempts 4, that node's
    await deps.sql`update outbox set lease_until = now() - interval '1 second' where id = ${others[0].outboxId}`;
    const [theirs] = await claimDueDeliveries(deps, 1, 60_000);
    expect(theirs).toMatchObject({ outboxId: others[0].outboxId, attempts: 4 });
    await releaseClaims(deps, [mine, others[0]]);
    const back = await claimDueDeliveries(deps, 10, 60_000);
    expect(back.map((d) => [d.outboxId, d.attempts])).toEqual([[mine.outboxId, 3]]);
    const [row] = await deps.sql<{ attempts: number; leased: boolean }[]>`select attempts, lease_until > now() as leased from outbox where id = ${theirs.outboxId}`;
    expect(row).toEqual({ attempts: 4, leased: true });
    await deps.sql`update outbox set lease_until = now() - interval '1 second'`;
    expect((await claimDueDeliveries(deps, 10, 60_000)).map((d) => d.attempts).sort()).toEqual([4, 4, 4, 5]);
  });

  it('delivered and undeliverable rows are never claimed again', async () => {
    const rows = await deps.sql<{ id: number; messageId: string; conversationId: string }[]>`
      select o.id, o.message_id, m.conversation_id from outbox o join messages m on m.id = o.message_id order by o.id`;
    await markDelivered(deps, { outboxId: rows[0].id, message: { id: rows[0].messageId, conversationId: rows[0].conversationId } as MessageRow }, 'wx-1');
    await markUndeliverable(deps, { outboxId: rows[1].id, messageId: rows[1].messageId }, { code: 'user_refused', reason: '客户拒收了消息' });
    await deps.sql`update outbox set lease_until = null`;
    const left = await claimDueDeliveries(deps, 10, 60_000);
    expect(left.map((d) => d.outboxId).sort()).toEqual([rows[2].id, rows[3].id]);
    const [failed] = await deps.sql`select status, error, error_code from messages where id = ${rows[1].messageId}`;
    expect(failed).toEqual({ status: 'failed', error: '客户拒收了消息', errorCode: 'user_refused' });
  });

  it('publishes the delivered message as the database holds it, once when two sends record it at the same moment', async () => {
    const own: Deps = depsFor(db);
    const seen: DomainEvent[] = [];
    own.bus.subscribe((e) => {
      seen.push(e);
    });
    const { message } = await sendOutbound(own, { conversationId, senderType: 'agent', text: '已为您改好地址' });
    await deps.sql`update outbox set lease_until = null`;
    const due = (await claimDueDeliveries(own, 10, 60_000)).find((d) => d.message.id === message.id)!;
    await Promise.all([markDelivered(own, due, 'wx-msg-77'), markDelivered(own, due, 'wx-msg-77')]);
    await own.bus.idle();
    const updated = seen.filter((e): e is Extract<DomainEvent, { type: 'message.updated' }> => e.type === 'message.updated');
    expect(updated).toHaveLength(1);
    const [stored] = await db.sql`select * from messages where id = ${message.id}`;
    expect(stored).toMatchObject({ status: 'sent', channelMsgId: 'wx-msg-77', error: null });
    expect(updated[0].message).toEqual(stored);
    const [conversation] = await db.sql`select * from conversations where id = ${conversationId}`;
    expect(updated[0].conversation).toEqual(conversation);
  });
});

describe('reply window', () => {
  const now = new Date('2026-11-22T12:00:00Z');
  const ago = (h: number) => new Date(now.getTime() - h * 3600_000);
  it.each([
    ['web chat has no rule', { channel: 'web', lastCustomerMessageAt: null, repliesSinceCustomer: 99 }, { limited: false, open: true }],
    ['never wrote', { channel: 'wecom_kf', lastCustomerMessageAt: null, repliesSinceCustomer: 0 }, { limited: true, open: false }],
    ['wrote 47 h ago, 4 sent', { channel: 'wecom_kf', lastCustomerMessageAt: ago(47), repliesSinceCustomer: 4 }, { open: true, remaining: 1 }],
    ['wrote 1 h ago, 5 sent', { channel: 'miniprogram', lastCustomerMessageAt: ago(1), repliesSinceCustomer: 5 }, { open: false, remaining: 0 }],
    ['wrote 48 h ago exactly', { channel: 'miniprogram', lastCustomerMessageAt: ago(48), repliesSinceCustomer: 0 }, { open: false }],
  ] as const)('%s', (_, c, expected) => {
    expect(replyWindow(c as never, now)).toMatchObject(expected);
  });
});
