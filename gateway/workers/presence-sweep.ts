import { setAgentStatus } from '../../core/agents/agents.ts';
import { pruneNodes } from '../../core/agents/nodes.ts';
import { goneLongerThan, markDeadNodesGone, markReconnected } from '../../core/agents/presence.ts';
import type { Deps } from '../../core/deps.ts';
import { drainQueue } from '../../core/tickets/routing.ts';
import type { NodeHeartbeat } from '../node-heartbeat.ts';

/** What the sweep asks of the nodes (the realtime server, through the socket.io adapter and Redis). */
export interface Cluster {
  /** A console the agent has open on any node, and that node (null: a node that does not say); null when none is. */
  findConsole(agentId: string): Promise<{ node: string | null } | null>;
}

const PRUNE_EVERY_MS = 60 * 60_000;
const PRUNE_AFTER_MS = 24 * 60 * 60_000;

/**
 * The presence sweep (core/agents/presence.ts), one pass a call. Agents whose consoles have been closed for
 * `graceMs` go offline, unless a console of theirs is open somewhere (the last one closed on a node going down while
 * the agent had another on a node that stays). A node killed outright closes its consoles without a word: once it
 * has missed its heartbeats for a while, the grace starts for the agents whose latest console was there.
 * Every worker node runs it; the offline is a conditional update, so two nodes deciding the same agent at once set
 * them offline (and requeue their tickets) once.
 */
export function createPresenceSweep(deps: Deps, cluster: Cluster, graceMs: number, self: Pick<NodeHeartbeat, 'id' | 'goneAfterMs' | 'steadyForMs'>): () => Promise<number> {
  let prunedAt = 0;

  async function noticeDeadNodes(): Promise<void> {
    // a node that has missed beats itself cannot tell a dead node from its own trouble
    if (self.steadyForMs() < self.goneAfterMs) return;
    const gone = await markDeadNodesGone(deps, self.goneAfterMs, self.id);
    for (const node of new Set(gone.map((g) => g.node)))
      deps.log.warn({ node, agents: gone.filter((g) => g.node === node).length }, 'a gateway node stopped beating without closing its consoles: their agents’ offline grace starts');
    // an agent with another console open on a live node needs no grace
    for (const { agentId } of gone) await reconnectIfOpen(agentId);
    if (Date.now() - prunedAt >= PRUNE_EVERY_MS) {
      prunedAt = Date.now();
      await pruneNodes(deps.sql, PRUNE_AFTER_MS);
    }
  }

  async function reconnectIfOpen(agentId: string): Promise<boolean> {
    const open = await cluster.findConsole(agentId);
    if (!open) return false;
    // that console's node is theirs from now on: a dead node's agents are not found again on the next pass
    if (await markReconnected(deps, agentId, open.node)) await drainQueue(deps, agentId);
    return true;
  }

  return async function sweep(): Promise<number> {
    await noticeDeadNodes();
    let changed = 0;
    for (const agentId of await goneLongerThan(deps, graceMs)) {
      if (!(await reconnectIfOpen(agentId)) && (await setAgentStatus(deps, agentId, 'offline', { goneForMs: graceMs }))) changed++;
    }
    return changed;
  };
}
