import type { Deps } from '../deps.ts';
import { inTransaction, type DomainEvent } from '../events.ts';
import { sendOutbound } from '../conversations/outbound.ts';
import { handoffIn } from '../tickets/tickets.ts';
import { asksOptOut, OPT_OUT_CONFIRMATION } from './optout.ts';

/**
 * Recovery's reactions to what happens after commit: a 退订 is confirmed to the customer (the opt-out itself was
 * stored with the message), and a playbook message WeChat refused becomes an agent's task instead of a silent
 * failure. Subscribe with `bus.subscribe(recoveryReactions(deps))`.
 */
export function recoveryReactions(deps: Deps) {
  return async (event: DomainEvent): Promise<void> => {
    if (event.type === 'message.created') {
      const { message, conversation } = event;
      if (message.senderType !== 'customer' || message.type !== 'text') return;
      if (!(await asksOptOut(deps.sql, message.text))) return;
      await sendOutbound(deps, { conversationId: conversation.id, senderType: 'system', text: OPT_OUT_CONFIRMATION, payload: { optOut: true } }).catch((err) =>
        deps.log.info({ err: (err as Error).message }, 'opt-out confirmation not sent'),
      );
      return;
    }
    if (event.type === 'message.updated' && event.message.status === 'failed') {
      const runId = (event.message.payload?.recovery as { runId?: string } | undefined)?.runId;
      if (!runId) return;
      await inTransaction(deps.sql, deps.bus, async (tx, emit) => {
        const [run] = await tx<{ id: string }[]>`
          update recovery_runs set status = 'fallback', outcome = ${`send_failed:${event.message.error ?? ''}`.slice(0, 200)}
           where id = ${runId} and status = 'sent' returning id`;
        if (!run) return;
        const ticket = await handoffIn(tx, emit, { conversationId: event.conversation.id, category: null, reason: 'recovery' });
        const [row] = await tx`update recovery_runs set ticket_id = ${ticket.id} where id = ${runId} returning *`;
        const [conversation] = await tx`select * from conversations where id = ${event.conversation.id}`;
        emit({ type: 'recovery.script', run: row as never, conversation: conversation as never });
      });
    }
  };
}
