import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/client.ts';
import type { Deps } from '../../core/deps.ts';
import type { DomainEvent } from '../../core/events.ts';
import { ingestCommerceBatch, parseCommerceBatch } from '../../core/commerce/events.ts';
import { ingestInbound } from '../../core/conversations/ingest.ts';
import { markUndeliverable } from '../../core/conversations/delivery.ts';
import { executeRun, runDueRecovery, type RunRow } from '../../core/recovery/execute.ts';
import { createPlaybook, parsePlaybook, type PlaybookRow } from '../../core/recovery/playbooks.ts';
import { previewPlaybook } from '../../core/recovery/preview.ts';
import { recoveryReactions } from '../../core/recovery/reactions.ts';
import { recoveryReport } from '../../core/recovery/report.ts';
import { scanTimeTriggers, todayAt } from '../../core/recovery/scan.ts';
import { forgetRecoverySettings } from '../../core/recovery/optout.ts';
import { saveRecoverySettings } from '../../core/recovery/settings.ts';
import { recordCsatReply } from '../../core/tickets/csat.ts';
import { handoff } from '../../core/tickets/tickets.ts';
import { zonedParts } from '../../core/time.ts';
import { depsFor, testDatabase } from '../support/db.ts';

let db: Database;
let deps: Deps;
const seen: DomainEvent[] = [];
beforeAll(async () => {
  db = await testDatabase();
  deps = depsFor(db);
  deps.bus.subscribe(recoveryReactions(deps));
  deps.bus.subscribe((e) => void seen.push(e));
});
afterAll(() => db.close());
beforeEach(async () => {
  // every test starts with no playbook and no cap left over from the one before
  await deps.sql`update playbooks set enabled = false`;
  await deps.sql`update recovery_runs set status = 'cancelled' where status = 'scheduled'`;
  await saveRecoverySettings(deps.sql, { quietHours: null, maxPerDay: 5, maxPerWeek: 20 }, null);
  forgetRecoverySettings(deps.sql);
});

const uid = () => randomBytes(4).toString('hex');
const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
let n = 0;

/** A customer who chats on the web page (so a playbook message can reach them) and shops on Taobao. */
async function chattingCustomer(channel: 'web' | 'wecom_kf' = 'web') {
  const visitor = `v-${uid()}`;
  const identity = channel === 'web' ? { kind: 'web_visitor' as const, value: visitor } : { kind: 'wecom_external_userid' as const, value: `wm${uid()}` };
  const r = await ingestInbound(deps, { channel, channelMsgId: `m-${uid()}`, identity, type: 'text', text: '你好', channelAccount: channel === 'web' ? undefined : 'wkA' });
  // the chat is over: a playbook may write to the customer now
  await deps.sql`update conversations set status = 'resolved' where id = ${r.conversation.id}`;
  return { customerId: r.conversation.customerId, conversationId: r.conversation.id, who: [identity] };
}

async function commerce(type: string, who: { kind: string; value: string }[], extra: Record<string, unknown>, minutesAgo = 0) {
  const events = parseCommerceBatch({ events: [{ id: `ev-${++n}-${uid()}`, platform: 'taobao', type, occurredAt: ago(minutesAgo), customer: { name: '小雨', identities: who }, ...extra }] });
  return ingestCommerceBatch(deps, events);
}

async function playbook(input: Record<string, unknown>): Promise<PlaybookRow> {
  return (await createPlaybook(deps.sql, parsePlaybook({ name: `方案-${uid()}`, variants: [{ id: 'A', text: '{{name}}，您的「{{product}}」还在购物车，券码 {{coupon}}' }], coupon: 'HK10', ...input }), null))!;
}

async function runsOf(playbookId: string): Promise<RunRow[]> {
  return deps.sql<RunRow[]>`select * from recovery_runs where playbook_id = ${playbookId} order by created_at`;
}

async function messagesIn(conversationId: string) {
  return deps.sql<{ text: string; senderType: string; type: string; payload: any }[]>`
    select text, sender_type, type, payload from messages where conversation_id = ${conversationId} and sender_type <> 'customer' order by seq`;
}

const cart = (id: string, name = '碎花连衣裙', totalFen = 19_900) => ({ cart: { id, totalFen, items: [{ sku: 'S1', name, category: '裙装', priceFen: totalFen }] } });

