import { iso } from '../time.ts';
import type { TicketRow } from './rows.ts';


export function presentTicket(t: TicketRow) {
  return {
    id: t.id,
    number: t.number,
    conversationId: t.conversationId,
    customerId: t.customerId,
    category: t.category,
    reason: t.reason,
    priority: t.priority,
    status: t.status,
    teamId: t.teamId,
    assigneeId: t.assigneeId,
    assignedAt: iso(t.assignedAt),
    firstResponseAt: iso(t.firstResponseAt),
    solvedAt: iso(t.solvedAt),
    sla: {
      firstResponseDueAt: iso(t.firstResponseDueAt),
      resolutionDueAt: iso(t.resolutionDueAt),
      warnedAt: iso(t.slaWarnedAt),
      escalatedAt: iso(t.escalatedAt),
    },
    csatScore: t.csatScore ?? null,
    createdAt: iso(t.createdAt),
  };
}

export function presentTicketEvent(e: { id: number; actorId: string | null; type: string; data: Record<string, unknown>; createdAt: Date }) {
  return { id: e.id, actorId: e.actorId, type: e.type, data: e.data, at: iso(e.createdAt) };
}

export function presentNote(n: { id: number; authorId: string; text: string; mentions: string[]; createdAt: Date }) {
  return { id: n.id, authorId: n.authorId, text: n.text, mentions: n.mentions, at: iso(n.createdAt) };
}
