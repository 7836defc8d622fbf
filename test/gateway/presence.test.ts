import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from '../../core/db/client.ts';
import { testDatabase } from '../support/db.ts';
import { buildAgent, buildTeam } from '../support/factories.ts';
import { emitAck, nextEvent, startTestHuike, type TestHuike, testRedisPrefix } from '../support/huike.ts';

// long enough for a reload on a loaded CI machine, short enough to wait out
const GRACE_S = 3;
// a node silent this long is dead (10 s outside tests)
const NODE_GONE_MS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const presence = async (sql: Sql, agentId: string) =>
  (await sql<{ status: string; disconnectedAt: Date | null }[]>`select status, disconnected_at from agents where id = ${agentId}`)[0];
const ticketsOf = async (sql: Sql, agentId: string) =>
  (await sql<{ id: string }[]>`select id from tickets where assignee_id = ${agentId} and status = 'assigned' order by created_at`).map((t) => t.id);
const requeues = async (sql: Sql) => (await sql<{ n: number }[]>`select count(*)::int as n from ticket_events where type = 'requeued'`)[0].n;

async function handoffFrom(h: TestHuike, clientMsgId: string) {
  const { socket } = await h.customerSocket();
  const sent = await emitAck<{ message: { conversationId: string } }>(socket, 'message:send', { clientMsgId, text: '转人工' });
  await h.settle();
  const [t] = await h.deps.sql<{ id: string; status: string }[]>`select id, status from tickets where conversation_id = ${sent.message.conversationId}`;
  return t;
}

