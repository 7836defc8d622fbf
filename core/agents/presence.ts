import type { Deps } from '../deps.ts';

type PresenceDeps = Pick<Deps, 'sql' | 'bus'>;
interface Changed {
  id: string;
  status: string;
  disconnectedAt: Date | null;
}

/**
 * Whether an agent is there is decided in two steps (a logout skips them: gateway/realtime/agent-namespace.ts).
 * Their last console closing only records when (`disconnected_at`); they stay online and keep their tickets, but
 * routing gives them nothing new. A console opening again clears it. Once AGENT_OFFLINE_GRACE_S has passed the presence sweep sets them offline (their
 * unanswered tickets go back to the queue), after checking every node for a console of theirs.
 * Why: a page reload, a network blip or a gateway node stopping for an upgrade is followed by a reconnect within
 * seconds, and setting the agent offline for it handed their waiting customers to someone else each time.
 * Each change is published (`agent.status`, with `disconnectedAt`) once its statement has committed, so a
 * supervisor's team page follows the grace as it starts and ends.
 */
export async function markDisconnected(deps: PresenceDeps, agentId: string): Promise<void> {
  announce(deps, await deps.sql<Changed[]>`
    update agents set disconnected_at = now() where id = ${agentId} and status <> 'offline' and disconnected_at is null
    returning id, status, disconnected_at`);
}

/** A console of the agent's opened on node `nodeId` (gateway/node-heartbeat.ts): their grace, if any, ends. */
export async function markConsoleOpened(deps: PresenceDeps, agentId: string, nodeId: string): Promise<void> {
  // `was`: the row before the update (RETURNING sees the new one); only the grace ending is news to anyone. The row
  // is locked only when there is something to change: 1,000 tabs of one agent connecting do not queue on it
  const rows = await deps.sql<(Changed & { was: Date | null })[]>`
    with was as (
      select id, disconnected_at from agents
       where id = ${agentId} and (disconnected_at is not null or console_node is distinct from ${nodeId}) for update)
    update agents a set disconnected_at = null, console_node = ${nodeId}
      from was
     where a.id = was.id
    returning a.id, a.status, a.disconnected_at, was.disconnected_at as was`;
  announce(deps, rows.filter((r) => r.was !== null));
}

/**
 * Agents whose latest console is on a node that died without a word (killed, crashed, frozen), or at least fell
 * silent: no heartbeat for `goneAfterMs`. A node that never beat (an id written before the heartbeat existed) is
 * not judged, nor is the `judge` itself. The sweep asks the nodes about each before it starts their grace.
 */
export async function onSilentNodes(deps: PresenceDeps, goneAfterMs: number, judge: string, limit = 1000): Promise<{ agentId: string; node: string }[]> {
  return deps.sql<{ agentId: string; node: string }[]>`
    select a.id as agent_id, a.console_node as node
      from agents a join gateway_nodes n on n.id = a.console_node
     where n.id <> ${judge} and n.seen_at < now() - ${goneAfterMs} * interval '1 millisecond'
       and a.disconnected_at is null and a.status <> 'offline'
     limit ${limit}`;
}

/** No console of theirs anywhere, and their latest was on `node`, now silent: their grace starts. */
export async function markNodeGone(deps: PresenceDeps, agentId: string, node: string): Promise<boolean> {
  const rows = await deps.sql<Changed[]>`
    update agents set disconnected_at = now()
     where id = ${agentId} and console_node = ${node} and disconnected_at is null and status <> 'offline'
    returning id, status, disconnected_at`;
  announce(deps, rows);
  return rows.length > 0;
}

/** A console of theirs is open on `node` (null: a node that does not say): theirs from now on. No news to anyone. */
export async function moveConsole(deps: PresenceDeps, agentId: string, node: string | null): Promise<void> {
  await deps.sql`update agents set console_node = ${node} where id = ${agentId}`;
}

/**
 * A console of theirs was found open on `node` (null: a node that does not say, and is not judged): returns whether
 * the agent was in their grace (and is routable again).
 */
export async function markReconnected(deps: PresenceDeps, agentId: string, node: string | null): Promise<boolean> {
  const rows = await deps.sql<Changed[]>`
    update agents set disconnected_at = null, console_node = ${node}
     where id = ${agentId} and disconnected_at is not null returning id, status, disconnected_at`;
  announce(deps, rows);
  return rows.length > 0;
}

/** Agents whose consoles have all been closed for `graceMs`, oldest first. */
export async function goneLongerThan(deps: PresenceDeps, graceMs: number, limit = 100): Promise<string[]> {
  const rows = await deps.sql<{ id: string }[]>`
    select id from agents
     where disconnected_at <= now() - ${graceMs} * interval '1 millisecond' and status <> 'offline'
     order by disconnected_at limit ${limit}`;
  return rows.map((r) => r.id);
}

function announce(deps: PresenceDeps, rows: readonly Changed[]): void {
  deps.bus.publish(rows.map((r) => ({ type: 'agent.status', agentId: r.id, status: r.status, disconnectedAt: r.disconnectedAt })));
}
