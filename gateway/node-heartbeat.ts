import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { beat, countNodes, markNodeStopped } from '../core/agents/nodes.ts';
import type { Deps } from '../core/deps.ts';
import { settleWithin, within } from '../core/time-limit.ts';
import { databaseGauges } from './db-gauges.ts';
import type { Metrics } from './metrics.ts';

/**
 * A node silent this long is dead (five missed beats). A busy or briefly stalled node beats late, not never; the
 * grace that follows (AGENT_OFFLINE_GRACE_S) gives a console still open somewhere its chance to be found.
 */
export const NODE_GONE_AFTER_MS = 10_000;

export interface NodeHeartbeat {
  /** This process among the gateway nodes (agents.console_node). */
  id: string;
  /** A node silent this long is dead to the others. */
  goneAfterMs: number;
  /**
   * How long this node has been beating without a miss (0 while its beats fail). Only a node that has beaten for
   * `goneAfterMs` may call another dead: after a database outage every node's last beat is old, and the first
   * node back must give the others time to beat again.
   */
  steadyForMs(): number;
  /** No more beats, and the row says the node stopped on purpose (bounded: the database may be away). */
  stop(): Promise<void>;
}

/**
 * This node's heartbeat in the database (gateway_nodes, core/agents/nodes.ts), every fifth of `goneAfterMs` (at
 * most 2 s). The first beat lands before this resolves, so the node is known before any console names it.
 */
export async function startHeartbeat(deps: Pick<Deps, 'sql' | 'log'>, goneAfterMs: number): Promise<NodeHeartbeat> {
  const self = { id: randomUUID(), host: hostname(), pid: process.pid };
  const everyMs = Math.min(2000, Math.max(50, Math.floor(goneAfterMs / 5)));
  let steadySince: number | null = null;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const once = async () => {
    try {
      // bounded: with the database away a beat waits for it, and a late beat is a missed one
      await within(beat(deps.sql, self), everyMs * 2, 'heartbeat');
      steadySince ??= Date.now();
    } catch (err) {
      if (steadySince !== null) deps.log.warn({ err: (err as Error).message }, 'node heartbeat missed: this node judges no other until it beats steadily again');
      steadySince = null;
    }
  };
  // unref: the beat never keeps a process alive that has nothing else to do (a start that failed after it)
  const next = () => {
    if (!stopped) timer = setTimeout(loop, everyMs).unref();
  };
  const loop = async () => {
    await once();
    next();
  };
  await once();
  next();
  deps.log.info({ node: self.id }, 'gateway node registered');
  return {
    id: self.id,
    goneAfterMs,
    steadyForMs: () => (steadySince === null ? 0 : Date.now() - steadySince),
    async stop() {
      // the row stays, and the sweep judges it like any silent node: if a closed console's bookkeeping was lost
      // with the database, its agent's grace still starts
      stopped = true;
      clearTimeout(timer);
      await settleWithin(markNodeStopped(deps.sql, self.id), 2000);
    },
  };
}

/**
 * The fleet on /metrics: `huike_gateway_nodes_alive` (beating now; alert when it falls below the nodes you run) and
 * `huike_gateway_nodes_lost_last_hour` (fell silent without stopping: killed, crashed, frozen).
 */
export function watchNodes(metrics: Metrics, deps: Pick<Deps, 'sql'>, goneAfterMs: number, onError: (err: unknown) => void): void {
  databaseGauges(metrics, () => countNodes(deps.sql, goneAfterMs), onError, [
    { name: 'huike_gateway_nodes_alive', help: 'Gateway nodes whose heartbeat is current', pick: (r) => r.alive },
    { name: 'huike_gateway_nodes_lost_last_hour', help: 'Gateway nodes that fell silent in the last hour without stopping', pick: (r) => r.lostLastHour },
  ]);
}
