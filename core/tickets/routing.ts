import type { Tx } from '../db/client.ts';
import type { Deps } from '../deps.ts';
import { inTransaction, type DomainEvent } from '../events.ts';
import type { ConversationRow } from '../conversations/rows.ts';
import { policyOf } from '../agents/teams.ts';
import { recordTicketEvent } from './history.ts';
import type { TicketRow } from './rows.ts';

type Emit = (e: DomainEvent) => void;

/**
 * Assigns the ticket to an online agent of its team who is under capacity and has a console open (not in their
 * offline grace, core/agents/presence.ts): the agent who last served this customer if possible (they know the
 * story), else the least loaded (or longest idle, per team policy), ties to whoever has waited longest since their
 * last assignment.
 *
 * Capacity is guarded by the agent's row lock: an agent's load is re-counted only while holding it. Candidates
 * are first tried with SKIP LOCKED, so concurrent handoffs spread over free agents instead of queueing behind
 * one another; if every free candidate was busy being locked, a second pass waits for them, so a ticket is never
 * queued while capacity exists.
 */
export async function tryAssign(tx: Tx, emit: Emit, ticket: TicketRow): Promise<TicketRow | null> {
  if (!ticket.teamId || ticket.status !== 'new') return null;
  const [team] = await tx<{ routing: Record<string, unknown> }[]>`select routing from teams where id = ${ticket.teamId}`;
  const policy = policyOf({ routing: team?.routing ?? {} });
  const [last] = await tx<{ assigneeId: string }[]>`
    select assignee_id from tickets
     where customer_id = ${ticket.customerId} and assignee_id is not null and id <> ${ticket.id}
     order by created_at desc limit 1`;
  const sticky = policy.sticky ? (last?.assigneeId ?? null) : null;
  const byLoad = policy.strategy === 'least_loaded';
  // a snapshot ordering without locks; every choice is re-checked under the agent's lock below
  const candidates = await tx<{ id: string }[]>`
    select a.id from agents a join agent_teams t on t.agent_id = a.id,
           lateral (select count(*)::int as load from tickets k
                     where k.assignee_id = a.id and k.status in ('assigned', 'pending')) l
     where t.team_id = ${ticket.teamId} and a.status = 'online' and a.disabled_at is null and a.disconnected_at is null and l.load < a.max_concurrent
     order by (a.id = ${sticky}::uuid) desc nulls last, case when ${byLoad} then l.load else 0 end, a.last_assigned_at nulls first, a.id`;
  if (!candidates.length) return null;

  // Each attempt runs in a savepoint: a candidate found full is let go at once (rolling back releases its row
  // lock), so a router holds at most one agent lock while waiting for another and lock cycles cannot form.
  const claim = async (agentId: string, wait: boolean): Promise<boolean> => {
    await tx`savepoint route_pick`;
    const [agent] = wait
      ? await tx<{ maxConcurrent: number }[]>`
          select max_concurrent from agents where id = ${agentId} and status = 'online' and disabled_at is null and disconnected_at is null for update`
      : await tx<{ maxConcurrent: number }[]>`
          select max_concurrent from agents where id = ${agentId} and status = 'online' and disabled_at is null and disconnected_at is null for update skip locked`;
    const ok =
      !!agent &&
      (await tx<{ load: number }[]>`select count(*)::int as load from tickets where assignee_id = ${agentId} and status in ('assigned', 'pending')`)[0].load <
        agent.maxConcurrent;
    await (ok ? tx`release savepoint route_pick` : tx`rollback to savepoint route_pick`);
    return ok;
  };
  let pick: string | null = null;
  for (const c of candidates) if (await claim(c.id, false)) {
    pick = c.id;
    break;
  }
  if (!pick) for (const c of [...candidates].sort((a, b) => a.id.localeCompare(b.id))) if (await claim(c.id, true)) {
    pick = c.id;
    break;
  }
  if (!pick) return null;
  const [assigned] = await tx<TicketRow[]>`
    update tickets set status = 'assigned', assignee_id = ${pick}, assigned_at = now()
     where id = ${ticket.id} and status = 'new' returning *`;
  if (!assigned) return null;
  await tx`update agents set last_assigned_at = now() where id = ${pick}`;
  await recordTicketEvent(tx, assigned.id, 'assigned', null, { assigneeId: pick });
  const [conversation] = await tx<ConversationRow[]>`
    update conversations set status = 'open', assignee_id = ${pick} where id = ${ticket.conversationId} returning *`;
  emit({ type: 'ticket.assigned', ticket: assigned, conversation });
  emit({ type: 'conversation.updated', conversation });
  return assigned;
}

/**
 * When an agent comes online (or frees capacity), hands them queued tickets of their teams, highest priority and
 * then oldest first, up to their free capacity. Only this agent's row is locked (that is what guards their
 * capacity), and tickets are claimed with SKIP LOCKED, so many agents can drain one queue at the same time.
 */
export async function drainQueue(deps: Deps, agentId: string, batch = 10): Promise<number> {
  let assigned = 0;
  for (;;) {
    const n = await inTransaction(deps.sql, deps.bus, async (tx, emit) => {
      const [agent] = await tx<{ maxConcurrent: number; status: string; disabledAt: Date | null; disconnectedAt: Date | null }[]>`
        select max_concurrent, status, disabled_at, disconnected_at from agents where id = ${agentId} for update`;
      if (!agent || agent.status !== 'online' || agent.disabledAt || agent.disconnectedAt) return 0;
      const [{ load }] = await tx<{ load: number }[]>`
        select count(*)::int as load from tickets where assignee_id = ${agentId} and status in ('assigned', 'pending')`;
      const free = Math.min(batch, agent.maxConcurrent - load);
      if (free <= 0) return 0;
      const picked = await tx<TicketRow[]>`
        select k.* from tickets k join teams tm on tm.id = k.team_id
         where k.status = 'new' and k.team_id in (select team_id from agent_teams where agent_id = ${agentId})
         order by case when coalesce((tm.routing->>'priorityFirst')::boolean, true) then k.priority else 0 end desc, k.created_at
         limit ${free} for update of k skip locked`;
      for (const t of picked) {
        const [ticket] = await tx<TicketRow[]>`
          update tickets set status = 'assigned', assignee_id = ${agentId}, assigned_at = now() where id = ${t.id} returning *`;
        await recordTicketEvent(tx, ticket.id, 'assigned', null, { assigneeId: agentId, via: 'queue' });
        const [conversation] = await tx<ConversationRow[]>`
          update conversations set status = 'open', assignee_id = ${agentId} where id = ${ticket.conversationId} returning *`;
        emit({ type: 'ticket.assigned', ticket, conversation });
        emit({ type: 'conversation.updated', conversation });
      }
      if (picked.length) await tx`update agents set last_assigned_at = now() where id = ${agentId}`;
      return picked.length;
    });
    assigned += n;
    if (n === 0) return assigned;
  }
}
