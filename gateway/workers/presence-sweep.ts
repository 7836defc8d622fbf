import { setAgentStatus } from '../../core/agents/agents.ts';
import { goneLongerThan, markReconnected } from '../../core/agents/presence.ts';
import type { Deps } from '../../core/deps.ts';
import { drainQueue } from '../../core/tickets/routing.ts';

/** Whether an agent has a console open on any node (the socket.io adapter asks them all). */
export type ConsoleOpen = (agentId: string) => Promise<boolean>;

/**
 * One pass of the presence sweep (core/agents/presence.ts): agents whose consoles have been closed for `graceMs`
 * go offline, unless a console of theirs is open somewhere (the last one closed on a node going down while the
 * agent had another on a node that stays). Every worker node runs it; the offline is a conditional update, so two
 * nodes deciding the same agent at once set them offline (and requeue their tickets) once.
 */
export async function sweepPresence(deps: Deps, consoleOpen: ConsoleOpen, graceMs: number): Promise<number> {
  let changed = 0;
  for (const agentId of await goneLongerThan(deps.sql, graceMs)) {
    if (await consoleOpen(agentId)) {
      if (await markReconnected(deps.sql, agentId)) await drainQueue(deps, agentId);
    } else if (await setAgentStatus(deps, agentId, 'offline', { goneForMs: graceMs })) {
      changed++;
    }
  }
  return changed;
}