describe('cart abandoned', () => {
  it('a cart left 2 hours ago gets one message on the customer’s channel, with the product and the coupon', async () => {
    const p = await playbook({ trigger: { type: 'cart_abandoned', delayMinutes: 120 }, actions: [{ type: 'send' }] });
    const c = await chattingCustomer();
    await commerce('cart.abandoned', c.who, cart('C-1'), 130);
    const [run] = await runsOf(p.id);
    expect(run).toMatchObject({ status: 'scheduled', trigger: 'cart_abandoned', reasonKey: 'cart:taobao:C-1' });
    // the same event again (a retried webhook) and the same cart abandoned again schedule nothing new
    await commerce('cart.abandoned', c.who, cart('C-1'), 125);
    expect(await runsOf(p.id)).toHaveLength(1);

    expect(await runDueRecovery(deps)).toBeGreaterThanOrEqual(1);
    const [done] = await runsOf(p.id);
    expect(done).toMatchObject({ status: 'sent', variant: 'A' });
    const msgs = await messagesIn(c.conversationId);
    expect(msgs).toHaveLength(1);
    // a made-up visitor name is not used to greet: 亲
    expect(msgs[0].text).toContain('亲，您的「碎花连衣裙」还在购物车，券码 HK10');
    expect(msgs[0].text).toContain('退订');
    expect(msgs[0].payload.recovery).toMatchObject({ runId: done.id, playbookId: p.id, variant: 'A' });
    // running again sends nothing more
    await runDueRecovery(deps);
    expect(await messagesIn(c.conversationId)).toHaveLength(1);
  });

  it('is not due before its delay, and is cancelled when the cart is bought meanwhile', async () => {
    const p = await playbook({ trigger: { type: 'cart_abandoned', delayMinutes: 120 }, actions: [{ type: 'send' }] });
    const c = await chattingCustomer();
    await commerce('cart.abandoned', c.who, cart('C-2'), 10);
    await runDueRecovery(deps);
    expect((await runsOf(p.id))[0].status).toBe('scheduled');
    await commerce('order.paid', c.who, { order: { id: 'O-2', totalFen: 19_900, cartId: 'C-2' } });
    expect((await runsOf(p.id))[0]).toMatchObject({ status: 'cancelled', outcome: 'reason_gone' });
  });

  it('a cart marked bought by any other route is caught when the run comes due', async () => {
    const p = await playbook({ trigger: { type: 'cart_abandoned', delayMinutes: 60 }, actions: [{ type: 'send' }] });
    const c = await chattingCustomer();
    await commerce('cart.abandoned', c.who, cart('C-3'), 90);
    await deps.sql`update carts set status = 'purchased' where platform_cart_id = 'C-3'`;
    await runDueRecovery(deps);
    expect((await runsOf(p.id))[0]).toMatchObject({ status: 'cancelled', outcome: 'reason_gone' });
    expect(await messagesIn(c.conversationId)).toHaveLength(0);
  });

  it('history imported long after the fact starts nothing', async () => {
    const p = await playbook({ trigger: { type: 'cart_abandoned', delayMinutes: 120 }, actions: [{ type: 'send' }] });
    const c = await chattingCustomer();
    await commerce('cart.abandoned', c.who, cart('C-OLD'), 60 * 24 * 30);
    expect(await runsOf(p.id)).toHaveLength(0);
  });
});

