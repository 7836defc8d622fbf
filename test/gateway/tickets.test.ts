import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestInbound } from '../../core/conversations/ingest.ts';
import { buildAgent, buildTeam } from '../support/factories.ts';
import { nextEvent, startTestHuike, type TestHuike } from '../support/huike.ts';

let h: TestHuike;
let team: { id: string };
let agentA: { id: string; email: string };
let agentB: { id: string; email: string; name: string };
let sup: { id: string; email: string };
let tokens: Record<string, string> = {};
let n = 0;

const api = (token: string, path: string, init: RequestInit = {}) => h.api(token, path, init);

async function customerAsksForAPerson(text = '转人工') {
  const r = await ingestInbound(h.deps, { channel: 'web', channelMsgId: `tg-${++n}`, identity: { kind: 'web_visitor', value: `tg-visitor-${n}` }, type: 'text', text });
  await h.settle();
  const [t] = await h.deps.sql<{ id: string; assigneeId: string | null }[]>`select id, assignee_id from tickets where conversation_id = ${r.conversation.id}`;
  return { conversationId: r.conversation.id, ticket: t };
}

beforeAll(async () => {
  h = await startTestHuike();
  team = await buildTeam(h.deps.sql, { name: '工单组', isDefault: true });
  agentA = await buildAgent(h.deps.sql, { teamIds: [team.id], status: 'online', maxConcurrent: 1 });
  agentB = await buildAgent(h.deps.sql, { name: '小B', teamIds: [team.id], status: 'offline' });
  sup = await buildAgent(h.deps.sql, { role: 'supervisor' });
  tokens = { a: await h.login(agentA.email), b: await h.login(agentB.email), sup: await h.login(sup.email) };
});
afterAll(() => h?.close());

describe('tickets over HTTP and sockets', () => {
  it('a queued customer is told how many are ahead and roughly how long', async () => {
    await customerAsksForAPerson(); // takes A's only slot
    const queued = await customerAsksForAPerson();
    expect(queued.ticket.assigneeId).toBeNull();
    const [msg] = await h.deps.sql<{ text: string; payload: any }[]>`
      select text, payload from messages where conversation_id = ${queued.conversationId} and sender_type = 'bot' order by seq desc limit 1`;
    expect(msg.text).toMatch(/排在第一位|您前面还有 \d+ 位/);
    expect(msg.payload.queue).toMatchObject({ ahead: expect.any(Number), waitMinutes: expect.any(Number) });
  });

  it('the inbox carries each conversation’s open ticket for SLA badges', async () => {
    const r = await api(tokens.sup, '/conversations');
    const withTicket = r.body.conversations.filter((c: any) => c.ticket);
    expect(withTicket.length).toBeGreaterThan(0);
    expect(withTicket[0].ticket).toMatchObject({ number: expect.any(Number), priority: expect.any(Number), firstResponseDueAt: expect.any(String) });
  });

  it('lists tickets with SLA due times, and shows one with its history', async () => {
    const list = await api(tokens.a, '/tickets');
    expect(list.status).toBe(200);
    expect(list.body.tickets.length).toBeGreaterThanOrEqual(2);
    expect(list.body.tickets[0].sla.firstResponseDueAt).not.toBeNull();
    const one = await api(tokens.a, `/tickets/${list.body.tickets[0].id}`);
    expect(one.body.history.map((e: any) => e.type)[0]).toBe('opened');
    expect((await api(tokens.a, '/tickets/not-a-uuid')).status).toBe(404);
  });

  it('only the ticket’s agent or a supervisor may transfer; a note @mentions reach the colleague live', async () => {
    const bSocket = await h.agentSocket(tokens.b); // B comes online (and picks up the queue)
    await h.settle();
    const [ticket] = await h.deps.sql<{ id: string }[]>`select id from tickets where assignee_id = ${agentA.id} and status = 'assigned' limit 1`;
    const mention = nextEvent(bSocket, 'mention');
    expect((await api(tokens.b, `/tickets/${ticket.id}/transfer`, { method: 'POST', body: JSON.stringify({ toAgentId: agentB.id }) })).status).toBe(403);
    const moved = await api(tokens.sup, `/tickets/${ticket.id}/transfer`, { method: 'POST', body: JSON.stringify({ toAgentId: agentB.id, note: '@小B 这位客户第二次来问了' }) });
    expect(moved.body.ticket).toMatchObject({ assigneeId: agentB.id, status: 'assigned' });
    expect(await mention).toMatchObject({ ticketId: ticket.id, text: '@小B 这位客户第二次来问了' });
    const live = nextEvent(bSocket, 'ticket:updated', (e: any) => e.ticket.id === ticket.id && e.ticket.status === 'pending');
    expect((await api(tokens.b, `/tickets/${ticket.id}/status`, { method: 'PUT', body: JSON.stringify({ status: 'pending' }) })).body.ticket.status).toBe('pending');
    await live; // the change reaches the consoles as one event
    expect((await api(tokens.b, `/tickets/${ticket.id}/status`, { method: 'PUT', body: JSON.stringify({ status: 'bogus' }) })).status).toBe(400);
    const detail = await api(tokens.sup, `/tickets/${ticket.id}`);
    expect(detail.body.notes[0]).toMatchObject({ text: '@小B 这位客户第二次来问了', mentions: [agentB.id] });
    expect(detail.body.history.map((e: any) => e.type)).toEqual(expect.arrayContaining(['transferred', 'note', 'status']));
  });
});

