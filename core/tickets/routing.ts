import type { Tx } from '../db/client.ts';
import type { Deps } from '../deps.ts';
import { inTransaction, type DomainEvent } from '../events.ts';
import type { ConversationRow } from '../conversations/rows.ts';
import { recordTicketEvent } from './history.ts';
import type { TicketRow } from './rows.ts';

type Emit = (e: DomainEvent) => void;

/**
 * Assigns the ticket to an online agent of its team who is under capacity: the agent who last served this
 * customer if possible (they know the story), else the least loaded, ties to whoever has waited longest since
 * their last assignment. Locks the team's online agents (in id order, so two routers never deadlock) before
 * counting load, so concurrent routing can neither double-assign nor exceed capacity.
 */
export async function tryAssign(tx: Tx, emit: Emit, ticket: TicketRow): Promise<TicketRow | null> {
  if (!ticket.teamId || ticket.status !== 'new') return null;
  const locked = await tx<{ id: string }[]>`
    select a.id from agents a join agent_teams t on t.agent_id = a.id
     where t.team_id = ${ticket.teamId} and a.status = 'online' and a.disabled_at is null
     order by a.id for update of a`;
  if (locked.length === 0) return null;
  const [pick] = await tx<{ id: string }[]>`
    select a.id from agents a,
           lateral (select count(*)::int as load from tickets k
                     where k.assignee_id = a.id and k.status in ('assigned', 'pending')) l
     where a.id = any(${locked.map((r) => r.id)}::uuid[]) and l.load < a.max_concurrent
     order by (a.id = (select k.assignee_id from tickets k
                        where k.customer_id = ${ticket.customerId} and k.assignee_id is not null and k.id <> ${ticket.id}
                        order by k.created_at desc limit 1)) desc nulls last,
              l.load, a.last_assigned_at nulls first, a.id
     limit 1`;
  if (!pick) return null;
  const [assigned] = await tx<TicketRow[]>`
    update tickets set status = 'assigned', assignee_id = ${pick.id}, assigned_at = now()
     where id = ${ticket.id} and status = 'new' returning *`;
  if (!assigned) return null;
  await tx`update agents set last_assigned_at = now() where id = ${pick.id}`;
  await recordTicketEvent(tx, assigned.id, 'assigned', null, { assigneeId: pick.id });
  const [conversation] = await tx<ConversationRow[]>`
    update conversations set status = 'open', assignee_id = ${pick.id} where id = ${ticket.conversationId} returning *`;
  emit({ type: 'ticket.assigned', ticket: assigned, conversation });
  emit({ type: 'conversation.updated', conversation });
  return assigned;
}

/** When an agent comes online (or frees capacity), hand them queued tickets of their teams, oldest first. */
export async function drainQueue(deps: Deps, agentId: string): Promise<number> {
  let assigned = 0;
  for (;;) {
    const done = await inTransaction(deps.sql, deps.bus, async (tx, emit) => {
      const [next] = await tx<TicketRow[]>`
        select k.* from tickets k join agent_teams t on t.team_id = k.team_id and t.agent_id = ${agentId}
         where k.status = 'new'
         order by k.priority desc, k.created_at
         limit 1 for update of k skip locked`;
      if (!next) return true;
      const result = await tryAssign(tx, emit, next);
      return result === null;
    });
    if (done) return assigned;
    assigned++;
  }
}
