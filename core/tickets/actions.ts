import type { Actor } from '../agents/rows.ts';
import type { ConversationRow } from '../conversations/rows.ts';
import type { Deps } from '../deps.ts';
import { inTransaction } from '../events.ts';
import { AppError, badRequest, conflict, notFound } from '../errors.ts';
import { isUuid } from '../ids.ts';
import { recordTicketEvent } from './history.ts';
import type { TicketRow } from './rows.ts';
import { drainQueue, tryAssign } from './routing.ts';

const OPEN = ['new', 'assigned', 'pending'];

async function lockTicket(tx: Parameters<Parameters<typeof inTransaction>[2]>[0], id: string): Promise<TicketRow> {
  if (!isUuid(id)) throw notFound('工单');
  const [t] = await tx<TicketRow[]>`select * from tickets where id = ${id} for update`;
  if (!t) throw notFound('工单');
  return t;
}

/** Routes one queued ticket in its own transaction (after a re-queue or a transfer to a team). */
export async function routeTicket(deps: Deps, ticketId: string): Promise<TicketRow | null> {
  return inTransaction(deps.sql, deps.bus, async (tx, emit) => {
    const [t] = await tx<TicketRow[]>`select * from tickets where id = ${ticketId} and status = 'new' for update skip locked`;
    return t ? tryAssign(tx, emit, t) : null;
  });
}

/**
 * An agent going offline gives back the tickets nobody has answered yet: the customer is waiting for a first
 * reply, and another online agent can give it now. Tickets already in conversation stay with the agent.
 */
export async function requeueUnanswered(deps: Deps, agentId: string): Promise<TicketRow[]> {
  const requeued = await inTransaction(deps.sql, deps.bus, async (tx, emit) => {
    const rows = await tx<TicketRow[]>`
      update tickets set status = 'new', assignee_id = null, assigned_at = null
       where assignee_id = ${agentId} and status = 'assigned' and first_response_at is null
      returning *`;
    for (const t of rows) {
      await recordTicketEvent(tx, t.id, 'requeued', null, { from: agentId, why: 'agent_offline' });
      emit({ type: 'ticket.updated', ticket: t });
      const [c] = await tx<ConversationRow[]>`
        update conversations set status = 'queued', assignee_id = null where id = ${t.conversationId} returning *`;
      emit({ type: 'conversation.updated', conversation: c });
    }
    return rows;
  });
  for (const t of requeued) await routeTicket(deps, t.id);
  return requeued;
}

/**
 * Hands a ticket to another agent (even one at capacity: a supervisor's call) or to another team's queue, with a
 * note for whoever picks it up.
 */
export async function transferTicket(
  deps: Deps,
  input: { ticketId: string; actor: Actor; toAgentId?: string; toTeamId?: string; note?: string },
): Promise<TicketRow> {
  if (!input.toAgentId && !input.toTeamId) throw badRequest('invalid_transfer', '请选择转给哪位客服或哪个组');
  let previous: string | null = null;
  const moved = await inTransaction(deps.sql, deps.bus, async (tx, emit) => {
    const t = await lockTicket(tx, input.ticketId);
    previous = t.assigneeId;
    if (!OPEN.includes(t.status)) throw conflict('ticket_closed', '工单已解决或关闭，不能转接');
    let teamId = t.teamId;
    if (input.toTeamId) {
      const [team] = await tx<{ id: string }[]>`select id from teams where id = ${isUuid(input.toTeamId) ? input.toTeamId : null}`;
      if (!team) throw notFound('客服组');
      teamId = team.id;
    }
    let updated: TicketRow;
    let conversation: ConversationRow;
    if (input.toAgentId) {
      const [agent] = await tx<{ id: string }[]>`
        select id from agents where id = ${isUuid(input.toAgentId) ? input.toAgentId : null} and disabled_at is null`;
      if (!agent) throw notFound('客服');
      [updated] = await tx<TicketRow[]>`
        update tickets set assignee_id = ${agent.id}, team_id = ${teamId}, status = 'assigned', assigned_at = now()
         where id = ${t.id} returning *`;
      [conversation] = await tx<ConversationRow[]>`
        update conversations set assignee_id = ${agent.id}, team_id = ${teamId}, status = 'open' where id = ${t.conversationId} returning *`;
      emit({ type: 'ticket.assigned', ticket: updated, conversation });
    } else {
      [updated] = await tx<TicketRow[]>`
        update tickets set team_id = ${teamId}, assignee_id = null, assigned_at = null, status = 'new' where id = ${t.id} returning *`;
      [conversation] = await tx<ConversationRow[]>`
        update conversations set team_id = ${teamId}, assignee_id = null, status = 'queued' where id = ${t.conversationId} returning *`;
    }
    emit({ type: 'conversation.updated', conversation });
    emit({ type: 'ticket.updated', ticket: updated });
    await recordTicketEvent(tx, t.id, 'transferred', input.actor.id, { fromAgentId: t.assigneeId, toAgentId: input.toAgentId ?? null, fromTeamId: t.teamId, toTeamId: teamId });
    if (input.note?.trim()) await insertNote(tx, t.id, input.actor.id, input.note.trim(), emit);
    return updated;
  });
  // the agent who handed it on has a free slot now
  if (previous && previous !== moved.assigneeId) await drainQueue(deps, previous);
  if (moved.status === 'new') return (await routeTicket(deps, moved.id)) ?? moved;
  return moved;
}