describe('payment failed, order cancelled, refund', () => {
  it('payment failed: the nudge waits its 5 minutes and is dropped when the payment goes through', async () => {
    const p = await playbook({ trigger: { type: 'payment_failed', delayMinutes: 5 }, actions: [{ type: 'send' }], variants: [{ id: 'A', text: '¥{{amount}} 的订单付款没成功' }] });
    const c = await chattingCustomer();
    await commerce('payment.failed', c.who, { payment: { orderId: 'P-1', amountFen: 25_900, reason: '余额不足' } }, 1);
    const [run] = await runsOf(p.id);
    expect(run.dueAt.getTime()).toBeGreaterThan(Date.now());
    await commerce('order.paid', c.who, { order: { id: 'P-1', totalFen: 25_900 } });
    expect((await runsOf(p.id))[0]).toMatchObject({ status: 'cancelled', outcome: 'reason_gone' });

    // a second failure that is not fixed gets its message, with the amount in yuan
    await commerce('payment.failed', c.who, { payment: { orderId: 'P-2', amountFen: 25_950 } }, 6);
    await runDueRecovery(deps);
    expect((await messagesIn(c.conversationId)).map((m) => m.text.split('\n')[0])).toEqual(['¥259.50 的订单付款没成功']);
  });

  it('order cancelled: only orders over the threshold, and the script goes to the agent', async () => {
    const p = await playbook({
      trigger: { type: 'order_cancelled', delayMinutes: 0 },
      conditions: { minOrderFen: 10_000 },
      actions: [{ type: 'suggest' }],
      variants: [{ id: 'A', text: '看到您取消了 ¥{{amount}} 的「{{product}}」' }],
    });
    const c = await chattingCustomer();
    const order = (id: string, totalFen: number) => ({ order: { id, totalFen, items: [{ name: '羊毛大衣', category: '外套', priceFen: totalFen }] } });
    await commerce('order.cancelled', c.who, order('X-small', 5_000));
    await commerce('order.cancelled', c.who, order('X-big', 39_900));
    seen.length = 0;
    await runDueRecovery(deps);
    await deps.bus.idle();
    const runs = await runsOf(p.id);
    expect(runs.find((r) => r.reasonKey.endsWith('X-small'))).toMatchObject({ status: 'skipped', outcome: 'condition:order_value' });
    const big = runs.find((r) => r.reasonKey.endsWith('X-big'))!;
    expect(big).toMatchObject({ status: 'suggested', script: '看到您取消了 ¥399 的「羊毛大衣」', conversationId: c.conversationId });
    // nothing was sent to the customer; the agent's console heard about the script
    expect(await messagesIn(c.conversationId)).toHaveLength(0);
    expect(seen.some((e) => e.type === 'recovery.script' && e.run.id === big.id)).toBe(true);
  });

  it('refund: a run per refunded order', async () => {
    const p = await playbook({ trigger: { type: 'refund', delayMinutes: 0 }, actions: [{ type: 'suggest' }], variants: [{ id: 'A', text: '退款 ¥{{amount}} 已处理' }] });
    const c = await chattingCustomer();
    await commerce('order.refunded', c.who, { order: { id: 'R-1', totalFen: 8_800 } });
    await runDueRecovery(deps);
    expect(await runsOf(p.id)).toMatchObject([{ status: 'suggested', script: '退款 ¥88 已处理' }]);
  });
});

describe('service triggers: unhappy customers and tier upgrades', () => {
  it('a CSAT of 1 and an angry handoff each start the unhappy playbook: script, follow-up ticket, tag', async () => {
    const p = await playbook({
      trigger: { type: 'unhappy', maxCsat: 2, angry: true },
      actions: [{ type: 'suggest' }, { type: 'ticket', category: '投诉' }, { type: 'tag', tag: '需关怀' }],
      variants: [{ id: 'A', text: '{{name}}，非常抱歉' }],
    });
    const c = await chattingCustomer();
    const [t] = await deps.sql<{ id: string }[]>`
      insert into tickets (conversation_id, customer_id, reason, status, csat_requested_at, solved_at)
      values (${c.conversationId}, ${c.customerId}, 'bot_miss', 'solved', now(), now()) returning id`;
    await deps.sql`update customers set display_name = '林小雨' where id = ${c.customerId}`;
    expect(await recordCsatReply(deps, c.customerId, '1')).not.toBeNull();
    await runDueRecovery(deps);
    const [run] = await runsOf(p.id);
    expect(run).toMatchObject({ status: 'suggested', reasonKey: `csat:${t.id}`, script: '林小雨，非常抱歉' });
    expect(run.ticketId).toBeTruthy();
    const [ticket] = await deps.sql`select reason, category, status from tickets where id = ${run.ticketId}`;
    expect(ticket).toMatchObject({ reason: 'recovery', category: '投诉' });
    expect(await deps.sql`select tag from customer_tags where customer_id = ${c.customerId}`).toEqual([{ tag: '需关怀' }]);

    // a 4 is not unhappy for this playbook
    const other = await chattingCustomer();
    await deps.sql`insert into tickets (conversation_id, customer_id, reason, status, csat_requested_at) values (${other.conversationId}, ${other.customerId}, 'bot_miss', 'solved', now())`;
    await recordCsatReply(deps, other.customerId, '4');
    expect((await runsOf(p.id)).filter((r) => r.customerId === other.customerId)).toHaveLength(0);

    // an angry customer handed to a human
    const angry = await chattingCustomer();
    await deps.sql`update conversations set status = 'bot' where id = ${angry.conversationId}`;
    await handoff(deps, { conversationId: angry.conversationId, category: '投诉', reason: 'negative_sentiment' });
    expect((await runsOf(p.id)).filter((r) => r.customerId === angry.customerId)).toMatchObject([{ trigger: 'unhappy', status: 'scheduled' }]);
  });

  it('a payment that lifts the customer into a higher tier congratulates them by the new tier’s name', async () => {
    const p = await playbook({ trigger: { type: 'tier_upgrade' }, actions: [{ type: 'send' }], variants: [{ id: 'A', text: '恭喜升级为{{tier}}' }] });
    const c = await chattingCustomer();
    await commerce('order.paid', c.who, { order: { id: 'T-1', totalFen: 40_000 } });
    expect(await runsOf(p.id)).toHaveLength(0); // 400 元: still 普通会员
    await commerce('order.paid', c.who, { order: { id: 'T-2', totalFen: 20_000 } }); // 600 元: 白银会员
    await runDueRecovery(deps);
    expect((await messagesIn(c.conversationId))[0].text).toMatch(/^恭喜升级为白银会员/);
    // the same tier is congratulated once
    await commerce('order.paid', c.who, { order: { id: 'T-3', totalFen: 100 } });
    expect(await runsOf(p.id)).toHaveLength(1);
  });
});

