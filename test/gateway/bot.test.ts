import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestInbound } from '../../core/conversations/ingest.ts';
import { buildAgent, buildCustomer, buildKb, buildTeam } from '../support/factories.ts';
import { startTestHuike, type TestHuike } from '../support/huike.ts';

let h: TestHuike;
let supToken: string;
let agentToken: string;
let n = 0;

beforeAll(async () => {
  h = await startTestHuike();
  const after = await buildTeam(h.deps.sql, { name: '售后', categories: ['物流', '退款', '投诉'], isDefault: true });
  await buildTeam(h.deps.sql, { name: '售前', categories: ['售前咨询'] });
  const sup = await buildAgent(h.deps.sql, { role: 'supervisor', teamIds: [after.id] });
  const agent = await buildAgent(h.deps.sql, { teamIds: [after.id] });
  supToken = await h.login(sup.email);
  agentToken = await h.login(agent.email);
  await buildKb(h.deps.sql, [
    { id: 'ship-when', category: '物流', question: '下单后多久发货？', similar: ['什么时候发货', '几天发货'], answer: '付款后 48 小时内发货。' },
    { id: 'ship-track', category: '物流', question: '怎么查看物流信息？', similar: ['物流怎么查', '快递到哪了'], answer: '在订单详情里查看物流。' },
    { id: 'ref-when', category: '退款', question: '退款多久到账？', similar: ['退款几天到', '退款什么时候到账'], answer: '1-3 个工作日原路退回。' },
    { id: 'ret-how', category: '退换货', question: '怎么申请退货？', similar: ['退货流程', '如何退货'], answer: '订单页点「申请售后」。' },
    { id: 'ret-exchange', category: '退换货', question: '可以换尺码吗？', similar: ['怎么换货', '换大一码'], answer: '可以换一次尺码。' },
  ]);
  await h.bot.reload();
});
afterAll(() => h?.close());

/** A customer (web chat) says something; resolves with what the bot said back, and the conversation. */
async function say(visitor: string, text: string) {
  const r = await ingestInbound(h.deps, { channel: 'web', channelMsgId: `${visitor}:${++n}`, identity: { kind: 'web_visitor', value: visitor }, type: 'text', text });
  await h.settle();
  const replies = await h.deps.sql<{ text: string; payload: Record<string, any> }[]>`
    select text, payload from messages where conversation_id = ${r.conversation.id} and sender_type = 'bot' and seq > ${r.message.seq} order by seq`;
  const [c] = await h.deps.sql`select id, status, customer_id from conversations where id = ${r.conversation.id}`;
  const [t] = await h.deps.sql`select category, reason from tickets where conversation_id = ${r.conversation.id}`;
  return { replies, conversation: c, ticket: t ?? null };
}

