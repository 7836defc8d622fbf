import type { Queryable } from '../db/client.ts';

/**
 * Whether an agent is there is decided in two steps (a logout skips them: gateway/realtime/agent-namespace.ts).
 * Their last console closing only records when (`disconnected_at`); they stay online and keep their tickets, but
 * routing gives them nothing new. A console opening again clears it. Once AGENT_OFFLINE_GRACE_S has passed the presence sweep sets them offline (their
 * unanswered tickets go back to the queue), after checking every node for a console of theirs.
 * Why: a page reload, a network blip or a gateway node stopping for an upgrade is followed by a reconnect within
 * seconds, and setting the agent offline for it handed their waiting customers to someone else each time.
 */
export async function markDisconnected(q: Queryable, agentId: string): Promise<void> {
  await q`update agents set disconnected_at = now() where id = ${agentId} and status <> 'offline' and disconnected_at is null`;
}

/** A console of the agent's opened on `nodeId` (null without Redis): their grace, if any, ends. */
export async function markConsoleOpened(q: Queryable, agentId: string, nodeId: string | null): Promise<void> {
  await q`
    update agents set disconnected_at = null, console_node = ${nodeId}
     where id = ${agentId} and (disconnected_at is not null or console_node is distinct from ${nodeId})`;
}

/** The nodes that hold the latest console of an agent still counted as there. */
export async function consoleNodes(q: Queryable): Promise<string[]> {
  const rows = await q<{ node: string }[]>`
    select distinct console_node as node from agents where console_node is not null and disconnected_at is null and status <> 'offline'`;
  return rows.map((r) => r.node);
}

/** A node died without a word: the grace starts for the agents whose latest console was there. */
export async function markNodeGone(q: Queryable, nodeId: string): Promise<number> {
  const rows = await q`
    update agents set disconnected_at = now()
     where console_node = ${nodeId} and disconnected_at is null and status <> 'offline' returning id`;
  return rows.length;
}

/** Returns whether the agent was in their grace (and is routable again). */
export async function markReconnected(q: Queryable, agentId: string): Promise<boolean> {
  const rows = await q`update agents set disconnected_at = null where id = ${agentId} and disconnected_at is not null returning id`;
  return rows.length > 0;
}

/** Agents whose consoles have all been closed for `graceMs`, oldest first. */
export async function goneLongerThan(q: Queryable, graceMs: number, limit = 100): Promise<string[]> {
  const rows = await q<{ id: string }[]>`
    select id from agents
     where disconnected_at <= now() - ${graceMs} * interval '1 millisecond' and status <> 'offline'
     order by disconnected_at limit ${limit}`;
  return rows.map((r) => r.id);
}