describe('time-based triggers', () => {
  it('lapsed: a buyer whose last purchase is 100 days old is found once per lapse', async () => {
    const p = await playbook({ trigger: { type: 'lapsed', days: 90 }, actions: [{ type: 'send' }, { type: 'tag', tag: '唤醒中' }], variants: [{ id: 'A', text: '好久不见' }] });
    const c = await chattingCustomer();
    const recent = await chattingCustomer();
    await commerce('order.paid', c.who, { order: { id: 'L-1', totalFen: 10_000, paidAt: ago(100 * 24 * 60) } });
    await commerce('order.paid', recent.who, { order: { id: 'L-2', totalFen: 10_000 } });
    await scanTimeTriggers(deps.sql);
    await scanTimeTriggers(deps.sql);
    const runs = await runsOf(p.id);
    expect(runs.map((r) => r.customerId)).toEqual([c.customerId]);
    await runDueRecovery(deps);
    expect((await messagesIn(c.conversationId))[0].text).toMatch(/^好久不见/);
    expect(await deps.sql`select tag from customer_tags where customer_id = ${c.customerId}`).toEqual([{ tag: '唤醒中' }]);
  });

  it('birthday and member day: today’s birthdays, and buyers on the member day, each once', async () => {
    const tz = 'Asia/Shanghai';
    const today = zonedParts(new Date(), tz);
    const mmdd = `${String(today.month).padStart(2, '0')}-${String(today.day).padStart(2, '0')}`;
    const bday = await playbook({ trigger: { type: 'birthday', hour: 0 }, actions: [{ type: 'send' }], variants: [{ id: 'A', text: '生日快乐' }] });
    const mday = await playbook({ trigger: { type: 'member_day', dayOfMonth: Math.min(today.day, 28), hour: 0 }, actions: [{ type: 'send' }], variants: [{ id: 'A', text: '会员日' }] });
    const born = await chattingCustomer();
    const buyer = await chattingCustomer();
    await deps.sql`update customers set birthday = ${mmdd} where id = ${born.customerId}`;
    await commerce('order.paid', buyer.who, { order: { id: `M-${uid()}`, totalFen: 100 } });
    await scanTimeTriggers(deps.sql);
    await scanTimeTriggers(deps.sql);
    const b = await runsOf(bday.id);
    expect(b.map((r) => r.customerId)).toEqual([born.customerId]);
    expect(b[0].reasonKey).toBe(`birthday:${born.customerId}:${today.year}`);
    expect(b[0].dueAt.toISOString()).toBe(todayAt(new Date(), tz, 0).toISOString());
    if (today.day <= 28) expect((await runsOf(mday.id)).map((r) => r.customerId)).toContain(buyer.customerId);
    expect((await runsOf(mday.id)).map((r) => r.customerId)).not.toContain(born.customerId);
  });
});

