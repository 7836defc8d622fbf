import { setAgentStatus } from '../../core/agents/agents.ts';
import { pruneNodes } from '../../core/agents/nodes.ts';
import { goneLongerThan, markNodeGone, markReconnected, moveConsole, onSilentNodes } from '../../core/agents/presence.ts';
import type { Deps } from '../../core/deps.ts';
import { drainQueue } from '../../core/tickets/routing.ts';
import type { NodeHeartbeat } from '../node-heartbeat.ts';

/** What the sweep asks of the nodes (the realtime server, through the socket.io adapter and Redis). */
export interface Cluster {
  /** The agents of `agentIds` with a console open on any node, each with that node (null: a node that does not say). */
  findConsoles(agentIds: string[]): Promise<Map<string, string | null>>;
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
    const silent = await onSilentNodes(deps, self.goneAfterMs, self.id);
    // Asked first: a console open on another node makes that node theirs, and one still open on the silent node
    // leaves them be (it answers through Redis; its database link or its event loop is in trouble, and their
    // console's requests go through the load balancer to any node). Either way no grace, and no flicker of 已断开
    // on the team pages at each pass. Redis away: not known, and the grace starts.
    const open = await cluster.findConsoles(silent.map((a) => a.agentId)).catch(() => new Map<string, string | null>());
    const started = new Map<string, number>();
    for (const { agentId, node } of silent) {
      if (open.has(agentId)) {
        if (open.get(agentId) !== node) await moveConsole(deps, agentId, open.get(agentId) ?? null);
      } else if (await markNodeGone(deps, agentId, node)) started.set(node, (started.get(node) ?? 0) + 1);
    }
    for (const [node, agents] of started)
      deps.log.warn({ node, agents }, 'a gateway node stopped beating without closing its consoles: their agents’ offline grace starts');
    if (Date.now() - prunedAt >= PRUNE_EVERY_MS) {
      prunedAt = Date.now();
      await pruneNodes(deps.sql, PRUNE_AFTER_MS);
    }
  }

  return async function sweep(): Promise<number> {
    await noticeDeadNodes();
    const due = await goneLongerThan(deps, graceMs);
    const open = await cluster.findConsoles(due);
    let changed = 0;
    for (const agentId of due) {
      if (open.has(agentId)) {
        // that console's node is theirs from now on
        if (await markReconnected(deps, agentId, open.get(agentId) ?? null)) await drainQueue(deps, agentId);
      } else if (await setAgentStatus(deps, agentId, 'offline', { goneForMs: graceMs })) changed++;
    }
    return changed;
  };
}
