import type { Queryable } from '../db/client.ts';

/** This node is alive (its heartbeat, gateway/node-heartbeat.ts). */
export async function beat(q: Queryable, node: { id: string; host: string; pid: number }): Promise<void> {
  await q`
    insert into gateway_nodes (id, host, pid) values (${node.id}, ${node.host}, ${node.pid})
    on conflict (id) do update set seen_at = now()`;
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
