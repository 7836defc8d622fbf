import type { Sql } from '../db/client.ts';
import type { EventBus } from '../events.ts';
import { isUuid } from '../ids.ts';

const CHANNEL = 'huike_sessions_ended';

/**
 * `huike agent passwd` runs outside every node and has no socket.io adapter to close an agent's consoles with. It
 * tells the nodes through PostgreSQL NOTIFY instead; each node closes them as if the reset had been made on it.
 */
export async function announceSessionsEnded(sql: Sql, agentId: string): Promise<void> {
  await sql`select pg_notify(${CHANNEL}, ${agentId})`;
}

/** A node's side (PostgreSQL only: beside the embedded database no other process runs). */
export async function followSessionsEnded(sql: Sql, bus: EventBus): Promise<() => Promise<void>> {
  const { unlisten } = await sql.listen(CHANNEL, (agentId) => {
    // every node hears it and closes through the adapter: the same sockets closed twice is still closed
    if (isUuid(agentId)) bus.publish([{ type: 'agent.revoked', agentId, jti: null }]);
  });
  return unlisten;
}
