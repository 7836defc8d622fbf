export type TicketStatus = 'new' | 'assigned' | 'pending' | 'solved' | 'closed';

export interface TicketRow {
  id: string;
  number: number;
  conversationId: string;
  customerId: string;
  category: string | null;
  reason: string;
  priority: number;
  status: TicketStatus;
  teamId: string | null;
  assigneeId: string | null;
  assignedAt: Date | null;
  firstResponseAt: Date | null;
  solvedAt: Date | null;
  firstResponseDueAt: Date | null;
  resolutionDueAt: Date | null;
  slaWarnedAt: Date | null;
  escalatedAt: Date | null;
  csatScore?: number | null;
  csatRequestedAt?: Date | null;
  createdAt: Date;
}