describe('guard rails', () => {
  it('frequency cap: across playbooks, a customer gets at most maxPerDay messages', async () => {
    await saveRecoverySettings(deps.sql, { quietHours: null, maxPerDay: 1, maxPerWeek: 3 }, null);
    const a = await playbook({ trigger: { type: 'cart_abandoned', delayMinutes: 0 }, actions: [{ type: 'send' }] });
    const b = await playbook({ trigger: { type: 'payment_failed', delayMinutes: 0 }, actions: [{ type: 'send' }], variants: [{ id: 'A', text: '付款失败' }] });
    const c = await chattingCustomer();
    await commerce('cart.abandoned', c.who, cart('CAP-1'));
    await runDueRecovery(deps);
    await commerce('payment.failed', c.who, { payment: { orderId: 'CAP-O', amountFen: 100 } });
    await runDueRecovery(deps);
    expect((await runsOf(a.id))[0].status).toBe('sent');
    expect((await runsOf(b.id))[0]).toMatchObject({ status: 'skipped', outcome: 'frequency_cap' });
    expect(await messagesIn(c.conversationId)).toHaveLength(1);
  });

  it('quiet hours: a run due at night waits for the morning instead of being sent or lost', async () => {
    const now = zonedParts(new Date(), 'Asia/Shanghai').minutes;
    const hhmm = (m: number) => `${String(Math.floor(((m + 1440) % 1440) / 60)).padStart(2, '0')}:${String((m + 1440) % 60).padStart(2, '0')}`;
    await saveRecoverySettings(deps.sql, { quietHours: { start: hhmm(now - 60), end: hhmm(now + 60) }, maxPerDay: 5, maxPerWeek: 20 }, null);
    const p = await playbook({ trigger: { type: 'cart_abandoned', delayMinutes: 0 }, actions: [{ type: 'send' }] });
    const c = await chattingCustomer();
    await commerce('cart.abandoned', c.who, cart('Q-1'));
    await runDueRecovery(deps);
    const [waiting] = await runsOf(p.id);
    expect(waiting).toMatchObject({ status: 'scheduled', outcome: 'quiet_hours' });
    const wait = waiting.dueAt.getTime() - Date.now();
    expect(wait).toBeGreaterThan(55 * 60_000);
    expect(wait).toBeLessThan(62 * 60_000);
    expect(await messagesIn(c.conversationId)).toHaveLength(0);
    // morning comes
    await saveRecoverySettings(deps.sql, { quietHours: null, maxPerDay: 5, maxPerWeek: 20 }, null);
    await deps.sql`update recovery_runs set due_at = now() where id = ${waiting.id}`;
    await runDueRecovery(deps);
    expect((await runsOf(p.id))[0]).toMatchObject({ status: 'sent', outcome: null });
  });

  it('opt-out: 退订 is stored with the message, cancels what waits, blocks what comes, and is confirmed', async () => {
    const p = await playbook({ trigger: { type: 'cart_abandoned', delayMinutes: 60 }, actions: [{ type: 'send' }] });
    const c = await chattingCustomer();
    await commerce('cart.abandoned', c.who, cart('OPT-1'), 10);
    const r = await ingestInbound(deps, { channel: 'web', channelMsgId: `m-${uid()}`, identity: c.who[0] as never, type: 'text', text: ' 退订！' });
    expect(await deps.sql`select message_id from recovery_optouts where customer_id = ${c.customerId}`).toEqual([{ messageId: r.message.id }]);
    expect((await runsOf(p.id))[0]).toMatchObject({ status: 'cancelled', outcome: 'opted_out' });
    await deps.bus.idle();
    expect((await messagesIn(r.conversation.id)).map((m) => m.text)).toEqual([expect.stringContaining('已为您退订')]);
    // a new reason later: skipped, nothing sent
    await commerce('cart.abandoned', c.who, cart('OPT-2'), 90);
    await runDueRecovery(deps);
    expect((await runsOf(p.id)).find((x) => x.reasonKey.endsWith('OPT-2'))).toMatchObject({ status: 'skipped', outcome: 'opted_out' });
    // "退订单怎么弄" is a question, not an opt-out
    const q = await chattingCustomer();
    await ingestInbound(deps, { channel: 'web', channelMsgId: `m-${uid()}`, identity: q.who[0] as never, type: 'text', text: '退订单怎么弄' });
    expect(await deps.sql`select 1 from recovery_optouts where customer_id = ${q.customerId}`).toHaveLength(0);
  });
});