describe('team settings', () => {
  it('supervisors set SLA targets, business hours and the routing policy; bad input is refused', async () => {
    const body = { firstResponseMinutes: 3, businessHours: { days: [1, 2, 3, 4, 5], start: '09:00', end: '21:00' }, routing: { strategy: 'longest_idle' } };
    expect((await api(tokens.a, `/teams/${team.id}`, { method: 'PUT', body: JSON.stringify(body) })).status).toBe(403);
    const r = await api(tokens.sup, `/teams/${team.id}`, { method: 'PUT', body: JSON.stringify(body) });
    expect(r.body.team).toMatchObject({ sla: { firstResponseMinutes: 3 }, businessHours: { tz: 'Asia/Shanghai', start: '09:00' }, routing: { strategy: 'longest_idle', sticky: true, priorityFirst: true } });
    const bad = await api(tokens.sup, `/teams/${team.id}`, { method: 'PUT', body: JSON.stringify({ businessHours: { days: [1], start: '22:00', end: '09:00' } }) });
    expect(bad.status).toBe(400);
    expect((await api(tokens.sup, `/teams/00000000-0000-0000-0000-000000000000`, { method: 'PUT', body: JSON.stringify({ firstResponseMinutes: 1 }) })).status).toBe(404);
    const list = await api(tokens.a, '/teams');
    expect(list.body.teams.find((t: any) => t.id === team.id).sla.firstResponseMinutes).toBe(3);
    await api(tokens.sup, `/teams/${team.id}`, { method: 'PUT', body: JSON.stringify({ businessHours: null, routing: { strategy: 'least_loaded' } }) });
  });
});

describe('CSAT', () => {
  it('solving asks the customer to rate; a bare 1-5 is stored on the ticket and the profile', async () => {
    const visitor = `tg-csat-${Date.now()}`;
    const r = await ingestInbound(h.deps, { channel: 'web', channelMsgId: `${visitor}:1`, identity: { kind: 'web_visitor', value: visitor }, type: 'text', text: '转人工' });
    await h.settle();
    const [t] = await h.deps.sql<{ id: string }[]>`select id from tickets where conversation_id = ${r.conversation.id}`;
    expect((await api(tokens.sup, `/conversations/${r.conversation.id}/resolve`, { method: 'POST' })).status).toBe(200);
    await h.settle();
    const [ask] = await h.deps.sql<{ text: string; payload: any }[]>`
      select text, payload from messages where conversation_id = ${r.conversation.id} order by seq desc limit 1`;
    expect(ask.text).toContain('1-5');
    expect(ask.payload).toMatchObject({ csat: { ticketId: t.id }, quickReplies: ['5', '4', '3', '2', '1'] });

    const reply = await ingestInbound(h.deps, { channel: 'web', channelMsgId: `${visitor}:2`, identity: { kind: 'web_visitor', value: visitor }, type: 'text', text: '4分' });
    await h.settle();
    const [rated] = await h.deps.sql`select csat_score from tickets where id = ${t.id}`;
    expect(rated.csatScore).toBe(4);
    const [thanks] = await h.deps.sql<{ text: string }[]>`select text from messages where conversation_id = ${reply.conversation.id} and sender_type = 'bot'`;
    expect(thanks.text).toContain('感谢您的评价');
    const profile = await api(tokens.sup, `/customers/${r.conversation.customerId}/profile`);
    expect(profile.body.profile.csat).toEqual([expect.objectContaining({ score: 4 })]);

    // a second "5" is a message again, not a second rating
    const again = await ingestInbound(h.deps, { channel: 'web', channelMsgId: `${visitor}:3`, identity: { kind: 'web_visitor', value: visitor }, type: 'text', text: '5' });
    await h.settle();
    const [still] = await h.deps.sql`select csat_score from tickets where id = ${t.id}`;
    expect(still.csatScore).toBe(4);
    const [after] = await h.deps.sql<{ text: string }[]>`select text from messages where conversation_id = ${again.conversation.id} and sender_type = 'bot' order by seq limit 1`;
    expect(after.text).not.toContain('感谢您的评价');
  });
});
