import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/client.ts';
import type { Deps } from '../../core/deps.ts';
import type { DomainEvent } from '../../core/events.ts';
import { ingestInbound } from '../../core/conversations/ingest.ts';
import { sendOutbound } from '../../core/conversations/outbound.ts';
import { loadActor, setAgentStatus } from '../../core/agents/agents.ts';
import { addNote, transferTicket } from '../../core/tickets/actions.ts';
import { addBusinessMinutes } from '../../core/tickets/business-hours.ts';
import { ticketHistory } from '../../core/tickets/history.ts';
import { queuePosition } from '../../core/tickets/queue.ts';
import { drainQueue } from '../../core/tickets/routing.ts';
import { checkSla, ESCALATION_PRIORITY } from '../../core/tickets/sla.ts';
import { updateTeam } from '../../core/agents/teams.ts';
import { handoff, resolveConversation } from '../../core/tickets/tickets.ts';
import { depsFor, testDatabase } from '../support/db.ts';
import { buildAgent, buildCustomer, buildTeam } from '../support/factories.ts';

describe('tickets', () => {
  let db: Database;
  let deps: Deps;
  const events: DomainEvent[] = [];
  let n = 0;
  beforeAll(async () => {
    db = await testDatabase();
    deps = depsFor(db);
    deps.bus.subscribe((e) => void events.push(e));
  });
  afterAll(() => db.close());

  /** A conversation of `visitor` (a new customer unless the visitor is known). */
  async function conversation(visitor = `tk-visitor-${++n}`) {
    const r = await ingestInbound(deps, { channel: 'web', channelMsgId: `tk-${++n}`, identity: { kind: 'web_visitor', value: visitor }, type: 'text', text: '转人工' });
    return r.conversation;
  }
  const open = async (category: string, visitor?: string, reason = 'customer_request') =>
    handoff(deps, { conversationId: (await conversation(visitor)).id, category, reason });

  it('priority says why: angry first, then VIP, then money at stake', async () => {
    await buildTeam(db.sql, { name: '优先组', categories: ['优先'], isDefault: true });
    const vip = await buildCustomer(db.sql, { tier: 'diamond', identities: [{ kind: 'web_visitor', value: 'tk-vip' }], orders: [{ totalFen: 80_000, status: 'paid' }] });
    const t = await open('优先', 'tk-vip', 'negative_sentiment');
    expect(t.customerId).toBe(vip.id);
    expect(t.priority).toBe(40 + 30 + 10);
    const [opened] = await ticketHistory(db.sql, t.id);
    expect(opened).toMatchObject({ type: 'opened', data: { factors: ['情绪激动', 'VIP 客户', '近期订单金额较高'] } });
    expect((await open('优先')).priority).toBe(0);
    // a high-value customer by RFM (3 paid orders, ¥1,200 in the window), not a VIP tier
    await buildCustomer(db.sql, { identities: [{ kind: 'web_visitor', value: 'tk-rfm' }], orders: [1, 2, 3].map(() => ({ totalFen: 40_000, status: 'paid' })) });
    const hv = await open('优先', 'tk-rfm');
    expect(hv.priority).toBe(15);
    expect((await ticketHistory(db.sql, hv.id))[0].data).toMatchObject({ factors: ['高价值客户'] });
  });

  it('sticks to the agent who served this customer before, if online and not full', async () => {
    const team = await buildTeam(db.sql, { categories: ['粘性'] });
    const [a, b] = [await buildAgent(db.sql, { teamIds: [team.id], status: 'online' }), await buildAgent(db.sql, { teamIds: [team.id], status: 'online' })];
    await db.sql`update agents set status = 'offline' where id = ${b.id}`;
    const first = await open('粘性', 'tk-sticky');
    expect(first.assigneeId).toBe(a.id);
    await resolveConversation(deps, first.conversationId);
    await db.sql`update agents set status = 'online' where id = ${b.id}`;
    await open('粘性'); // someone else's ticket: a now has 1, b 0
    await open('粘性'); // b gets it (least loaded): a 1, b 1
    const again = await open('粘性', 'tk-sticky');
    expect(again.assigneeId).toBe(a.id); // not the least loaded tie-break: the agent who knows her
    await db.sql`update agents set status = 'offline' where id = ${a.id}`;
    const third = await open('粘性', 'tk-sticky-2');
    expect(third.assigneeId).toBe(b.id);
  });

  it('the queue serves higher priority first, then the oldest; the customer is told where they stand', async () => {
    const team = await buildTeam(db.sql, { categories: ['排队'] });
    const agent = await buildAgent(db.sql, { teamIds: [team.id], status: 'offline', maxConcurrent: 1 });
    const low1 = await open('排队');
    const low2 = await open('排队');
    await buildCustomer(db.sql, { tier: 'diamond', identities: [{ kind: 'web_visitor', value: 'tk-vip-q' }] });
    const vip = await open('排队', 'tk-vip-q');
    expect(await queuePosition(db.sql, vip.id)).toMatchObject({ ahead: 0 });
    expect(await queuePosition(db.sql, low2.id)).toMatchObject({ ahead: 2 });
    expect((await queuePosition(db.sql, low2.id))!.waitMinutes).toBeGreaterThan(0);
    await setAgentStatus(deps, agent.id, 'online');
    expect(await drainQueue(deps, agent.id)).toBe(1);
    const [assigned] = await db.sql`select id from tickets where team_id = ${team.id} and status = 'assigned'`;
    expect(assigned.id).toBe(vip.id);
    expect(await queuePosition(db.sql, low2.id)).toMatchObject({ ahead: 1 });
    expect(low1.status).toBe('new');
  });

  it('a freed slot is filled at once: resolving, solving or handing on moves the queue', async () => {
    const team = await buildTeam(db.sql, { categories: ['腾位'] });
    const agent = await buildAgent(db.sql, { teamIds: [team.id], status: 'online', maxConcurrent: 1 });
    const colleague = await buildAgent(db.sql, { teamIds: [team.id], status: 'offline', maxConcurrent: 5 });
    const first = await open('腾位');
    const second = await open('腾位');
    const third = await open('腾位');
    expect([first.assigneeId, second.status, third.status]).toEqual([agent.id, 'new', 'new']);
    await resolveConversation(deps, first.conversationId);
    const [s2] = await db.sql`select assignee_id from tickets where id = ${second.id}`;
    expect(s2.assigneeId).toBe(agent.id);
    const actor = await loadActor(db.sql, agent.id);
    const { setTicketStatus } = await import('../../core/tickets/actions.ts');
    await setTicketStatus(deps, { ticketId: second.id, actor, status: 'solved' });
    const [s3] = await db.sql`select assignee_id from tickets where id = ${third.id}`;
    expect(s3.assigneeId).toBe(agent.id);
    // handing the ticket to a colleague frees the slot too (nothing left in the queue here, so it stays free)
    await transferTicket(deps, { ticketId: third.id, actor, toAgentId: colleague.id });
    const [{ load }] = await db.sql`select count(*)::int as load from tickets where assignee_id = ${agent.id} and status in ('assigned', 'pending')`;
    expect(load).toBe(0);
  });

  it('going offline re-queues tickets without a first reply (to a colleague); answered ones stay', async () => {
    const team = await buildTeam(db.sql, { categories: ['离线'] });
    const leaving = await buildAgent(db.sql, { teamIds: [team.id], status: 'online' });
    const answered = await open('离线');
    const waiting = await open('离线');
    expect([answered.assigneeId, waiting.assigneeId]).toEqual([leaving.id, leaving.id]);
    await sendOutbound(deps, { conversationId: answered.conversationId, senderType: 'agent', senderId: leaving.id, text: '您好' });
    const colleague = await buildAgent(db.sql, { teamIds: [team.id], status: 'online' });
    await setAgentStatus(deps, leaving.id, 'offline');
    const rows = await db.sql<{ id: string; assigneeId: string }[]>`select id, assignee_id from tickets where id in (${answered.id}, ${waiting.id})`;
    const by = new Map(rows.map((r) => [r.id, r.assigneeId]));
    expect(by.get(answered.id)).toBe(leaving.id);
    expect(by.get(waiting.id)).toBe(colleague.id);
    expect((await ticketHistory(db.sql, waiting.id)).map((e) => e.type)).toEqual(['opened', 'assigned', 'requeued', 'assigned']);
  });

  it('transfers to an agent with a note that @mentions a colleague, or to another team', async () => {
    const team = await buildTeam(db.sql, { categories: ['转接'] });
    const other = await buildTeam(db.sql, { categories: ['转接2'] });
    const from = await buildAgent(db.sql, { teamIds: [team.id], status: 'online' });
    const to = await buildAgent(db.sql, { name: '转接目标', teamIds: [team.id], status: 'offline' });
    const sup = await buildAgent(db.sql, { name: '王主管', role: 'supervisor' });
    const inOther = await buildAgent(db.sql, { teamIds: [other.id], status: 'online' });
    const t = await open('转接');
    const actor = await loadActor(db.sql, from.id);
    const moved = await transferTicket(deps, { ticketId: t.id, actor, toAgentId: to.id, note: '客户要求退差价，@王主管 请确认' });
    expect(moved).toMatchObject({ assigneeId: to.id, status: 'assigned' });
    const [note] = await db.sql`select text, mentions from ticket_notes where ticket_id = ${t.id}`;
    expect(note.mentions).toEqual([sup.id]);
    expect(events.some((e) => e.type === 'ticket.note' && e.mentions.includes(sup.id))).toBe(true);
    const toTeam = await transferTicket(deps, { ticketId: t.id, actor, toTeamId: other.id });
    expect(toTeam).toMatchObject({ teamId: other.id, assigneeId: inOther.id, status: 'assigned' });
    expect((await ticketHistory(db.sql, t.id)).filter((e) => e.type === 'transferred')).toHaveLength(2);
    await expect(transferTicket(deps, { ticketId: t.id, actor })).rejects.toMatchObject({ code: 'invalid_transfer' });
    await resolveConversation(deps, t.conversationId);
    await expect(transferTicket(deps, { ticketId: t.id, actor, toAgentId: to.id })).rejects.toMatchObject({ code: 'ticket_closed' });
    await addNote(deps, { ticketId: t.id, actor, text: '已处理' });
  });

  it('routing policy per team: no stickiness, longest idle, first come first served', async () => {
    const team = await buildTeam(db.sql, { categories: ['策略'] });
    await updateTeam(db.sql, team.id, { routing: { sticky: false, strategy: 'longest_idle', priorityFirst: false } });
    const a = await buildAgent(db.sql, { teamIds: [team.id], status: 'online' });
    const b = await buildAgent(db.sql, { teamIds: [team.id], status: 'online' });
    await db.sql`update agents set last_assigned_at = now() - interval '1 hour' where id = ${a.id}`;
    await db.sql`update agents set last_assigned_at = now() - interval '2 hours' where id = ${b.id}`;
    const first = await open('策略', 'tk-policy'); // b waited longest
    expect(first.assigneeId).toBe(b.id);
    const second = await open('策略'); // b was just assigned: now a has waited longest
    expect(second.assigneeId).toBe(a.id);
    const third = await open('策略'); // and now b again
    expect(third.assigneeId).toBe(b.id);
    await resolveConversation(deps, first.conversationId);
    // the returning customer was b's; a sticky team would send her to b, this one goes by idle time: a
    const back = await open('策略', 'tk-policy');
    expect(back.assigneeId).toBe(a.id);
    // FIFO: a VIP queued later waits behind an older ticket
    const fifo = await buildTeam(db.sql, { categories: ['先来'] });
    await updateTeam(db.sql, fifo.id, { routing: { priorityFirst: false } });
    const agent = await buildAgent(db.sql, { teamIds: [fifo.id], status: 'offline', maxConcurrent: 1 });
    const older = await open('先来');
    await buildCustomer(db.sql, { tier: 'diamond', identities: [{ kind: 'web_visitor', value: 'tk-vip-fifo' }] });
    const vipLater = await open('先来', 'tk-vip-fifo');
    expect(vipLater.priority).toBeGreaterThan(older.priority);
    expect(await queuePosition(db.sql, vipLater.id)).toMatchObject({ ahead: 1 });
    await setAgentStatus(deps, agent.id, 'online');
    await drainQueue(deps, agent.id);
    const [got] = await db.sql`select id from tickets where assignee_id = ${agent.id}`;
    expect(got.id).toBe(older.id);
  });

  it('SLA: warns at 80% of the first-response window, escalates once when it passes', async () => {
    const team = await buildTeam(db.sql, { categories: ['时效'] });
    await buildAgent(db.sql, { teamIds: [team.id], status: 'offline' });
    const t = await open('时效');
    expect(t.firstResponseDueAt!.getTime() - t.createdAt.getTime()).toBe(5 * 60_000); // the default 5 minutes
    await db.sql`update tickets set created_at = now() - interval '9 minutes', first_response_due_at = now() + interval '1 minute' where id = ${t.id}`;
    await checkSla(deps);
    let [row] = await db.sql`select sla_warned_at, escalated_at, priority from tickets where id = ${t.id}`;
    expect(row.slaWarnedAt).not.toBeNull();
    expect(row.escalatedAt).toBeNull();
    await db.sql`update tickets set first_response_due_at = now() - interval '1 minute' where id = ${t.id}`;
    await checkSla(deps);
    await checkSla(deps);
    [row] = await db.sql`select escalated_at, priority from tickets where id = ${t.id}`;
    expect(row.escalatedAt).not.toBeNull();
    expect(row.priority).toBe(t.priority + ESCALATION_PRIORITY); // once, not twice
    expect(events.filter((e) => e.type === 'ticket.sla' && e.ticket.id === t.id).map((e) => (e as { level: string }).level)).toEqual(['warning', 'breached']);
  });
});

describe('business hours', () => {
  const hours = { tz: 'Asia/Shanghai', days: [1, 2, 3, 4, 5], start: '09:00', end: '22:00' };
  it.each([
    ['inside hours', '2026-11-20T10:00:00+08:00', 30, '2026-11-20T10:30:00+08:00'],
    ['across closing, over the weekend', '2026-11-20T21:50:00+08:00', 30, '2026-11-23T09:20:00+08:00'],
    ['from the middle of the night', '2026-11-24T03:00:00+08:00', 5, '2026-11-24T09:05:00+08:00'],
    ['on a Sunday', '2026-11-22T12:00:00+08:00', 60, '2026-11-23T10:00:00+08:00'],
  ])('%s', (_, from, minutes, due) => {
    expect(addBusinessMinutes(new Date(from), minutes, hours).toISOString()).toBe(new Date(due).toISOString());
  });
  it('no hours means the clock always runs', () => {
    expect(addBusinessMinutes(new Date('2026-11-22T23:59:00Z'), 5, null).toISOString()).toBe('2026-11-23T00:04:00.000Z');
  });
});
