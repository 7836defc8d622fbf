import type { Queryable } from '../db/client.ts';
import { conflict, notFound } from '../errors.ts';

export interface UnansweredRow {
  id: number;
  conversationId: string | null;
  messageId: string | null;
  text: string;
  decision: 'miss' | 'handoff';
  reason: string | null;
  candidates: { id: string; question: string; score: number }[];
  status: 'open' | 'added' | 'ignored';
  resolvedEntryId: string | null;
  createdAt: Date;
}

export async function logUnanswered(
  q: Queryable,
  u: { conversationId: string; messageId: string; text: string; decision: 'miss' | 'handoff'; reason?: string; candidates: UnansweredRow['candidates'] },
): Promise<void> {
  await q`
    insert into kb_unanswered (conversation_id, message_id, text, decision, reason, candidates)
    values (${u.conversationId}, ${u.messageId}, ${u.text}, ${u.decision}, ${u.reason ?? null}, ${q.json(u.candidates as never)})`;
}

export async function listUnanswered(q: Queryable, status: UnansweredRow['status'] = 'open', limit = 100): Promise<UnansweredRow[]> {
  return q<UnansweredRow[]>`select * from kb_unanswered where status = ${status} order by created_at desc limit ${limit}`;
}

/** Marks a logged question handled; the caller has already changed the KB. */
export async function closeUnanswered(q: Queryable, id: number, status: 'added' | 'ignored', entryId: string | null, actorId: string): Promise<UnansweredRow> {
  const [row] = await q<UnansweredRow[]>`select * from kb_unanswered where id = ${id}`;
  if (!row) throw notFound('未解决问题');
  if (row.status !== 'open') throw conflict('already_handled', '这个问题已经处理过了');
  const [done] = await q<UnansweredRow[]>`
    update kb_unanswered set status = ${status}, resolved_entry_id = ${entryId}, resolved_by = ${actorId}, resolved_at = now()
     where id = ${id} returning *`;
  return done;
}
