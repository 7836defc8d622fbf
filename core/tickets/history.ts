import type { Queryable } from '../db/client.ts';

/** Appends to a ticket's history. Every change goes through here, so the history is the ticket's story. */
export async function recordTicketEvent(q: Queryable, ticketId: string, type: string, actorId: string | null, data: Record<string, unknown> = {}): Promise<void> {
  await q`insert into ticket_events (ticket_id, actor_id, type, data) values (${ticketId}, ${actorId}, ${type}, ${q.json(data as never)})`;
}

export interface TicketEventRow {
  id: number;
  ticketId: string;
  actorId: string | null;
  type: string;
  data: Record<string, unknown>;
  createdAt: Date;
}

export async function ticketHistory(q: Queryable, ticketId: string): Promise<TicketEventRow[]> {
  return q<TicketEventRow[]>`select * from ticket_events where ticket_id = ${ticketId} order by id`;
}