/** Status an agent sets: waiting for the customer, solved, closed. */
export async function setTicketStatus(deps: Deps, input: { ticketId: string; actor: Actor; status: 'pending' | 'assigned' | 'solved' | 'closed' }): Promise<TicketRow> {
  const updated = await inTransaction(deps.sql, deps.bus, async (tx, emit) => {
    const t = await lockTicket(tx, input.ticketId);
    if (t.status === 'closed') throw conflict('ticket_closed', '工单已关闭');
    if (input.status === 'pending' || input.status === 'assigned') {
      if (!t.assigneeId) throw conflict('not_assigned', '工单还没有分配给客服');
    }
    const [u] = await tx<TicketRow[]>`
      update tickets set status = ${input.status}, solved_at = case when ${input.status} in ('solved', 'closed') then coalesce(solved_at, now()) else solved_at end
       where id = ${t.id} returning *`;
    await recordTicketEvent(tx, t.id, 'status', input.actor.id, { from: t.status, to: input.status });
    emit({ type: 'ticket.updated', ticket: u });
    return u;
  });
  // solving frees a slot: the queue moves at once
  if (updated.assigneeId && (input.status === 'solved' || input.status === 'closed')) await drainQueue(deps, updated.assigneeId);
  return updated;
}

type Tx = Parameters<Parameters<typeof inTransaction>[2]>[0];
type Emit = Parameters<Parameters<typeof inTransaction>[2]>[1];

async function insertNote(tx: Tx, ticketId: string, authorId: string, text: string, emit: Emit) {
  // @小美 or @xiaomei@huike.demo: names or emails of colleagues
  const handles = [...text.matchAll(/@([\p{L}\p{N}_.\-]+(?:@[\w.\-]+)?)/gu)].map((m) => m[1]);
  const mentioned = handles.length
    ? await tx<{ id: string }[]>`select id from agents where (name = any(${handles}::text[]) or email = any(${handles}::text[])) and disabled_at is null`
    : [];
  const [note] = await tx<{ id: number; createdAt: Date }[]>`
    insert into ticket_notes (ticket_id, author_id, text, mentions) values (${ticketId}, ${authorId}, ${text}, ${mentioned.map((m) => m.id)}::uuid[])
    returning id, created_at`;
  await recordTicketEvent(tx, ticketId, 'note', authorId, { noteId: note.id, mentions: mentioned.map((m) => m.id) });
  emit({ type: 'ticket.note', ticketId, authorId, text, mentions: mentioned.map((m) => m.id) });
  return note;
}

/** An internal note on the ticket; @mentions notify the colleagues named. */
export async function addNote(deps: Deps, input: { ticketId: string; actor: Actor; text: string }) {
  const text = input.text.trim();
  if (!text || text.length > 2000) throw badRequest('invalid_note', '备注不能为空，且不超过 2000 字');
  return inTransaction(deps.sql, deps.bus, async (tx, emit) => {
    const t = await lockTicket(tx, input.ticketId);
    return insertNote(tx, t.id, input.actor.id, text, emit);
  });
}

/**
 * An agent takes a waiting ticket from their team's queue (接待). Within their capacity, so picking by hand
 * cannot overload anyone; a supervisor may take any.
 */
export async function claimTicket(deps: Deps, input: { ticketId: string; actor: Actor }): Promise<TicketRow> {
  return inTransaction(deps.sql, deps.bus, async (tx, emit) => {
    const [agent] = await tx<{ maxConcurrent: number }[]>`select max_concurrent from agents where id = ${input.actor.id} for update`;
    const t = await lockTicket(tx, input.ticketId);
    if (t.status !== 'new') throw conflict('ticket_taken', t.assigneeId === input.actor.id ? '该工单已由您接待' : '该工单已被接待或已结束');
    const supervisor = input.actor.role !== 'agent';
    if (!supervisor && !(t.teamId && input.actor.teamIds.includes(t.teamId))) throw new AppError(403, 'not_your_team', '只能接待本组排队中的工单');
    const [{ load }] = await tx<{ load: number }[]>`select count(*)::int as load from tickets where assignee_id = ${input.actor.id} and status in ('assigned', 'pending')`;
    if (!supervisor && load >= agent.maxConcurrent) throw conflict('at_capacity', `您已在接待 ${load} 个会话，达到上限 ${agent.maxConcurrent}`);
    const [updated] = await tx<TicketRow[]>`
      update tickets set assignee_id = ${input.actor.id}, status = 'assigned', assigned_at = now() where id = ${t.id} returning *`;
    const [conversation] = await tx<ConversationRow[]>`
      update conversations set assignee_id = ${input.actor.id}, status = 'open', snoozed_until = null where id = ${t.conversationId} returning *`;
    await tx`update agents set last_assigned_at = now() where id = ${input.actor.id}`;
    await recordTicketEvent(tx, t.id, 'claimed', input.actor.id, {});
    emit({ type: 'ticket.assigned', ticket: updated, conversation });
    emit({ type: 'ticket.updated', ticket: updated });
    emit({ type: 'conversation.updated', conversation });
    return updated;
  });
}

/** 稍后处理: the conversation leaves the inbox's active list until `until`, or until the customer writes. */
export async function snoozeConversation(deps: Deps, conversationId: string, until: Date | null): Promise<ConversationRow> {
  return inTransaction(deps.sql, deps.bus, async (tx, emit) => {
    const [c] = await tx<ConversationRow[]>`update conversations set snoozed_until = ${until} where id = ${conversationId} returning *`;
    if (!c) throw notFound('会话');
    emit({ type: 'conversation.updated', conversation: c });
    return c;
  });
}