const api = (token: string, path: string, init: RequestInit & { raw?: string } = {}) =>
  fetch(`${h.url}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) } }).then(async (r) => ({
    status: r.status,
    text: await r.clone().text(),
    body: (await r.json().catch(() => null)) as any,
  }));

describe('bot decisions in a live conversation', () => {
  it('answers a confident match', async () => {
    const r = await say('v-answer', '请问几天能发货呀');
    expect(r.replies.map((x) => x.text)).toEqual(['付款后 48 小时内发货。']);
  });

  it('asks which one with up to 3 quick replies when two entries fit', async () => {
    const r = await say('v-clarify', '什么时候到'); // 退款到账 or 发货?
    expect(r.replies[0].text).toContain('您是想问');
    expect(r.replies[0].payload.quickReplies.length).toBeGreaterThanOrEqual(2);
    expect(r.replies[0].payload.quickReplies.length).toBeLessThanOrEqual(3);
  });

  it('a miss offers a person and is logged with its candidates; the second miss in a row hands off', async () => {
    const first = await say('v-miss', '你们店开了几年了');
    expect(first.replies[0].payload.quickReplies).toEqual(['转人工']);
    expect(first.conversation.status).toBe('bot');
    const second = await say('v-miss', '能便宜点吗');
    expect(second.conversation.status).not.toBe('bot');
    expect(second.ticket).toMatchObject({ reason: 'bot_miss' });
    const logged = await h.deps.sql`select text, decision from kb_unanswered where conversation_id = ${first.conversation.id} order by id`;
    expect(logged.map((l) => [l.text, l.decision])).toEqual([
      ['你们店开了几年了', 'miss'],
      ['能便宜点吗', 'handoff'],
    ]);
  });

  it('an angry customer goes to a person at once, as a complaint', async () => {
    const r = await say('v-angry', '你们这个黑店，骗子！我要投诉');
    expect(r.replies[0].text).toContain('非常抱歉');
    expect(r.ticket).toMatchObject({ reason: 'negative_sentiment', category: '投诉' });
  });

  it('a VIP customer is handed over at the first miss', async () => {
    const vip = await buildCustomer(h.deps.sql, { tier: 'diamond', identities: [{ kind: 'web_visitor', value: 'v-vip' }] });
    const r = await say('v-vip', '你们店开了几年了');
    expect(r.conversation.customerId).toBe(vip.id);
    expect(r.ticket).toMatchObject({ reason: 'vip' });
  });

  it('the intent classifier gives the ticket its category on "转人工"', async () => {
    const r = await say('v-intent', '退款一直没到账，转人工');
    expect(r.ticket).toMatchObject({ reason: 'customer_request', category: '退款' });
  });
});

describe('self-service from the customer’s own orders', () => {
  let customerId: string;
  beforeAll(async () => {
    const c = await buildCustomer(h.deps.sql, {
      identities: [{ kind: 'web_visitor', value: 'v-self' }],
      orders: [
        { platform: 'taobao', platformOrderId: 'TB5550001', status: 'shipped', totalFen: 25900, items: [{ sku: 'D1', name: '碎花连衣裙', category: '连衣裙', qty: 1, priceFen: 25900 }] },
        { platform: 'jd', platformOrderId: 'JD5550002', status: 'refunded', totalFen: 9900, items: [{ sku: 'T1', name: '纯棉T恤', category: 'T恤', qty: 1, priceFen: 9900 }], orderedAt: new Date(Date.now() - 10 * 86_400_000) },
      ],
    });
    customerId = c.id;
    await h.deps.sql`insert into logistics_events (platform, platform_order_id, carrier, tracking_no, status, description, occurred_at)
                     values ('taobao', 'TB5550001', '顺丰', 'SF1234567', 'in_transit', '已到达【广州转运中心】', now() - interval '1 hour'),
                            ('taobao', 'TB5550001', '顺丰', 'SF1234567', 'picked', '已揽收', now() - interval '1 day')`;
    await buildCustomer(h.deps.sql, { identities: [{ kind: 'web_visitor', value: 'v-other' }], orders: [{ platformOrderId: 'TB5559999', status: 'shipped' }] });
  });

  it('"我的快递到哪了" gets the latest logistics of their latest order', async () => {
    const r = await say('v-self', '我的快递到哪了');
    expect(r.conversation.customerId).toBe(customerId);
    expect(r.replies[0].text).toContain('TB5550001');
    expect(r.replies[0].text).toContain('顺丰');
    expect(r.replies[0].text).toContain('广州转运中心');
    expect(r.replies[0].payload).toMatchObject({ selfService: 'logistics', found: true, tracking: 'SF1234567' });
  });

  it('refund progress comes from the refunded order', async () => {
    const r = await say('v-self', '我的退款到账了吗');
    expect(r.replies[0].text).toContain('JD5550002');
    expect(r.replies[0].text).toContain('已退款');
  });

  it('an order number names the order; someone else’s order is "not found", never shown', async () => {
    expect((await say('v-self', 'JD5550002 现在什么状态')).replies[0].text).toContain('已退款');
    const other = await say('v-self', '订单TB5559999发货了吗');
    expect(other.replies[0].text).toContain('没有在您的账户下找到订单 TB5559999');
    expect(other.replies[0].payload).toMatchObject({ found: false });
  });

  it('a general question still gets the FAQ', async () => {
    expect((await say('v-self', '物流怎么查')).replies[0].text).toBe('在订单详情里查看物流。');
  });
});

describe('knowledge base API', () => {
  it('a supervisor adds an entry and the bot answers it at once; agents may not', async () => {
    const entry = { id: 'inv-how', category: '发票', question: '怎么开发票？', similar: ['能开发票吗', '开票'], answer: '订单页点「申请开票」。' };
    expect((await api(agentToken, '/kb/entries', { method: 'POST', body: JSON.stringify(entry) })).status).toBe(403);
    expect((await api(supToken, '/kb/entries', { method: 'POST', body: JSON.stringify(entry) })).status).toBe(201);
    expect((await api(supToken, '/kb/entries', { method: 'POST', body: JSON.stringify(entry) })).status).toBe(409);
    expect((await say('v-kb', '我要开发票')).replies[0].text).toBe('订单页点「申请开票」。');
    // disabled: the bot stops using it
    expect((await api(supToken, '/kb/entries/inv-how', { method: 'PUT', body: JSON.stringify({ enabled: false }) })).body.entry.enabled).toBe(false);
    expect((await say('v-kb2', '我要开发票')).replies[0].text).not.toBe('订单页点「申请开票」。');
  });

  it('turns an unanswered question into a similar question in one step', async () => {
    expect((await say('v-unans', '可以放在驿站吗')).replies[0].payload.quickReplies).toEqual(['转人工']);
    const open = (await api(supToken, '/kb/unanswered')).body.questions;
    const q = open.find((x: any) => x.text === '可以放在驿站吗');
    expect(q).toMatchObject({ decision: 'miss', candidates: expect.any(Array) });
    const r = await api(supToken, `/kb/unanswered/${q.id}/resolve`, { method: 'POST', body: JSON.stringify({ action: 'add_similar', entryId: 'ship-track' }) });
    expect(r.body).toMatchObject({ entryId: 'ship-track', question: { status: 'added' } });
    expect((await api(supToken, `/kb/unanswered/${q.id}/resolve`, { method: 'POST', body: JSON.stringify({ action: 'ignore' }) })).status).toBe(409);
    expect((await say('v-unans2', '可以放在驿站吗')).replies[0].text).toBe('在订单详情里查看物流。');
  });

  it('imports refuse a bad file with line numbers and change nothing; CSV round-trips', async () => {
    const before = (await api(agentToken, '/kb/entries')).body.entries.length;
    const bad = `${JSON.stringify({ id: 'x1', question: 'q', answer: 'a' })}\n{oops\n${JSON.stringify({ id: 'x2', question: 'q' })}`;
    const r = await fetch(`${h.url}/api/v1/kb/import?format=jsonl`, { method: 'POST', headers: { authorization: `Bearer ${supToken}`, 'content-type': 'text/plain' }, body: bad });
    expect(r.status).toBe(400);
    const err = ((await r.json()) as any).error;
    expect(err.details).toEqual([expect.stringContaining('第 2 行'), expect.stringContaining('第 3 行')]);
    expect((await api(agentToken, '/kb/entries')).body.entries.length).toBe(before);

    const bytes = Buffer.from(await (await fetch(`${h.url}/api/v1/kb/export?format=csv`, { headers: { authorization: `Bearer ${supToken}` } })).arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]); // BOM, so Excel reads the Chinese
    const csv = bytes.toString('utf8');
    expect(csv.split('\n')[0]).toBe('\uFEFFid,category,question,similar,answer,enabled');
    const [exported] = await h.deps.sql`select a.email, l.target_id, l.details from audit_log l join agents a on a.id = l.actor_id where l.action = 'kb.export'`;
    expect(exported).toMatchObject({ targetId: 'csv', details: { entries: before } });
    const back = await fetch(`${h.url}/api/v1/kb/import?format=csv`, { method: 'POST', headers: { authorization: `Bearer ${supToken}`, 'content-type': 'text/csv' }, body: csv });
    expect(((await back.json()) as any).imported).toBe(before);
  });

  it('the test box shows the decision, candidates and intent', async () => {
    const r = await api(agentToken, '/kb/test', { method: 'POST', body: JSON.stringify({ text: '退款几天能到' }) });
    expect(r.body).toMatchObject({ decision: 'answer', candidates: [{ id: 'ref-when' }], intent: { category: '退款' } });
  });

  it('shop synonyms change what the bot understands', async () => {
    expect((await say('v-syn', '米什么时候回来')).replies[0].text).not.toBe('1-3 个工作日原路退回。');
    expect((await api(supToken, '/kb/synonyms', { method: 'PUT', body: JSON.stringify({ 退款: ['米'] }) })).status).toBe(200);
    expect((await say('v-syn2', '米什么时候到账')).replies[0].text).toBe('1-3 个工作日原路退回。');
    expect((await api(supToken, '/kb/synonyms', { method: 'PUT', body: JSON.stringify({ 退款: 'not a list' }) })).status).toBe(400);
  });

  it('agent assist suggests KB answers for the latest customer message', async () => {
    const r = await say('v-assist', '我想换个大一码的');
    const res = await api(supToken, `/conversations/${r.conversation.id}/suggestions`);
    expect(res.body.forText).toBe('我想换个大一码的');
    expect(res.body.suggestions[0]).toMatchObject({ entryId: 'ret-exchange', answer: '可以换一次尺码。' });
  });
});
