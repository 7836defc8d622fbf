import { transaction, type Sql, type Tx } from './db/client.ts';
import type { MessageRow, ConversationRow } from './conversations/rows.ts';
import type { TicketRow } from './tickets/rows.ts';
import type { RunRow } from './recovery/execute.ts';

export type DomainEvent =
  | { type: 'message.created'; message: MessageRow; conversation: ConversationRow }
  | { type: 'message.updated'; message: MessageRow; conversation: ConversationRow }
  | { type: 'conversation.updated'; conversation: ConversationRow }
  | { type: 'ticket.opened'; ticket: TicketRow }
  | { type: 'ticket.updated'; ticket: TicketRow }
  | { type: 'ticket.assigned'; ticket: TicketRow; conversation: ConversationRow }
  | { type: 'agent.status'; agentId: string; status: string }
  | { type: 'ticket.note'; ticketId: string; authorId: string; text: string; mentions: string[] }
  | { type: 'ticket.sla'; ticket: TicketRow; level: 'warning' | 'breached' }
  | { type: 'recovery.script'; run: RunRow; conversation: ConversationRow }
  /** sessions that must end now: one token (logout), or every session of the agent (jti null: disabled) */
  | { type: 'agent.revoked'; agentId: string; jti: string | null };

type Handler = (event: DomainEvent) => void | Promise<void>;

/**
 * In-process bus. Events are published only after the transaction that produced them commits, so a consumer
 * never sees something that was rolled back.
 */
export class EventBus {
  private handlers: Handler[] = [];
  private pending = new Set<Promise<unknown>>();
  constructor(private onError: (err: unknown, event: DomainEvent) => void = () => {}) {}

  subscribe(handler: Handler): () => void {
    this.handlers.push(handler);
    return () => {
      this.handlers = this.handlers.filter((h) => h !== handler);
    };
  }

  publish(events: DomainEvent[]): void {
    for (const event of events) {
      for (const handler of this.handlers) {
        const p = Promise.resolve()
          .then(() => handler(event))
          .catch((err) => this.onError(err, event));
        this.pending.add(p);
        p.finally(() => this.pending.delete(p));
      }
    }
  }

  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** Resolves when every handler started so far (and those they started) has finished. Used on shutdown and in tests. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}

/** Runs `fn` in a transaction; the events it collects are published after commit and dropped on rollback. */
export async function inTransaction<T>(
  sql: Sql,
  bus: EventBus,
  fn: (tx: Tx, emit: (e: DomainEvent) => void) => Promise<T>,
): Promise<T> {
  const events: DomainEvent[] = [];
  const result = await transaction(sql, (tx) => fn(tx, (e) => events.push(e)));
  bus.publish(events);
  return result;
}
