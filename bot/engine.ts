import type { Deps } from '../core/deps.ts';
import type { DomainEvent } from '../core/events.ts';
import { listEnabledEntries, recordHit } from '../core/knowledge/entries.ts';
import { recordBotMiss, resetBotMisses } from '../core/conversations/bot-state.ts';
import { sendOutbound } from '../core/conversations/outbound.ts';
import { handoff } from '../core/tickets/tickets.ts';
import type { MessageRow, ConversationRow } from '../core/conversations/rows.ts';
import { decide, type Decision } from './policy.ts';
import { REPLIES } from './replies.ts';
import { Retriever } from './retriever.ts';

/**
 * Answers customer messages while a conversation is with the bot. Messages of one conversation are handled
 * one after another, so a fast second message never overtakes the answer to the first.
 */
export class Bot {
  private retriever = new Retriever([]);
  private chains = new Map<string, Promise<void>>();

  constructor(private deps: Deps) {}

  async reload(): Promise<void> {
    this.retriever = new Retriever(await listEnabledEntries(this.deps.sql));
  }

  decide(text: string, misses = 0): Decision {
    return decide(this.retriever, text, misses);
  }

  /** Subscribe with `bus.subscribe(bot.onEvent)`. */
  onEvent = (event: DomainEvent): Promise<void> | void => {
    if (event.type !== 'message.created') return;
    const { message, conversation } = event;
    if (message.senderType !== 'customer' || conversation.status !== 'bot') return;
    const prev = this.chains.get(conversation.id) ?? Promise.resolve();
    const next = prev.then(() => this.handle(message, conversation)).catch((err) => this.deps.log.error({ err }, 'bot failed'));
    this.chains.set(conversation.id, next);
    return next.finally(() => {
      if (this.chains.get(conversation.id) === next) this.chains.delete(conversation.id);
    });
  };

  private async handle(message: MessageRow, conversation: ConversationRow): Promise<void> {
    const [fresh] = await this.deps.sql<ConversationRow[]>`select * from conversations where id = ${conversation.id}`;
    if (!fresh || fresh.status !== 'bot') return; // a human took over meanwhile
    const say = (text: string, payload?: Record<string, unknown>) =>
      sendOutbound(this.deps, { conversationId: conversation.id, senderType: 'bot', text, payload });
    // entering the chat (mini-program) is a greeting, not a question; pictures and files need a human eye
    if (message.type === 'event') return void (await say(REPLIES.welcome));
    if (message.type !== 'text') return void (await say(REPLIES.nonText, { quickReplies: ['转人工'] }));
    const text = message.text ?? '';
    const decision = this.decide(text, fresh.botMisses);
    switch (decision.kind) {
      case 'answer':
        await resetBotMisses(this.deps.sql, conversation.id);
        await say(decision.candidate.entry.answer, { kbId: decision.candidate.entry.id, score: round(decision.candidate.score) });
        await recordHit(this.deps.sql, decision.candidate.entry.id);
        return;
      case 'clarify':
        await say(REPLIES.clarify, { quickReplies: decision.candidates.map((c) => c.entry.question) });
        return;
      case 'miss':
        await recordBotMiss(this.deps.sql, conversation.id);
        await say(REPLIES.miss, { quickReplies: ['转人工'] });
        return;
      case 'handoff': {
        await say(REPLIES.handoff);
        const category = decision.category ?? (await this.lastAnsweredCategory(conversation.id));
        const ticket = await handoff(this.deps, { conversationId: conversation.id, category, reason: decision.reason });
        if (ticket.status === 'new') await say(REPLIES.queued);
        return;
      }
    }
  }

  /** A bare "转人工" after the bot answered about 物流 is most likely about 物流 too. */
  private async lastAnsweredCategory(conversationId: string): Promise<string | null> {
    const [row] = await this.deps.sql<{ category: string }[]>`
      select k.category from messages m join kb_entries k on k.id = m.payload->>'kbId'
       where m.conversation_id = ${conversationId} and m.sender_type = 'bot'
       order by m.seq desc limit 1`;
    return row?.category ?? null;
  }

  get busy(): boolean {
    return this.chains.size > 0;
  }

  /** Waits for every conversation's pending work; for shutdown and tests. */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()]);
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;
