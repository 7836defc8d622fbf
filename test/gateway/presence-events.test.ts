import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { buildAgent } from '../support/factories.ts';
import { emitAck, nextEvent, readyOf, startTestHuike, type TestHuike } from '../support/huike.ts';

const GRACE_S = 2;
interface Presence {
  agentId: string;
  status: string;
  disconnectedAt: string | null;
}

/** Every `agent:status` a socket hears about one agent, in order. */
function heard(socket: Socket, agentId: string): Presence[] {
  const events: Presence[] = [];
  socket.on('agent:status', (e: Presence) => e.agentId === agentId && events.push(e));
  return events;
}

// The team page and the agent's own consoles follow an agent's presence as it changes, without a reload.
describe('agent:status, live', () => {
  let h: TestHuike;

  beforeAll(async () => {
    h = await startTestHuike({ env: { AGENT_OFFLINE_GRACE_S: String(GRACE_S) } });
  });
  afterAll(() => h?.close());

  it('a supervisor hears the grace start and end, and the offline after it', async () => {
    const supervisor = await buildAgent(h.deps.sql, { role: 'supervisor' });
    const watching = await h.agentSocket(await h.login(supervisor.email));
    const agent = await buildAgent(h.deps.sql, { teamIds: [] });
    const token = await h.login(agent.email);
    const events = heard(watching, agent.id);
    const first = await h.agentSocket(token);
    await expect.poll(() => events.length).toBe(1);
    expect(events[0]).toEqual({ agentId: agent.id, status: 'online', disconnectedAt: null });

    first.io.engine.close(); // the tab reloads
    await expect.poll(() => events.length).toBe(2);
    expect(events[1]).toEqual({ agentId: agent.id, status: 'online', disconnectedAt: expect.any(String) });
    expect(Math.abs(Date.parse(events[1].disconnectedAt!) - Date.now())).toBeLessThan(5000);

    const back = await h.agentSocket(token); // back within the grace
    await expect.poll(() => events.length).toBe(3);
    expect(events[2]).toEqual({ agentId: agent.id, status: 'online', disconnectedAt: null });

    const again = await h.agentSocket(token); // a second tab: nothing changes, nothing is said
    again.io.engine.close();
    back.io.engine.close();
    // both consoles gone now: the grace, then the sweep's offline
    await expect.poll(() => events.map((e) => e.status), { timeout: GRACE_S * 1000 + 5000 }).toEqual(['online', 'online', 'online', 'online', 'offline']);
    expect(events[3].disconnectedAt).toEqual(expect.any(String));
    expect(events[4]).toEqual({ agentId: agent.id, status: 'offline', disconnectedAt: null });
  });

  it('an agent’s other consoles follow a status set in one, and a console opening says the status the server has', async () => {
    const agent = await buildAgent(h.deps.sql, { teamIds: [] });
    const token = await h.login(agent.email);
    const [one, two] = [await h.agentSocket(token), await h.agentSocket(token)];
    expect(readyOf(two)).toEqual({ agentId: agent.id, status: 'online' });
    const told = nextEvent<Presence>(two, 'agent:status', (e) => e.agentId === agent.id);
    await emitAck(one, 'presence:set', { status: 'away' });
    expect(await told).toEqual({ agentId: agent.id, status: 'away', disconnectedAt: null });

    // a reload while 离开: the console opens as 离开, not as the 在线 it would otherwise assume
    expect(readyOf(await h.agentSocket(token))).toEqual({ agentId: agent.id, status: 'away' });
  });

  it('an agent hears nothing of a colleague', async () => {
    const [agent, colleague] = [await buildAgent(h.deps.sql, { teamIds: [] }), await buildAgent(h.deps.sql, { teamIds: [] })];
    const socket = await h.agentSocket(await h.login(agent.email));
    const events: Presence[] = [];
    socket.on('agent:status', (e: Presence) => events.push(e));
    const theirs = await h.agentSocket(await h.login(colleague.email));
    await emitAck(theirs, 'presence:set', { status: 'away' });
    await emitAck(socket, 'presence:set', { status: 'away' }); // their own comes after the colleague's would have
    await expect.poll(() => events.length).toBe(1);
    expect(events).toEqual([{ agentId: agent.id, status: 'away', disconnectedAt: null }]);
  });
});
