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
    createdAt: iso(t.createdAt),
  };
}
