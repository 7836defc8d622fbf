import type { Sql } from '../../core/db/client.ts';

export async function agentStatus(sql: Sql, agentId: string): Promise<string> {
  return (await sql<{ status: string }[]>`select status from agents where id = ${agentId}`)[0].status;
}

/** The agent's status once it is `want`, or whatever it is after `ms` (presence is updated after a disconnect settles). */
export async function agentStatusOnce(sql: Sql, agentId: string, want: string, ms = 5000): Promise<string> {
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
    if ((await agentStatus(sql, agentId)) === want) return want;
  }
  return agentStatus(sql, agentId);
}
