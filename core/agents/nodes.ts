import type { Queryable } from '../db/client.ts';

/** This node is alive (its heartbeat, gateway/node-heartbeat.ts). */
export async function beat(q: Queryable, node: { id: string; host: string; pid: number }): Promise<void> {
  await q`
    insert into gateway_nodes (id, host, pid) values (${node.id}, ${node.host}, ${node.pid})
    on conflict (id) do update set seen_at = now()`;
}

/** A node stopping on purpose, its consoles' agents told as they closed: silent from now on, but not lost. */
export async function markNodeStopped(q: Queryable, id: string): Promise<void> {
  await q`update gateway_nodes set stopped_at = now() where id = ${id}`;
}

/** The fleet for /metrics: nodes beating now, and nodes that fell silent in the last hour without stopping. */
export async function countNodes(q: Queryable, goneAfterMs: number): Promise<{ alive: number; lostLastHour: number }> {
  const [row] = await q<{ alive: number; lostLastHour: number }[]>`
    select count(*) filter (where seen_at >= now() - ${goneAfterMs} * interval '1 millisecond' and stopped_at is null)::int as alive,
           count(*) filter (where seen_at < now() - ${goneAfterMs} * interval '1 millisecond' and seen_at >= now() - interval '1 hour'
                              and stopped_at is null)::int as lost_last_hour
      from gateway_nodes`;
  return row;
}

/** Dead nodes long gone that no agent still points at: the table stays as small as the fleet. */
export async function pruneNodes(q: Queryable, olderThanMs: number): Promise<number> {
  const rows = await q`
    delete from gateway_nodes n
     where seen_at < now() - ${olderThanMs} * interval '1 millisecond'
       and not exists (select 1 from agents a where a.console_node = n.id and a.disconnected_at is null and a.status <> 'offline')
    returning id`;
  return rows.length;
}

export type NodeState = 'alive' | 'stopped' | 'lost';
export interface NodeRow {
  id: string;
  host: string;
  pid: number;
  startedAt: Date;
  seenAt: Date;
  state: NodeState;
  /** agents counted as there (online or away, a console open) whose latest console is on this node */
  agents: number;
}

/** Every node the table knows, for `huike nodes`: beating now first, then the lost, then the stopped. */
export async function listNodes(q: Queryable, goneAfterMs: number): Promise<NodeRow[]> {
  return q<NodeRow[]>`
    select n.id, n.host, n.pid, n.started_at, n.seen_at,
           case when n.stopped_at is not null then 'stopped'
                when n.seen_at >= now() - ${goneAfterMs} * interval '1 millisecond' then 'alive' else 'lost' end as state,
           (select count(*)::int from agents a
             where a.console_node = n.id and a.disconnected_at is null and a.status <> 'offline') as agents
      from gateway_nodes n
     order by case when n.stopped_at is not null then 2
                   when n.seen_at >= now() - ${goneAfterMs} * interval '1 millisecond' then 0 else 1 end, n.seen_at desc`;
}
