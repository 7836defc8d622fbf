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
