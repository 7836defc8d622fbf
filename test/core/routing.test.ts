import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/client.ts';
import type { Deps } from '../../core/deps.ts';
import { ingestInbound } from '../../core/conversations/ingest.ts';
import { setAgentStatus } from '../../core/agents/agents.ts';
import { handoff } from '../../core/tickets/tickets.ts';
import { drainQueue } from '../../core/tickets/routing.ts';
import { depsFor, testDatabase } from '../support/db.ts';
import { buildAgent, buildTeam } from '../support/factories.ts';

describe('handoff and routing', () => {
  let db: Database;
  let deps: Deps;
  let presale: { id: string };
  let aftersale: { id: string };
  let n = 0;

  beforeAll(async () => {
    db = await testDatabase();
    deps = depsFor(db);
    presale = await buildTeam(db.sql, { name: '售前', categories: ['售前咨询', '优惠券'] });
    aftersale = await buildTeam(db.sql, { name: '售后', categories: ['物流', '退款'], isDefault: true });
  });
  afterAll(() => db.close());

  async function newConversation() {
    n++;
    const r = await ingestInbound(deps, {
      channel: 'web',
      channelMsgId: `route-${n}`,
      identity: { kind: 'web_visitor', value: `route-visitor-${n}` },
      type: 'text',
      text: '转人工',
    });
    return r.conversation;
  }

  it('sends a category to its team and picks the least-loaded online agent, skipping offline ones', async () => {
    const busy = await buildAgent(db.sql, { teamIds: [aftersale.id], status: 'online' });
    const idle = await buildAgent(db.sql, { teamIds: [aftersale.id], status: 'online' });
    const offline = await buildAgent(db.sql, { teamIds: [aftersale.id], status: 'offline' });
    await buildAgent(db.sql, { teamIds: [presale.id], status: 'online' });
    // give `busy` one open ticket first
    await db.sql`update agents set status = 'offline' where id = ${idle.id}`;
    const t1 = await handoff(deps, { conversationId: (await newConversation()).id, category: '物流', reason: 'customer_request' });
    expect(t1.assigneeId).toBe(busy.id);
    await db.sql`update agents set status = 'online' where id = ${idle.id}`;

    const t2 = await handoff(deps, { conversationId: (await newConversation()).id, category: '退款', reason: 'customer_request' });
    expect(t2.teamId).toBe(aftersale.id);
    expect(t2.status).toBe('assigned');
    expect(t2.assigneeId).toBe(idle.id);
    expect(t2.assigneeId).not.toBe(offline.id);
    const [conv] = await db.sql<{ status: string; assigneeId: string }[]>`select status, assignee_id from conversations where id = ${t2.conversationId}`;
    expect(conv).toEqual({ status: 'open', assigneeId: idle.id });
  });

  it('routes unknown categories to the default team', async () => {
    const t = await handoff(deps, { conversationId: (await newConversation()).id, category: null, reason: 'bot_miss' });
    expect(t.teamId).toBe(aftersale.id);
  });

  it('opens one ticket per conversation however often handoff is asked', async () => {
    const c = await newConversation();
    const tickets = await Promise.all([1, 2, 3].map(() => handoff(deps, { conversationId: c.id, category: '物流', reason: 'customer_request' })));
    expect(new Set(tickets.map((t) => t.id)).size).toBe(1);
  });

  it('queues when every agent is full or offline, and drains the queue when one comes online', async () => {
    const team = await buildTeam(db.sql, { name: '小组', categories: ['发票'] });
    const agent = await buildAgent(db.sql, { teamIds: [team.id], status: 'offline', maxConcurrent: 2 });
    const queued = [];
    for (let i = 0; i < 3; i++) queued.push(await handoff(deps, { conversationId: (await newConversation()).id, category: '发票', reason: 'customer_request' }));
    expect(queued.every((t) => t.status === 'new' && t.assigneeId === null)).toBe(true);
    const [conv] = await db.sql<{ status: string }[]>`select status from conversations where id = ${queued[0].conversationId}`;
    expect(conv.status).toBe('queued');

    await setAgentStatus(deps, agent.id, 'online');
    expect(await drainQueue(deps, agent.id)).toBe(2); // capacity 2
    const rows = await db.sql<{ id: string; status: string }[]>`select id, status from tickets where team_id = ${team.id} order by created_at`;
    expect(rows.map((r) => r.status)).toEqual(['assigned', 'assigned', 'new']); // oldest first
  });

  it('never exceeds capacity or double-assigns under concurrent handoffs', async () => {
    const team = await buildTeam(db.sql, { name: '并发组', categories: ['投诉'] });
    const agents = await Promise.all([1, 2, 3].map(() => buildAgent(db.sql, { teamIds: [team.id], status: 'online', maxConcurrent: 3 })));
    const convs = [];
    for (let i = 0; i < 15; i++) convs.push(await newConversation());
    await Promise.all(convs.map((c) => handoff(deps, { conversationId: c.id, category: '投诉', reason: 'customer_request' })));
    const loads = await db.sql<{ assigneeId: string; n: number }[]>`
      select assignee_id, count(*)::int as n from tickets where team_id = ${team.id} and status = 'assigned' group by assignee_id`;
    expect(loads).toHaveLength(3);
    for (const l of loads) expect(l.n).toBe(3);
    expect(loads.map((l) => l.assigneeId).sort()).toEqual(agents.map((a) => a.id).sort());
    const [{ waiting }] = await db.sql<{ waiting: number }[]>`select count(*)::int as waiting from tickets where team_id = ${team.id} and status = 'new'`;
    expect(waiting).toBe(6);
  });
});