// An agent whose consoles all closed stays online, keeping their tickets, for AGENT_OFFLINE_GRACE_S.
describe('an agent’s consoles closing: the offline grace', () => {
  let h: TestHuike;
  let teamId = '';

  beforeAll(async () => {
    h = await startTestHuike({ env: { AGENT_OFFLINE_GRACE_S: String(GRACE_S) }, workers: { presence: { nodeGoneAfterMs: NODE_GONE_MS } } });
    teamId = (await buildTeam(h.deps.sql, { isDefault: true })).id;
  });
  afterAll(() => h?.close());

  it('a page reloaded within the grace keeps the agent online and their tickets; what came meanwhile waits for them', async () => {
    const agent = await buildAgent(h.deps.sql, { teamIds: [teamId] });
    const token = await h.login(agent.email);
    const first = await h.agentSocket(token);
    const kept = await handoffFrom(h, 'reload-1');
    expect(await ticketsOf(h.deps.sql, agent.id)).toEqual([kept.id]);

    first.io.engine.close(); // the page reloads: the connection drops, no goodbye
    await expect.poll(async () => (await presence(h.deps.sql, agent.id)).disconnectedAt).toBeInstanceOf(Date);
    // a customer asks for a human while the page reloads: not routed to a console that is not there
    const waiting = await handoffFrom(h, 'reload-2');
    expect(waiting.status).toBe('new');
    // the team page shows them online and disconnected (已断开)
    const listed = async () => (await h.api(token, '/agents')).body.agents.find((x: { id: string }) => x.id === agent.id);
    expect(await listed()).toMatchObject({ status: 'online', disconnectedAt: expect.any(String) });

    await h.agentSocket(token);
    expect(await presence(h.deps.sql, agent.id)).toEqual({ status: 'online', disconnectedAt: null });
    expect(await listed()).toMatchObject({ status: 'online', disconnectedAt: null });
    expect(await ticketsOf(h.deps.sql, agent.id)).toEqual([kept.id, waiting.id]);
    await sleep(GRACE_S * 1000 + 500);
    expect((await presence(h.deps.sql, agent.id)).status).toBe('online');
    expect(await requeues(h.deps.sql)).toBe(0);
  });

  it('consoles closed for good: offline once the grace has passed, and the waiting customer goes to a colleague', async () => {
    const agent = await buildAgent(h.deps.sql, { teamIds: [teamId] });
    const leaving = await h.agentSocket(await h.login(agent.email));
    const t = await handoffFrom(h, 'leave-1');
    expect(await ticketsOf(h.deps.sql, agent.id)).toContain(t.id);
    const colleague = await buildAgent(h.deps.sql, { teamIds: [teamId] });
    await h.agentSocket(await h.login(colleague.email));
    // the first test's agent is still there too: either of them may take the customer
    const onlineWithConsole = async () =>
      (await h.deps.sql<{ id: string }[]>`select id from agents where status = 'online' and disconnected_at is null`).map((r) => r.id);

    const closedAt = Date.now();
    leaving.io.engine.close(); // the tab is closed
    await sleep(GRACE_S * 500);
    expect((await presence(h.deps.sql, agent.id)).status).toBe('online');
    expect(await ticketsOf(h.deps.sql, agent.id)).toContain(t.id);

    await expect.poll(async () => (await presence(h.deps.sql, agent.id)).status, { timeout: GRACE_S * 1000 + 5000 }).toBe('offline');
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(GRACE_S * 1000);
    // the sweep requeues and routes it right after the offline lands
    const assignee = async () => (await h.deps.sql<{ assigneeId: string | null }[]>`select assignee_id from tickets where id = ${t.id}`)[0].assigneeId;
    await expect.poll(async () => [null, agent.id].includes(await assignee())).toBe(false);
    expect(await onlineWithConsole()).toContain(await assignee());
  });

  it('logging out leaves at once: offline without the grace, and the waiting customer goes to a colleague', async () => {
    const agent = await buildAgent(h.deps.sql, { teamIds: [teamId] });
    const token = await h.login(agent.email);
    await h.agentSocket(token);
    const t = await handoffFrom(h, 'logout-1');
    expect(await ticketsOf(h.deps.sql, agent.id)).toContain(t.id);
    await h.agentSocket(await h.login((await buildAgent(h.deps.sql, { teamIds: [teamId] })).email));

    const res = await fetch(`${h.url}/api/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(204);
    await expect.poll(async () => presence(h.deps.sql, agent.id), { timeout: GRACE_S * 500 }).toEqual({ status: 'offline', disconnectedAt: null });
    await expect.poll(async () => ticketsOf(h.deps.sql, agent.id), { timeout: GRACE_S * 500 }).toEqual([]);
  });

  it('a node that died without a word (a crash, or this node’s previous instance) is noticed, and its agents go offline; with or without Redis', { timeout: 30_000 }, async () => {
    // what a killed node leaves: its last heartbeat, and an agent online whose latest console was there
    await h.deps.sql`insert into gateway_nodes (id, host, pid) values ('a-node-that-crashed', 'test', 1)`;
    const agent = await buildAgent(h.deps.sql, { teamIds: [teamId], status: 'online' });
    await h.deps.sql`update agents set console_node = 'a-node-that-crashed' where id = ${agent.id}`;
    const t = await handoffFrom(h, 'crashed-1');
    expect(await ticketsOf(h.deps.sql, agent.id)).toEqual([t.id]); // the least loaded: nobody knows yet
    const started = Date.now();
    await expect.poll(async () => (await presence(h.deps.sql, agent.id)).disconnectedAt, { timeout: 10_000, interval: 100 }).toBeInstanceOf(Date);
    // silent for the limit before it counts as dead (a late beat is not a dead node), then the grace
    expect(Date.now() - started).toBeGreaterThanOrEqual(NODE_GONE_MS - 500);
    await expect.poll(async () => (await presence(h.deps.sql, agent.id)).status, { timeout: 20_000, interval: 250 }).toBe('offline');
    expect(Date.now() - started).toBeGreaterThanOrEqual(NODE_GONE_MS + GRACE_S * 1000 - 1000);
    // their waiting customer goes to a colleague with a console
    await expect.poll(async () => ticketsOf(h.deps.sql, agent.id)).toEqual([]);
  });

  it('a node still beating is not dead, and an agent of a dead node with a console open elsewhere keeps their customers', { timeout: 30_000 }, async () => {
    const agent = await buildAgent(h.deps.sql, { teamIds: [teamId], status: 'online' });
    const quiet = await buildAgent(h.deps.sql, { teamIds: [teamId], status: 'online' });
    await h.agentSocket(await h.login(agent.email)); // on this node, which beats
    await h.deps.sql`insert into gateway_nodes (id, host, pid) values ('another-live-node', 'test', 2)`;
    await h.deps.sql`update agents set console_node = 'another-live-node' where id = ${quiet.id}`;
    // the console is here, but the agent's latest console was on a node that then died (two consoles, two nodes)
    await h.deps.sql`insert into gateway_nodes (id, host, pid) values ('died-with-a-console', 'test', 3)`;
    await h.deps.sql`update agents set console_node = 'died-with-a-console' where id = ${agent.id}`;
    const beating = setInterval(() => void h.deps.sql`update gateway_nodes set seen_at = now() where id = 'another-live-node'`.catch(() => {}), 300);
    const graces: unknown[] = [];
    const unsubscribe = h.deps.bus.subscribe((e) => void (e.type === 'agent.status' && e.agentId === agent.id && e.disconnectedAt && graces.push(e)));
    try {
      // found open here by the sweep's first look at the dead node's agents, before any grace
      const consoleNode = async () => (await h.deps.sql<{ node: string }[]>`select console_node as node from agents where id = ${agent.id}`)[0].node;
      await expect.poll(consoleNode, { timeout: NODE_GONE_MS + 2000 }).not.toBe('died-with-a-console');
      expect(await consoleNode()).toBe(h.realtime.nodeId);
      await sleep(GRACE_S * 1000 + 500);
      expect(await presence(h.deps.sql, agent.id)).toEqual({ status: 'online', disconnectedAt: null });
      expect(await presence(h.deps.sql, quiet.id)).toEqual({ status: 'online', disconnectedAt: null });
      // asked before the grace would start: none started, so no team page saw 已断开 come and go
      expect(graces).toEqual([]);
    } finally {
      clearInterval(beating);
      unsubscribe();
    }
  });

  it('a stopping node has recorded its closed consoles once its sockets are closed, before it lets go of the database', async () => {
    const db = await testDatabase();
    const node = await startTestHuike({ database: db, env: { AGENT_OFFLINE_GRACE_S: String(GRACE_S) } });
    try {
      const agent = await buildAgent(db.sql, { teamIds: [] });
      await node.agentSocket(await node.login(agent.email));
      // the agent's row is locked for a moment, so the bookkeeping cannot land before close() is called
      let release!: () => void;
      let locked!: () => void;
      const [held, isLocked] = [new Promise<void>((r) => (release = r)), new Promise<void>((r) => (locked = r))];
      const locking = db.sql.begin(async (tx) => {
        await tx`select id from agents where id = ${agent.id} for update`;
        locked();
        await held;
      });
      await isLocked;
      setTimeout(release, 300);
      await node.realtime.close();
      expect((await presence(db.sql, agent.id)).disconnectedAt).toBeInstanceOf(Date);
      await locking;
    } finally {
      await node.close();
      await db.close();
    }
  });
});

// A rolling upgrade: a node stops (SIGTERM) and its agents' consoles reconnect to another one.
describe.skipIf(!process.env.REDIS_URL)('a node stopping under its agents, with the grace', () => {
  let db: Awaited<ReturnType<typeof testDatabase>>;
  let a: TestHuike;
  const redisPrefix = testRedisPrefix();
  const env = { AGENT_OFFLINE_GRACE_S: String(GRACE_S) };
  let teamId = '';

  beforeAll(async () => {
    db = await testDatabase();
    a = await startTestHuike({ database: db, redisPrefix, env });
    teamId = (await buildTeam(db.sql, { isDefault: true })).id;
  });
  afterAll(async () => {
    await a?.close();
    await db?.close();
  });

  it('the agents reconnect to another node and keep their waiting customers: nothing is requeued', async () => {
    const c = await startTestHuike({ database: db, redisPrefix, env });
    const agent = await buildAgent(db.sql, { teamIds: [teamId] });
    const token = await a.login(agent.email);
    // a supervisor on the node that stays sees the agent's grace start and end (the team page, 已断开)
    const supervisor = await a.agentSocket(await a.login((await buildAgent(db.sql, { role: 'supervisor' })).email));
    const heard: { disconnectedAt: string | null }[] = [];
    supervisor.on('agent:status', (e: { agentId: string; disconnectedAt: string | null }) => e.agentId === agent.id && heard.push(e));
    const onC = await c.agentSocket(token);
    const assigned = nextEvent(onC, 'ticket:assigned');
    const t = await handoffFrom(a, 'upgrade-1');
    await assigned;

    await c.stop(); // stop, not close: close would delete what the other nodes share in Redis
    await expect.poll(() => heard.some((e) => e.disconnectedAt !== null), { timeout: 5000 }).toBe(true);
    await a.agentSocket(token);
    await expect.poll(() => heard.at(-1)?.disconnectedAt, { timeout: 5000 }).toBeNull();
    await sleep(GRACE_S * 1000 + 500);
    expect(await presence(db.sql, agent.id)).toEqual({ status: 'online', disconnectedAt: null });
    expect(await ticketsOf(db.sql, agent.id)).toEqual([t.id]);
    expect(await requeues(db.sql)).toBe(0);
  });

  it('a node silent in the database but alive through Redis keeps its agents: their consoles are there', { timeout: 40_000 }, async () => {
    const c = await startTestHuike({ database: db, redisPrefix, env });
    const agent = await buildAgent(db.sql, { teamIds: [teamId] });
    await c.agentSocket(await c.login(agent.email));
    // node C's heartbeat row locked: its beats cannot land (a database link or a pool in trouble), its sockets are fine
    let release!: () => void;
    const locked = new Promise<void>((resolve) => {
      void db.sql.begin(async (tx) => {
        await tx`select id from gateway_nodes where id = ${c.realtime.nodeId} for update`;
        resolve();
        await new Promise<void>((r) => (release = r));
      });
    });
    await locked;
    const graces: unknown[] = [];
    const unsubscribe = a.deps.bus.subscribe((e) => void (e.type === 'agent.status' && e.agentId === agent.id && e.disconnectedAt && graces.push(e)));
    try {
      // node A, steady, sees C silent after 10 s; it asks the nodes, finds the console on C, and leaves the agent be
      await sleep(10_000 + GRACE_S * 1000 + 1500);
      expect(await presence(db.sql, agent.id)).toEqual({ status: 'online', disconnectedAt: null });
      expect(graces).toEqual([]); // not even for a moment: no 已断开 flickering on the team pages at each pass
      expect((await db.sql<{ node: string }[]>`select console_node as node from agents where id = ${agent.id}`)[0].node).toBe(c.realtime.nodeId);
    } finally {
      unsubscribe();
      release();
      await c.stop();
    }
  });

  it('an agent with another console on a node that stays is found there by the sweep, and routed to again', async () => {
    const c = await startTestHuike({ database: db, redisPrefix, env });
    const agent = await buildAgent(db.sql, { teamIds: [teamId] });
    const token = await a.login(agent.email);
    await a.agentSocket(token);
    await c.agentSocket(token);
    await c.stop();
    // the stopping node could not ask the others: the grace started, and the sweep on node A ends it
    expect((await presence(db.sql, agent.id)).disconnectedAt).toBeInstanceOf(Date);
    await expect.poll(async () => presence(db.sql, agent.id), { timeout: GRACE_S * 1000 + 5000 }).toEqual({ status: 'online', disconnectedAt: null });
    const t = await handoffFrom(a, 'upgrade-2');
    expect(await ticketsOf(db.sql, agent.id)).toContain(t.id);
  });
});
