import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/client.ts';
import type { Deps } from '../../core/deps.ts';
import type { DomainEvent } from '../../core/events.ts';
import { ingestInbound } from '../../core/conversations/ingest.ts';
import { setAgentStatus } from '../../core/agents/agents.ts';
import { beat, pruneNodes } from '../../core/agents/nodes.ts';
import { goneLongerThan, markConsoleOpened, markDisconnected, markNodeGone, markReconnected, moveConsole, onSilentNodes } from '../../core/agents/presence.ts';
import { handoff } from '../../core/tickets/tickets.ts';
import { drainQueue } from '../../core/tickets/routing.ts';
import { depsFor, testDatabase } from '../support/db.ts';
import { buildAgent, buildTeam } from '../support/factories.ts';

// An agent whose consoles all closed: still online and keeping their tickets for the grace, but given nothing new.
describe('the offline grace', () => {
  let db: Database;
  let deps: Deps;
  let n = 0;

  beforeAll(async () => {
    db = await testDatabase();
    deps = depsFor(db);
  });
  afterAll(() => db.close());

  const handoffTo = async (category: string) => {
    n++;
    const { conversation } = await ingestInbound(deps, {
      channel: 'web',
      channelMsgId: `grace-${n}`,
      identity: { kind: 'web_visitor', value: `grace-visitor-${n}` },
      type: 'text',
      text: '转人工',
    });
    return handoff(deps, { conversationId: conversation.id, category, reason: 'customer_request' });
  };
  const disconnectedAt = async (id: string) => (await db.sql<{ at: Date | null }[]>`select disconnected_at as at from agents where id = ${id}`)[0].at;

  it('routes nothing new to an agent in their grace, and hands them the queue once a console is back', async () => {
    const team = await buildTeam(db.sql, { name: '会员组', categories: ['会员'] });
    const agent = await buildAgent(db.sql, { teamIds: [team.id], status: 'online' });
    const kept = await handoffTo('会员');
    expect(kept.assigneeId).toBe(agent.id);

    await markDisconnected(deps, agent.id);
    expect(await disconnectedAt(agent.id)).toBeInstanceOf(Date);
    const waiting = await handoffTo('会员');
    expect(waiting).toMatchObject({ status: 'new', assigneeId: null });
    expect(await drainQueue(deps, agent.id)).toBe(0);

    expect(await markReconnected(deps, agent.id, 'node-a')).toBe(true);
    expect(await markReconnected(deps, agent.id, 'node-a')).toBe(false);
    expect(await drainQueue(deps, agent.id)).toBe(1);
    const [{ assigneeId }] = await db.sql<{ assigneeId: string }[]>`select assignee_id from tickets where id = ${waiting.id}`;
    expect(assigneeId).toBe(agent.id);
    // the ticket they kept was never handed on
    const [{ status, assigneeId: keptBy }] = await db.sql<{ status: string; assigneeId: string }[]>`select status, assignee_id from tickets where id = ${kept.id}`;
    expect({ status, keptBy }).toEqual({ status: 'assigned', keptBy: agent.id });
  });

  it('sets the agent offline only once the grace has passed, and not if a console came back in between', async () => {
    const team = await buildTeam(db.sql, { name: '大客户组', categories: ['大客户'] });
    const agent = await buildAgent(db.sql, { teamIds: [team.id], status: 'online' });
    const colleague = await buildAgent(db.sql, { teamIds: [team.id], status: 'online', maxConcurrent: 1 });
    await db.sql`update agents set status = 'offline' where id = ${colleague.id}`;
    const t = await handoffTo('大客户');
    expect(t.assigneeId).toBe(agent.id);
    await db.sql`update agents set status = 'online' where id = ${colleague.id}`;

    await markDisconnected(deps, agent.id);
    expect(await goneLongerThan(deps, 60_000)).not.toContain(agent.id);
    expect(await setAgentStatus(deps, agent.id, 'offline', { goneForMs: 60_000 })).toBe(false);
    // a sweep that looked before a console came back: its offline must not land after it
    await db.sql`update agents set disconnected_at = now() - interval '2 minutes' where id = ${agent.id}`;
    expect(await goneLongerThan(deps, 60_000)).toContain(agent.id);
    await markReconnected(deps, agent.id, 'node-a');
    expect(await setAgentStatus(deps, agent.id, 'offline', { goneForMs: 60_000 })).toBe(false);

    await markDisconnected(deps, agent.id);
    await db.sql`update agents set disconnected_at = now() - interval '2 minutes' where id = ${agent.id}`;
    expect(await setAgentStatus(deps, agent.id, 'offline', { goneForMs: 60_000 })).toBe(true);
    expect(await setAgentStatus(deps, agent.id, 'offline', { goneForMs: 60_000 })).toBe(false);
    const [row] = await db.sql<{ status: string; disconnectedAt: Date | null }[]>`select status, disconnected_at from agents where id = ${agent.id}`;
    expect(row).toEqual({ status: 'offline', disconnectedAt: null });
    // their unanswered ticket went to the colleague
    const [{ assigneeId }] = await db.sql<{ assigneeId: string }[]>`select assignee_id from tickets where id = ${t.id}`;
    expect(assigneeId).toBe(colleague.id);
  });

  it('a node silent past the limit starts the grace of the agents whose latest console was there, and only theirs', async () => {
    const node = (id: string) => ({ id, host: 'test', pid: 1 });
    await beat(db.sql, node('node-dead'));
    await beat(db.sql, node('node-alive'));
    const [onDead, onAlive, movedAway, onUnknown, awayOnDead, offlineOnDead] = [
      await buildAgent(db.sql, { status: 'online' }),
      await buildAgent(db.sql, { status: 'online' }),
      await buildAgent(db.sql, { status: 'online' }),
      await buildAgent(db.sql, { status: 'online' }),
      await buildAgent(db.sql, { status: 'away' }),
      await buildAgent(db.sql, { status: 'offline' }),
    ];
    await markConsoleOpened(deps, onDead.id, 'node-dead');
    await markConsoleOpened(deps, awayOnDead.id, 'node-dead');
    await markConsoleOpened(deps, offlineOnDead.id, 'node-dead');
    await markConsoleOpened(deps, onAlive.id, 'node-alive');
    await markConsoleOpened(deps, movedAway.id, 'node-dead');
    await markConsoleOpened(deps, movedAway.id, 'node-alive'); // reconnected elsewhere since
    await markConsoleOpened(deps, onUnknown.id, 'a-node-that-never-beat'); // an id from before the heartbeat

    // both beat just now: nobody is on a silent node yet
    const silentIds = async (judge: string) => (await onSilentNodes(deps, 10_000, judge)).map((a) => a.agentId).sort();
    expect(await silentIds('node-alive')).toEqual([]);
    await db.sql`update gateway_nodes set seen_at = now() - interval '11 seconds' where id = 'node-dead'`;
    expect(await silentIds('node-dead')).toEqual([]); // a node does not judge itself
    expect(await silentIds('node-alive')).toEqual([onDead.id, awayOnDead.id].sort());
    expect((await onSilentNodes(deps, 10_000, 'node-alive')).every((a) => a.node === 'node-dead')).toBe(true);

    // what the team pages hear: the grace starting for the one with no console anywhere, and nothing for the one
    // whose console was found open on another node
    const told: DomainEvent[] = [];
    const unsubscribe = deps.bus.subscribe((e) => void told.push(e));
    expect(await markNodeGone(deps, onDead.id, 'node-dead')).toBe(true);
    await moveConsole(deps, awayOnDead.id, 'node-alive');
    expect(await disconnectedAt(onDead.id)).toBeInstanceOf(Date);
    for (const a of [awayOnDead, onAlive, movedAway, onUnknown, offlineOnDead]) expect(await disconnectedAt(a.id)).toBeNull();
    // each once: the grace does not start again, and the moved agent is on a live node now
    expect(await markNodeGone(deps, onDead.id, 'node-dead')).toBe(false);
    expect(await silentIds('node-alive')).toEqual([]);
    // back on a live node: routable again, and that node is theirs
    expect(await markReconnected(deps, onDead.id, 'node-alive')).toBe(true);
    expect(await disconnectedAt(onDead.id)).toBeNull();
    await markConsoleOpened(deps, onAlive.id, 'node-other'); // a console moving between live nodes is no news
    await deps.bus.idle();
    unsubscribe();
    expect(told).toEqual([
      { type: 'agent.status', agentId: onDead.id, status: 'online', disconnectedAt: expect.any(Date) },
      { type: 'agent.status', agentId: onDead.id, status: 'online', disconnectedAt: null },
    ]);

    // a day later the dead node's row goes, unless an agent still counted as there points at it
    await db.sql`update gateway_nodes set seen_at = now() - interval '2 days' where id = 'node-dead'`;
    await db.sql`update agents set console_node = 'node-dead' where id = ${awayOnDead.id}`;
    expect(await pruneNodes(db.sql, 86_400_000)).toBe(0);
    await db.sql`update agents set status = 'offline' where id = ${awayOnDead.id}`;
    expect(await pruneNodes(db.sql, 86_400_000)).toBe(1);
    expect(await db.sql`select id from gateway_nodes`).toEqual([{ id: 'node-alive' }]);
  });

  it('starts no grace for an agent who is offline already', async () => {
    const agent = await buildAgent(db.sql, { status: 'offline' });
    await markDisconnected(deps, agent.id);
    expect(await disconnectedAt(agent.id)).toBeNull();
  });
});