describe('channel rules: when the customer cannot be reached, a person follows up', () => {
  it('WeCom window closed (48 h): no message, an agent ticket with the script instead', async () => {
    const p = await playbook({ trigger: { type: 'cart_abandoned', delayMinutes: 0 }, actions: [{ type: 'send' }] });
    const c = await chattingCustomer('wecom_kf');
    await deps.sql`update conversations set last_customer_message_at = now() - interval '49 hours' where id = ${c.conversationId}`;
    await commerce('cart.abandoned', c.who, cart('W-1'));
    await runDueRecovery(deps);
    const [run] = await runsOf(p.id);
    expect(run).toMatchObject({ status: 'fallback', outcome: 'window_closed', conversationId: c.conversationId });
    expect(run.script).toContain('碎花连衣裙');
    expect(await deps.sql`select reason, status from tickets where id = ${run.ticketId}`).toEqual([{ reason: 'recovery', status: 'new' }]);
    expect(await deps.sql`select 1 from outbox o join messages m on m.id = o.message_id where m.conversation_id = ${c.conversationId}`).toHaveLength(0);
  });

  it('5 messages already sent since the customer wrote: quota_exhausted, same fallback', async () => {
    const p = await playbook({ trigger: { type: 'cart_abandoned', delayMinutes: 0 }, actions: [{ type: 'send' }] });
    const c = await chattingCustomer('wecom_kf');
    await deps.sql`update conversations set replies_since_customer = 5 where id = ${c.conversationId}`;
    await commerce('cart.abandoned', c.who, cart('W-2'));
    await runDueRecovery(deps);
    expect((await runsOf(p.id))[0]).toMatchObject({ status: 'fallback', outcome: 'quota_exhausted' });
  });

  it('within the window the message goes out through the WeCom outbox', async () => {
    const p = await playbook({ trigger: { type: 'cart_abandoned', delayMinutes: 0 }, actions: [{ type: 'send' }] });
    const c = await chattingCustomer('wecom_kf');
    await commerce('cart.abandoned', c.who, cart('W-3'));
    await runDueRecovery(deps);
    expect((await runsOf(p.id))[0].status).toBe('sent');
    expect(await deps.sql`select o.channel from outbox o join messages m on m.id = o.message_id where m.conversation_id = ${c.conversationId}`).toEqual([{ channel: 'wecom_kf' }]);
  });

  it('reachableOnly skips instead; a customer who never chatted becomes an agent task; a live chat gets the script', async () => {
    const only = await playbook({ trigger: { type: 'cart_abandoned', delayMinutes: 0 }, conditions: { reachableOnly: true }, actions: [{ type: 'send' }] });
    const c = await chattingCustomer('wecom_kf');
    await deps.sql`update conversations set last_customer_message_at = now() - interval '3 days' where id = ${c.conversationId}`;
    await commerce('cart.abandoned', c.who, cart('W-4'));
    await runDueRecovery(deps);
    expect((await runsOf(only.id))[0]).toMatchObject({ status: 'skipped', outcome: 'unreachable:window_closed' });

    await deps.sql`update playbooks set enabled = false`;
    const p = await playbook({ trigger: { type: 'cart_abandoned', delayMinutes: 0 }, actions: [{ type: 'send' }] });
    await commerce('cart.abandoned', [{ kind: 'taobao_nick', value: `tb_${uid()}` }], cart('W-5'));
    const live = await chattingCustomer();
    await deps.sql`update conversations set status = 'open' where id = ${live.conversationId}`;
    await commerce('cart.abandoned', live.who, cart('W-6'));
    await runDueRecovery(deps);
    const runs = await runsOf(p.id);
    expect(runs.find((r) => r.reasonKey.endsWith('W-5'))).toMatchObject({ status: 'fallback', outcome: 'no_conversation', ticketId: null, conversationId: null });
    expect(runs.find((r) => r.reasonKey.endsWith('W-6'))).toMatchObject({ status: 'fallback', outcome: 'agent_active', conversationId: live.conversationId });
    expect(await messagesIn(live.conversationId)).toHaveLength(0);
  });

  it('a message WeChat refuses after the fact (95001) turns the run into an agent task', async () => {
    const p = await playbook({ trigger: { type: 'cart_abandoned', delayMinutes: 0 }, actions: [{ type: 'send' }] });
    const c = await chattingCustomer('wecom_kf');
    await commerce('cart.abandoned', c.who, cart('W-7'));
    await runDueRecovery(deps);
    const [sent] = await runsOf(p.id);
    await markUndeliverable(deps, { messageId: sent.messageId! }, { code: 'quota_exhausted', reason: '超过 5 条限制' });
    await deps.bus.idle();
    const [run] = await runsOf(p.id);
    expect(run).toMatchObject({ status: 'fallback', outcome: 'send_failed:超过 5 条限制' });
    expect(run.ticketId).toBeTruthy();
  });
});

