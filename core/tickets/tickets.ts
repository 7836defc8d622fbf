import type { Tx } from '../db/client.ts';
import type { Deps } from '../deps.ts';
import { inTransaction, type DomainEvent } from '../events.ts';
import type { ConversationRow } from '../conversations/rows.ts';
import { lockConversation } from '../conversations/queries.ts';
import type { TicketRow } from './rows.ts';
import { addBusinessMinutes, type BusinessHours } from './business-hours.ts';
import { requestCsat } from './csat.ts';
import { scheduleRuns } from '../recovery/schedule.ts';
import { recordTicketEvent } from './history.ts';
import { computePriority } from './priority.ts';
import { drainQueue, tryAssign } from './routing.ts';

export interface HandoffInput {
  conversationId: string;
  category: string | null;
  reason: string;
}

interface TeamSla {
  /** the transaction's clock, read with the team: due times are exact offsets from created_at */
  now: Date;
  id: string;
  firstResponseMinutes: number;
  resolutionMinutes: number;
  businessHours: BusinessHours | null;
}

/** The team whose categories include this one, else the default team. */
async function teamFor(tx: Tx, category: string | null): Promise<TeamSla | null> {
  const [team] = await tx<TeamSla[]>`
    select now() as now, id, first_response_minutes, resolution_minutes, business_hours from teams
     order by (${category}::text is not null and ${category}::text = any(categories)) desc, is_default desc, created_at
     limit 1`;
  return team ?? null;
}

/**
 * Hands a conversation to a human: opens a ticket (one open ticket per conversation) and routes it.
 * Returns the ticket, assigned or queued.
 */
export async function handoff(deps: Deps, input: HandoffInput): Promise<TicketRow> {
  return inTransaction(deps.sql, deps.bus, (tx, emit) => handoffIn(tx, emit, input));
}

/** handoff inside the caller's transaction: the conversation's open ticket, or a new one, routed. */
export async function handoffIn(tx: Tx, emit: (e: DomainEvent) => void, input: HandoffInput): Promise<TicketRow> {
  const conversation = await lockConversation(tx, input.conversationId);
  const [open] = await tx<TicketRow[]>`
    select * from tickets where conversation_id = ${conversation.id} and status in ('new', 'assigned', 'pending')`;
  if (open) return open;
  return openTicket(tx, emit, conversation, input);
}

async function openTicket(
  tx: Tx,
  emit: (e: DomainEvent) => void,
  conversation: ConversationRow,
  input: HandoffInput,
): Promise<TicketRow> {
  const team = await teamFor(tx, input.category);
  const teamId = team?.id ?? null;
  const { priority, factors } = await computePriority(tx, { customerId: conversation.customerId, reason: input.reason });
  const now = team?.now ?? new Date();
  const [ticket] = await tx<TicketRow[]>`
    insert into tickets (conversation_id, customer_id, category, reason, team_id, priority, first_response_due_at, resolution_due_at)
    values (${conversation.id}, ${conversation.customerId}, ${input.category}, ${input.reason}, ${teamId}, ${priority},
            ${team ? addBusinessMinutes(now, team.firstResponseMinutes, team.businessHours) : null},
            ${team ? addBusinessMinutes(now, team.resolutionMinutes, team.businessHours) : null})
    returning *`;
  await recordTicketEvent(tx, ticket.id, 'opened', null, { reason: input.reason, category: input.category, priority, factors });
  if (input.reason === 'negative_sentiment')
    await scheduleRuns(tx, [{ type: 'unhappy', customerId: ticket.customerId, reasonKey: `angry:${ticket.id}`, context: { at: now.toISOString(), angry: true, ticketId: ticket.id, conversationId: conversation.id } }]);
  const [queued] = await tx<ConversationRow[]>`
    update conversations set status = 'queued', team_id = ${teamId}, bot_misses = 0 where id = ${conversation.id} returning *`;
  emit({ type: 'ticket.opened', ticket });
  const assigned = await tryAssign(tx, emit, ticket);
  if (assigned) return assigned;
  emit({ type: 'conversation.updated', conversation: queued });
  return ticket;
}

/** Solves the open ticket and closes the conversation; the customer's next message starts a new one with the bot. */
export async function resolveConversation(deps: Deps, conversationId: string, actorId?: string | null): Promise<ConversationRow> {
  const { conversation, solvedIds, freed } = await inTransaction(deps.sql, deps.bus, (tx, emit) => resolveConversationIn(tx, emit, conversationId, actorId));
  // a human solved it: ask the customer how it went
  for (const id of solvedIds) await requestCsat(deps, id, conversationId);
  // the agent has a free slot now: the queue moves at once
  if (freed && solvedIds.length) await drainQueue(deps, freed);
  return conversation;
}

/**
 * resolveConversation's writes in the caller's transaction; the caller follows up (asks for ratings of the
 * tickets solved, moves the freed agent's queue) after commit, if there is anything to follow up.
 */
export async function resolveConversationIn(
  tx: Tx,
  emit: (e: DomainEvent) => void,
  conversationId: string,
  actorId?: string | null,
): Promise<{ conversation: ConversationRow; solvedIds: string[]; freed: string | null }> {
  const before = await lockConversation(tx, conversationId);
  const solved = await tx<{ id: string }[]>`update tickets set status = 'solved', solved_at = now()
            where conversation_id = ${conversationId} and status in ('new', 'assigned', 'pending') returning id`;
  for (const t of solved) await recordTicketEvent(tx, t.id, 'solved', actorId ?? null);
  const [conversation] = await tx<ConversationRow[]>`
    update conversations set status = 'resolved' where id = ${conversationId} returning *`;
  emit({ type: 'conversation.updated', conversation });
  return { conversation, solvedIds: solved.map((t) => t.id), freed: before.assigneeId };
}
