import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestInbound } from '../../core/conversations/ingest.ts';
import { buildAgent, buildTeam } from '../support/factories.ts';
import { startTestHuike, type TestHuike } from '../support/huike.ts';

let h: TestHuike;
let tokens: Record<string, string> = {};
let ids: Record<string, string> = {};
let n = 0;
const api = (who: string, path: string, init: RequestInit = {}) => h.api(tokens[who], path, init);
const post = (who: string, path: string, body?: unknown) => api(who, path, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });

async function queuedConversation(text = '转人工') {
  const visitor = `ca-${++n}`;
  const r = await ingestInbound(h.deps, { channel: 'web', channelMsgId: `${visitor}:1`, identity: { kind: 'web_visitor', value: visitor }, type: 'text', text });
  await h.settle();
  const [t] = await h.deps.sql<{ id: string; status: string }[]>`select id, status from tickets where conversation_id = ${r.conversation.id}`;
  return { visitor, conversationId: r.conversation.id, ticketId: t.id, status: t.status };
}

beforeAll(async () => {
  h = await startTestHuike();
  const team = await buildTeam(h.deps.sql, { name: '前台', isDefault: true });
  const other = await buildTeam(h.deps.sql, { name: '别组' });
  // everyone offline: tickets wait in the queue for someone to take them
  const a = await buildAgent(h.deps.sql, { name: '小甲', teamIds: [team.id], maxConcurrent: 1 });
  const b = await buildAgent(h.deps.sql, { name: '小乙', teamIds: [other.id] });
  const sup = await buildAgent(h.deps.sql, { role: 'supervisor' });
  tokens = { a: await h.login(a.email), b: await h.login(b.email), sup: await h.login(sup.email) };
  ids = { a: a.id, b: b.id, sup: sup.id };
});
afterAll(() => h?.close());

describe('canned responses', () => {
  it('supervisors write, everyone reads; a duplicate shortcut and bad input are refused', async () => {
    const body = { shortcut: 'hi', title: '问候', text: '您好{{name}}，我是{{agent}}' };
    expect((await post('a', '/canned', body)).status).toBe(403);
    const created = await post('sup', '/canned', body);
    expect(created.status).toBe(201);
    expect((await post('sup', '/canned', body)).body.error.code).toBe('duplicate_shortcut');
    expect((await post('sup', '/canned', { ...body, shortcut: 'has space' })).status).toBe(400);
    expect((await api('a', '/canned')).body.canned).toEqual([expect.objectContaining({ shortcut: 'hi', text: '您好{{name}}，我是{{agent}}' })]);
    const id = created.body.canned.id;
    expect((await api('sup', `/canned/${id}`, { method: 'PUT', body: JSON.stringify({ ...body, title: '打招呼' }) })).body.canned.title).toBe('打招呼');
    expect((await api('sup', `/canned/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api('sup', `/canned/${id}`, { method: 'DELETE' })).status).toBe(404);
  });
});

describe('taking a ticket from the queue (接待)', () => {
  it('an agent of the ticket’s team takes it, within capacity; others are told why not', async () => {
    const one = await queuedConversation();
    const two = await queuedConversation();
    expect(one.status).toBe('new');
    expect((await post('b', `/tickets/${one.ticketId}/claim`)).body.error.code).toBe('not_your_team');
    const took = await post('a', `/tickets/${one.ticketId}/claim`);
    expect(took.body.ticket).toMatchObject({ status: 'assigned', assigneeId: ids.a });
    expect((await post('a', `/tickets/${one.ticketId}/claim`)).body.error.code).toBe('ticket_taken');
    expect((await post('a', `/tickets/${two.ticketId}/claim`)).body.error.code).toBe('at_capacity');
    expect((await post('sup', `/tickets/${two.ticketId}/claim`)).status).toBe(200);
    const [c] = await h.deps.sql`select status, assignee_id from conversations where id = ${one.conversationId}`;
    expect(c).toEqual({ status: 'open', assigneeId: ids.a });
  });
});

describe('conversation tools', () => {
  it('snooze hides it until the customer writes; older messages page backwards; @我 lists mentions', async () => {
    const q = await queuedConversation();
    await post('sup', `/tickets/${q.ticketId}/claim`);
    const snoozed = await post('sup', `/conversations/${q.conversationId}/snooze`, { minutes: 60 });
    expect(new Date(snoozed.body.conversation.snoozedUntil).getTime()).toBeGreaterThan(Date.now() + 59 * 60_000);
    expect((await post('a', `/conversations/${q.conversationId}/snooze`, { minutes: 60 })).status).toBe(403);
    expect((await post('sup', `/conversations/${q.conversationId}/snooze`, { minutes: -1 })).status).toBe(400);
    for (let i = 2; i <= 6; i++) await ingestInbound(h.deps, { channel: 'web', channelMsgId: `${q.visitor}:${i}`, identity: { kind: 'web_visitor', value: q.visitor }, type: 'text', text: `第${i}条` });
    await h.settle();
    const woke = await api('sup', `/conversations/${q.conversationId}`);
    expect(woke.body.conversation.snoozedUntil).toBeNull();

    const all = await api('sup', `/conversations/${q.conversationId}/messages`);
    const last = all.body.messages.at(-1).seq;
    const page = await api('sup', `/conversations/${q.conversationId}/messages?before=${last}&limit=3`);
    expect(page.body.messages.map((m: any) => m.seq)).toEqual([last - 3, last - 2, last - 1]);

    await post('sup', `/tickets/${q.ticketId}/notes`, { text: '@小甲 帮忙看下这位客户' });
    const mine = await api('a', '/conversations?mentioned=1');
    expect(mine.body.conversations.map((c: any) => c.id)).toEqual([q.conversationId]);
    expect(mine.body.conversations[0].ticket).toMatchObject({ id: q.ticketId, status: 'assigned' });
    expect((await api('b', '/conversations?mentioned=1')).body.conversations).toEqual([]);
  });
});

describe('dashboard and channels', () => {
  it('supervisors see volume, response times, bot deflection, workload, RFM; agents may not', async () => {
    expect((await api('a', '/reports/dashboard')).status).toBe(403);
    const d = await api('sup', '/reports/dashboard?days=7');
    expect(d.status).toBe(200);
    expect(d.body.volumeByChannel.reduce((a: number, r: any) => a + r.n, 0)).toBe(n);
    expect(d.body.bot).toMatchObject({ conversations: n, handedOff: n, deflectionRate: 0 });
    expect(d.body.firstResponse.tickets).toBe(n);
    expect(d.body.workload.find((w: any) => w.agentId === ids.a)).toMatchObject({ name: '小甲', open: 1 });
    expect(d.body.rfm).toEqual([{ segment: '未购买', customers: n }]);
    expect((await api('sup', '/reports/dashboard?days=0')).status).toBe(400);
    const ch = await api('a', '/channels');
    expect(ch.body.channels.map((c: any) => c.key)).toEqual(['web', 'wecom_kf', 'miniprogram']);
    expect(ch.body.channels[0]).toMatchObject({ configured: true, conversations7d: n });
  });
});
