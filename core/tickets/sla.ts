import type { Deps } from '../deps.ts';
import { inTransaction } from '../events.ts';
import { recordTicketEvent } from './history.ts';
import type { TicketRow } from './rows.ts';

/** Escalation bumps priority so the ticket moves up every queue it is in. */
export const ESCALATION_PRIORITY = 20;

/**
 * One pass of the SLA clock. A ticket still without a first reply when 80% of its window has gone gets a
 * warning (to its agent and the supervisors); one past its first-response or resolution due time is escalated
 * once: priority up, supervisors told, history written. Rows are claimed with SKIP LOCKED so every node can run it.
 */
export async function checkSla(deps: Deps): Promise<number> {
  return inTransaction(deps.sql, deps.bus, async (tx, emit) => {
    const warned = await tx<TicketRow[]>`
      update tickets set sla_warned_at = now()
       where id in (select id from tickets
                     where status in ('new', 'assigned') and first_response_at is null and sla_warned_at is null
                       and first_response_due_at is not null
                       and now() >= first_response_due_at - (first_response_due_at - created_at) * 0.2
                     for update skip locked)
      returning *`;
    for (const t of warned) {
      await recordTicketEvent(tx, t.id, 'sla_warning', null, { due: t.firstResponseDueAt });
      emit({ type: 'ticket.sla', ticket: t, level: 'warning' });
    }
    const breached = await tx<TicketRow[]>`
      update tickets set escalated_at = now(), priority = priority + ${ESCALATION_PRIORITY}
       where id in (select id from tickets
                     where status in ('new', 'assigned', 'pending') and escalated_at is null
                       and ((first_response_at is null and first_response_due_at <= now()) or resolution_due_at <= now())
                     for update skip locked)
      returning *`;
    for (const t of breached) {
      const which = !t.firstResponseAt && t.firstResponseDueAt && t.firstResponseDueAt <= new Date() ? 'first_response' : 'resolution';
      await recordTicketEvent(tx, t.id, 'escalated', null, { which, priority: t.priority });
      emit({ type: 'ticket.sla', ticket: t, level: 'breached' });
    }
    return warned.length + breached.length;
  });
}
