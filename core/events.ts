import { transaction, type Sql, type Tx } from './db/client.ts';
import type { MessageRow, ConversationRow } from './conversations/rows.ts';
import type { InboxExtras } from './conversations/queries.ts';
import type { TicketRow } from './tickets/rows.ts';
import type { RunRow } from './recovery/execute.ts';
import type { Role } from './agents/rows.ts';

export type DomainEvent =
  /**
   * `inbox`: what the inbox row shows beyond the conversation, as of the message's commit (else loaded on emit).
   * `inline`: a customer's message and the bot's answer written with it (conversations/inline-answer.ts)
   */
  | { type: 'message.created'; message: MessageRow; conversation: ConversationRow; inbox?: InboxExtras; inline?: true }
  | { type: 'message.updated'; message: MessageRow; conversation: ConversationRow }
  | { type: 'conversation.updated'; conversation: ConversationRow }
  | { type: 'ticket.opened'; ticket: TicketRow }
  | { type: 'ticket.updated'; ticket: TicketRow }
  | { type: 'ticket.assigned'; ticket: TicketRow; conversation: ConversationRow }
  /** `disconnectedAt`: all their consoles closed, in the offline grace since then (core/agents/presence.ts) */
  | { type: 'agent.status'; agentId: string; status: string; disconnectedAt: Date | null }
  | { type: 'ticket.note'; ticketId: string; authorId: string; text: string; mentions: string[] }
  | { type: 'ticket.sla'; ticket: TicketRow; level: 'warning' | 'breached' }
  | { type: 'recovery.script'; run: RunRow; conversation: ConversationRow }
  /** sessions that must end now: one token (logout), or every session of the agent (jti null: disabled, password reset), but `exceptJti` */
  | { type: 'agent.revoked'; agentId: string; jti: string | null; exceptJti?: string }
  /** an admin changed an agent's role or teams: their open consoles hear from now on what the new ones allow */
  | { type: 'agent.access'; agentId: string; before: Access; after: Access };

export interface Access {
  role: Role;
  teamIds: string[];
}

type Handler = (event: DomainEvent) => void | Promise<void>;

/**
 * In-process bus. Events are published only after the transaction that produced them commits, so a consumer
 * never sees something that was rolled back.
 */
export class EventBus {
  private handlers: Handler[] = [];
  /** handler runs not finished yet, plus published batches whose handlers have not started */
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  constructor(private onError: (err: unknown, event: DomainEvent) => void = () => {}) {}

  subscribe(handler: Handler): () => void {
    this.handlers.push(handler);
    return () => {
      this.handlers = this.handlers.filter((h) => h !== handler);
    };
  }

  /**
   * Handlers run in a microtask after the publisher's code, event by event in subscription order; one that throws
   * or rejects is reported to `onError` and stops nothing else. A batch takes one microtask and only handlers
   * returning a promise are tracked: at 1,000 messages a second, a promise chain per handler per event was 5 % of
   * everything the gateway allocated.
   */
  publish(events: DomainEvent[]): void {
    if (!events.length || !this.handlers.length) return;
    const handlers = this.handlers;
    this.inFlight++;
    queueMicrotask(() => {
      for (const event of events)
        for (const handler of handlers) {
          try {
            const r = handler(event);
            if (r) {
              this.inFlight++;
              r.then(
                () => this.done(),
                (err: unknown) => {
                  this.report(err, event);
                  this.done();
                },
              );
            }
          } catch (err) {
            this.report(err, event);
          }
        }
      this.done();
    });
  }

  get busy(): boolean {
    return this.inFlight > 0;
  }

  /** Resolves when every handler started so far (and those they started) has finished. Used on shutdown and in tests. */
  async idle(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private report(err: unknown, event: DomainEvent): void {
    try {
      this.onError(err, event);
    } catch {
      // a failing error reporter must not take the other handlers down with it
    }
  }

  private done(): void {
    if (--this.inFlight > 0) return;
    const waiting = this.waiters;
    this.waiters = [];
    for (const resolve of waiting) resolve();
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