describe('durability', () => {
  it('a node that dies holding a claim loses nothing: after the lease another node sends it exactly once', async () => {
    const p = await playbook({ trigger: { type: 'cart_abandoned', delayMinutes: 0 }, actions: [{ type: 'send' }] });
    const c = await chattingCustomer();
    await commerce('cart.abandoned', c.who, cart('D-1'));
    // node A claims and dies before doing anything
    await deps.sql`update recovery_runs set claimed_until = now() + interval '60 seconds', attempts = attempts + 1 where playbook_id = ${p.id}`;
    const nodeB = depsFor(db);
    expect(await runDueRecovery(nodeB)).toBe(0);
    await deps.sql`update recovery_runs set claimed_until = now() - interval '1 second' where playbook_id = ${p.id}`;
    // B and C race for it
    const nodeC = depsFor(db);
    await Promise.all([runDueRecovery(nodeB), runDueRecovery(nodeC), executeRun(deps, (await runsOf(p.id))[0].id)]);
    expect(await messagesIn(c.conversationId)).toHaveLength(1);
    expect((await runsOf(p.id))[0]).toMatchObject({ status: 'sent', attempts: 2 });
  });
});

describe('merged customers', () => {
  it('a run scheduled for a profile merged away reaches the surviving profile, and an opt-out given under either holds', async () => {
    const p = await playbook({ trigger: { type: 'cart_abandoned', delayMinutes: 0 }, actions: [{ type: 'send' }] });
    const survivor = await chattingCustomer();
    const shopper = `tb_${uid()}`;
    await commerce('cart.abandoned', [{ kind: 'taobao_nick', value: shopper }], cart('MG-1'));
    const [run] = await runsOf(p.id);
    await deps.sql`update customers set merged_into = ${survivor.customerId} where id = ${run.customerId}`;
    await runDueRecovery(deps);
    expect((await runsOf(p.id))[0]).toMatchObject({ status: 'sent', customerId: survivor.customerId, conversationId: survivor.conversationId });

    await commerce('cart.abandoned', [{ kind: 'taobao_nick', value: shopper }], cart('MG-2'));
    await deps.sql`insert into recovery_optouts (customer_id) values (${run.customerId})`;
    await runDueRecovery(deps);
    expect((await runsOf(p.id)).find((r) => r.reasonKey.endsWith('MG-2'))).toMatchObject({ status: 'skipped', outcome: 'opted_out' });
  });
});

