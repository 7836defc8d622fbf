import { setAgentStatus } from '../../core/agents/agents.ts';
import { consoleNodes, goneLongerThan, markNodeGone, markReconnected } from '../../core/agents/presence.ts';
import type { Deps } from '../../core/deps.ts';
import { drainQueue } from '../../core/tickets/routing.ts';

/** What the sweep asks of the nodes (the realtime server, through the socket.io adapter and Redis). */
export interface Cluster {
  /** Whether an agent has a console open on any node. */
  consoleOpen(agentId: string): Promise<boolean>;
  /** The nodes Redis hears now; null without Redis (one node, which cannot outlive itself). */
  liveNodes(): Promise<string[] | null>;
}

// A node missing from Redis this long is dead, not reconnecting: ioredis subscribes again within a second or two.
const GONE_AFTER_MS = 5000;

/**
 * The presence sweep (core/agents/presence.ts), one pass a call. Agents whose consoles have been closed for
 * `graceMs` go offline, unless a console of theirs is open somewhere (the last one closed on a node going down while
 * the agent had another on a node that stays). A node killed outright closes its consoles without a word: once it
 * has been gone from Redis for a few seconds, the grace starts for the agents whose latest console was there.
 * Every worker node runs it; the offline is a conditional update, so two nodes deciding the same agent at once set
 * them offline (and requeue their tickets) once.
 */
export function createPresenceSweep(deps: Deps, cluster: Cluster, graceMs: number): () => Promise<number> {
  const missingSince = new Map<string, number>();

  async function noticeDeadNodes(): Promise<void> {
    const live = await cluster.liveNodes();
    if (!live) return;
    const now = Date.now();
    const missing = (await consoleNodes(deps)).filter((node) => !live.includes(node));
    for (const node of missingSince.keys()) if (!missing.includes(node)) missingSince.delete(node);
    for (const node of missing) {
      const since = missingSince.get(node) ?? now;
      missingSince.set(node, since);
      if (now - since < GONE_AFTER_MS) continue;
      const agents = await markNodeGone(deps, node);
      deps.log.warn({ node, agents }, 'a gateway node is gone without closing its consoles: their agents’ offline grace starts');
      missingSince.delete(node);
    }
  }

  return async function sweep(): Promise<number> {
    await noticeDeadNodes();
    let changed = 0;
    for (const agentId of await goneLongerThan(deps, graceMs)) {
      if (await cluster.consoleOpen(agentId)) {
        if (await markReconnected(deps, agentId)) await drainQueue(deps, agentId);
      } else if (await setAgentStatus(deps, agentId, 'offline', { goneForMs: graceMs })) {
        changed++;
      }
    }
    return changed;
  };
}
