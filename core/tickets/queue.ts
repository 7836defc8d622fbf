import type { Queryable } from '../db/client.ts';

/** Minutes an agent spends on a ticket, from the team's recent history (10 minutes until there is some). */
async function averageHandleMinutes(q: Queryable, teamId: string): Promise<number> {
  const [row] = await q<{ m: number | null }[]>`
    select avg(extract(epoch from (solved_at - assigned_at)) / 60)::float as m
      from (select solved_at, assigned_at from tickets
             where team_id = ${teamId} and solved_at is not null and assigned_at is not null
             order by solved_at desc limit 50) t`;
  return Math.max(1, Math.round(row?.m ?? 10));
}

/**
 * Where a queued ticket stands: how many are ahead of it (higher priority, or as high and older) and a wait
 * estimate from the team's recent handling time and how many of its agents are online.
 */
export async function queuePosition(q: Queryable, ticketId: string): Promise<{ ahead: number; waitMinutes: number } | null> {
  const [t] = await q<{ teamId: string | null; priority: number; createdAt: Date; status: string; priorityFirst: boolean }[]>`
    select k.team_id, case when coalesce((tm.routing->>'priorityFirst')::boolean, true) then k.priority else 0 end as priority,
           k.created_at, k.status, coalesce((tm.routing->>'priorityFirst')::boolean, true) as priority_first
      from tickets k left join teams tm on tm.id = k.team_id where k.id = ${ticketId}`;
  if (!t || t.status !== 'new' || !t.teamId) return null;
  const [{ ahead, online }] = await q<{ ahead: number; online: number }[]>`
    select (select count(*)::int from tickets
             where team_id = ${t.teamId} and status = 'new' and id <> ${ticketId}
               and ((case when ${t.priorityFirst} then priority else 0 end) > ${t.priority}
                    or ((case when ${t.priorityFirst} then priority else 0 end) = ${t.priority} and created_at < ${t.createdAt}))) as ahead,
           (select count(*)::int from agents a join agent_teams at on at.agent_id = a.id
             where at.team_id = ${t.teamId} and a.status = 'online' and a.disabled_at is null and a.disconnected_at is null) as online`;
  const per = await averageHandleMinutes(q, t.teamId);
  return { ahead, waitMinutes: Math.max(1, Math.ceil(((ahead + 1) * per) / Math.max(1, online))) };
}
