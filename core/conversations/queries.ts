import type { Queryable, Tx } from '../db/client.ts';
import { notFound } from '../errors.ts';
import { isUuid } from '../ids.ts';
import type { ConversationRow, MessageRow } from './rows.ts';

export async function getConversation(q: Queryable, id: string): Promise<ConversationRow> {
  if (!isUuid(id)) throw notFound('会话');
  const [row] = await q<ConversationRow[]>`select * from conversations where id = ${id}`;
  if (!row) throw notFound('会话');
  return row;
}

/** Conversations by id, in one query (unknown ids are left out). */
export async function getConversations(q: Queryable, ids: string[]): Promise<Map<string, ConversationRow>> {
  const rows = await q<ConversationRow[]>`select * from conversations where id = any(${ids.filter(isUuid)}::uuid[])`;
  return new Map(rows.map((r) => [r.id, r]));
}

export async function lockConversation(tx: Tx, id: string): Promise<ConversationRow> {
  if (!isUuid(id)) throw notFound('会话');
  const [row] = await tx<ConversationRow[]>`select * from conversations where id = ${id} for update`;
  if (!row) throw notFound('会话');
  return row;
}

export async function listMessages(q: Queryable, conversationId: string, afterSeq = 0, limit = 200): Promise<MessageRow[]> {
  return q<MessageRow[]>`
    select * from messages where conversation_id = ${conversationId} and seq > ${afterSeq}
     order by seq limit ${limit}`;
}

/** The `limit` messages just before `beforeSeq`, oldest first: scrolling up through a long history. */
export async function listMessagesBefore(q: Queryable, conversationId: string, beforeSeq: number, limit = 100): Promise<MessageRow[]> {
  const rows = await q<MessageRow[]>`
    select * from messages where conversation_id = ${conversationId} and seq < ${beforeSeq}
     order by seq desc limit ${limit}`;
  return rows.reverse();
}

export interface ConversationListItem extends ConversationRow {
  customerName: string;
  lastText: string | null;
  /** the open ticket, for SLA badges and queue order in the inbox */
  ticket: { id: string; status: string; category: string | null; number: number; priority: number; firstResponseDueAt: string | null; firstResponseAt: string | null; escalatedAt: string | null } | null;
}

// the conversation's open ticket as a small JSON object (json keys stay as written: no camel transform)
const OPEN_TICKET = `(select json_build_object('id', k.id, 'status', k.status, 'category', k.category, 'number', k.number, 'priority', k.priority, 'firstResponseDueAt', k.first_response_due_at,
                              'firstResponseAt', k.first_response_at, 'escalatedAt', k.escalated_at)
                       from tickets k where k.conversation_id = c.id and k.status in ('new', 'assigned', 'pending') limit 1) as ticket`;

export interface ConversationFilter {
  /** Only conversations visible to these teams or this assignee; omitted = all (supervisors). */
  scope?: { agentId: string; teamIds: string[] };
  status?: ConversationRow['status'];
  /** only conversations whose ticket notes @mention this agent (the @我 tab) */
  mentionedAgentId?: string;
  limit?: number;
}

/** One conversation as the inbox shows it (customer name, last text); null if it does not exist. */
export async function getConversationListItem(q: Queryable, id: string): Promise<ConversationListItem | null> {
  return (await getConversationListItems(q, [id])).get(id) ?? null;
}

/** What the inbox shows of a conversation beyond its own row and its last message. */
export type InboxExtras = Pick<ConversationListItem, 'customerName' | 'ticket'>;

/**
 * The inbox extras of conversations, by id: sent inside the transaction that wrote their new messages, behind
 * its writes and with its COMMIT, it costs no round trip of its own, and what it reads is the state those
 * messages were committed in (ticket changes update the conversation row, locked by then).
 */
export function inboxExtras(tx: Tx, ids: string[]): Promise<(InboxExtras & { id: string })[]> {
  return tx<(InboxExtras & { id: string })[]>`
    select c.id, cu.display_name as customer_name, ${tx.unsafe(OPEN_TICKET)}
      from conversations c join customers cu on cu.id = c.customer_id
     where c.id = any(${ids}::uuid[])`.execute();
}

/** Several conversations as the inbox shows them, by id, in one query. */
export async function getConversationListItems(q: Queryable, ids: string[]): Promise<Map<string, ConversationListItem>> {
  const rows = await q<ConversationListItem[]>`
    select c.*, cu.display_name as customer_name,
           (select m.text from messages m where m.conversation_id = c.id order by m.seq desc limit 1) as last_text,
           ${q.unsafe(OPEN_TICKET)}
      from conversations c join customers cu on cu.id = c.customer_id
     where c.id = any(${ids}::uuid[])`;
  return new Map(rows.map((r) => [r.id, r]));
}

export async function listConversations(q: Queryable, f: ConversationFilter): Promise<ConversationListItem[]> {
  const scope = f.scope;
  return q<ConversationListItem[]>`
    select c.*, cu.display_name as customer_name,
           (select m.text from messages m where m.conversation_id = c.id order by m.seq desc limit 1) as last_text,
           ${q.unsafe(OPEN_TICKET)}
      from conversations c join customers cu on cu.id = c.customer_id
     where true
       ${f.status ? q`and c.status = ${f.status}` : q``}
       ${f.mentionedAgentId ? q`and exists (select 1 from tickets k join ticket_notes n on n.ticket_id = k.id where k.conversation_id = c.id and ${f.mentionedAgentId}::uuid = any(n.mentions))` : q``}
       ${scope ? q`and (c.assignee_id = ${scope.agentId} or c.team_id = any(${scope.teamIds}::uuid[]))` : q``}
     order by c.last_message_at desc nulls last
     limit ${f.limit ?? 100}`;
}