describe('attribution and A/B', () => {
  it('a payment within the window counts for the last playbook contact, with its amount, per variant', async () => {
    const p = await playbook({
      trigger: { type: 'cart_abandoned', delayMinutes: 0 },
      actions: [{ type: 'send' }],
      attributionHours: 48,
      variants: [
        { id: 'A', weight: 50, text: '模板A {{product}}' },
        { id: 'B', weight: 50, kind: 'link', text: '模板B', title: '您的购物车', url: 'https://shop.example.com/cart' },
      ],
    });
    const customers = [];
    for (let i = 0; i < 16; i++) {
      const c = await chattingCustomer();
      await commerce('cart.abandoned', c.who, cart(`AB-${i}`));
      customers.push(c);
    }
    await runDueRecovery(deps);
    const runs = await runsOf(p.id);
    const variants = new Set(runs.map((r) => r.variant));
    expect(variants).toEqual(new Set(['A', 'B']));
    const b = runs.find((r) => r.variant === 'B')!;
    const [card] = await deps.sql<{ type: string; payload: any }[]>`select type, payload from messages where id = ${b.messageId}`;
    expect(card).toMatchObject({ type: 'link', payload: { title: '您的购物车', url: 'https://shop.example.com/cart' } });

    // three customers pay: two within the window, one whose message is 3 days old
    const [c0, c1, c2] = customers;
    await commerce('order.paid', c0.who, { order: { id: 'AB-P0', totalFen: 19_900 } });
    await commerce('order.paid', c1.who, { order: { id: 'AB-P1', totalFen: 29_900 } });
    await deps.sql`update recovery_runs set executed_at = now() - interval '3 days' where customer_id = ${c2.customerId}`;
    await commerce('order.paid', c2.who, { order: { id: 'AB-P2', totalFen: 9_900 } });
    // the same order paid again (a second event) does not count twice
    await commerce('order.paid', c0.who, { order: { id: 'AB-P0', totalFen: 19_900 } });

    const after = await runsOf(p.id);
    const rec = after.filter((r) => r.recoveredAt);
    expect(rec.map((r) => r.customerId).sort()).toEqual([c0.customerId, c1.customerId].sort());
    expect(rec.map((r) => Number(r.recoveredFen)).sort()).toEqual([19_900, 29_900]);

    const report = await recoveryReport(deps.sql, new Date(Date.now() - 86_400_000));
    const mine = report.playbooks.find((x) => x.playbookId === p.id)!;
    expect(mine.total).toMatchObject({ triggered: 16, sent: 16, reached: 16, recovered: 2, recoveredFen: 49_800, conversion: 0.125 });
    expect(mine.variants.map((v) => v.variant).sort()).toEqual(['A', 'B']);
    expect(mine.variants.reduce((a, v) => a + v.recovered, 0)).toBe(2);
  });
});

describe('preview', () => {
  it('shows whom a playbook would reach now and how, storing and sending nothing', async () => {
    const p = await playbook({ trigger: { type: 'cart_abandoned', delayMinutes: 0 }, actions: [{ type: 'send' }], enabled: false });
    const reachable = await chattingCustomer();
    const closed = await chattingCustomer('wecom_kf');
    const out = await chattingCustomer();
    await deps.sql`update conversations set last_customer_message_at = now() - interval '3 days' where id = ${closed.conversationId}`;
    for (const [c, id] of [[reachable, 'PV-1'], [closed, 'PV-2'], [out, 'PV-3']] as const) await commerce('cart.abandoned', c.who, cart(id));
    await deps.sql`insert into recovery_optouts (customer_id) values (${out.customerId})`;
    const before = await deps.sql`select count(*)::int as n from recovery_runs`;
    const view = await previewPlaybook(deps.sql, p);
    const verdict = (id: string) => view.customers.find((x) => x.customerId === id)?.verdict;
    expect(verdict(reachable.customerId)).toBe('send');
    expect(verdict(closed.customerId)).toBe('fallback:window_closed');
    expect(verdict(out.customerId)).toBe('opted_out');
    expect(view.counts.send).toBeGreaterThanOrEqual(1);
    expect(await deps.sql`select count(*)::int as n from recovery_runs`).toEqual(before);
  });
});

describe('playbook validation', () => {
  it.each([
    ['an unknown variable', { variants: [{ id: 'A', text: '您好 {{nickname}}' }] }, 'variants.0.text'],
    ['sending without a template', { variants: [] }, 'variants'],
    ['a link card without a url', { variants: [{ id: 'A', kind: 'link', text: 'x', title: 't' }] }, 'variants.0.url'],
    ['an unknown trigger', { trigger: { type: 'full_moon' } }, 'trigger.type'],
    ['an unknown condition', { conditions: { mood: 'happy' } }, 'conditions'],
    ['two A templates', { variants: [{ id: 'A', text: 'x' }, { id: 'A', text: 'y' }] }, 'variants'],
  ])('refuses %s with the field named', (_, patch, path) => {
    const base = { name: '测试', trigger: { type: 'cart_abandoned' }, actions: [{ type: 'send' }], variants: [{ id: 'A', text: '您好' }] };
    try {
      parsePlaybook({ ...base, ...patch });
      expect.unreachable();
    } catch (err: any) {
      expect(err.code).toBe('invalid_playbook');
      expect(err.details.map((d: any) => d.path)).toContain(path);
    }
  });
});
