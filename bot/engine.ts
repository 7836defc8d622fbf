import type { Deps } from '../core/deps.ts';
import { inTransaction, type DomainEvent } from '../core/events.ts';
import { HitCounter, listEnabledEntries, type KbEntry } from '../core/knowledge/entries.ts';
import { logUnanswered } from '../core/knowledge/unanswered.ts';
import { sendBotReply, sendOutboundIn } from '../core/conversations/outbound.ts';
import { getConversations } from '../core/conversations/queries.ts';
import { batchLoader } from '../core/loader.ts';
import { isVip } from '../core/customers/rules.ts';
import { queuePosition } from '../core/tickets/queue.ts';
import { ratingOf, recordCsatIn } from '../core/tickets/csat.ts';
import { asksOptOut } from '../core/recovery/optout.ts';
import { handoffIn, resolveConversationIn } from '../core/tickets/tickets.ts';
import { isUnavailable } from '../core/db/unavailable.ts';
import { isAppError } from '../core/errors.ts';
import type { MessageRow, ConversationRow } from '../core/conversations/rows.ts';
import { IntentClassifier } from './intents.ts';
import { decide, HUMAN_WORDS, type Candidate, type Decision } from './policy.ts';
import { REPLIES } from './replies.ts';
import { questionsOf, Retriever } from './retriever.ts';
import { featuresOfAll, isWord } from './segment.ts';
import { selfService, selfServiceAsk } from './self-service.ts';
import { botReplyId, type InlineAnswer, type InlineQuestion } from '../core/conversations/inline-answer.ts';
import { loadSynonyms } from './synonym-store.ts';
import type { Synonyms } from './synonyms.ts';

/** The classifier's category is used on handoff when it is at least this sure. */
const INTENT_CONFIDENCE = 0.5;

/** The database away while a message is answered: tried again after 1, 2, 4 … 32 s (about a minute in all). */
export const BOT_RETRY = { attempts: 7, baseMs: 1000 };

/** A reply the channel's rules refuse (48 h window, 5 replies) is not written; the rest of the write goes ahead. */
const unlessRefused = (err: unknown) => {
  if (!isAppError(err)) throw err;
};

/**
 * Answers customer messages while a conversation is with the bot. Messages of one conversation are handled
 * one after another, so a fast second message never overtakes the answer to the first.
 */
export class Bot {
  private retriever = new Retriever([]);
  private intents = IntentClassifier.of([]);
  private chains = new Map<string, Promise<void>>();
  private building: Promise<void> | null = null;
  /** retries waiting for the database; a stopping node ends them rather than waiting a minute */
  private waiting = new Set<() => void>();
  private stopping = false;
  private readonly conversationNow: (id: string) => Promise<ConversationRow | undefined>;
  /** answers per KB entry, written every few seconds rather than one UPDATE per answer */
  private readonly hits: HitCounter;

  constructor(private deps: Deps) {
    this.conversationNow = batchLoader((ids: string[]) => getConversations(deps.sql, ids));
    this.hits = new HitCounter(deps.sql, (err) => deps.log.warn({ err }, 'kb hit counts not written'));
  }

  /**
   * Rebuilds the index from the KB. The new index is built in slices that yield to the event loop and swapped
   * in when complete: live answers keep using the old one meanwhile. A large KB's learned ranker joins later
   * from a worker thread (`ranked()`).
   */
  async reload(): Promise<void> {
    const run = async () => {
      const [entries, synonyms] = await Promise.all([listEnabledEntries(this.deps.sql), loadSynonyms(this.deps.sql)]);
      await buildKnowledge(entries, synonyms, {
        onIndex: (r) => {
          const previous = this.retriever;
          this.retriever = r;
          previous.dispose();
        },
        onIntents: (c) => (this.intents = c),
      });
    };
    // a reload asked for during a build starts after it, so the last KB change always wins
    const next = (this.building ?? Promise.resolve()).then(run, run);
    this.building = next;
    await next.finally(() => {
      if (this.building === next) this.building = null;
    });
  }

  /** Resolves when the current index's ranker has joined (at once unless a large KB's is still training). */
  ranked(): Promise<void> {
    return this.retriever.rankerReady;
  }

  /** For shutdown: answers waiting for the database to come back are given up (and logged), not waited for. */
  stopRetrying(): void {
    this.stopping = true;
    for (const wake of [...this.waiting]) wake();
  }

  /** Stops a ranker still training on its worker thread and writes the hit counts, for shutdown. */
  async close(): Promise<void> {
    this.retriever.dispose();
    await this.hits.close();
  }

  decide(text: string, misses = 0, vip = false): Decision {
    return decide(this.retriever, text, misses, { vip });
  }

  /** Top KB answers for a message, for the agent's suggestions beside the conversation. */
  suggest(text: string, k = 3): Candidate[] {
    return this.retriever.search(text, k).filter((c) => c.score >= 0.2);
  }

  get entries(): number {
    return this.retriever.size;
  }

  classify(text: string) {
    return this.intents.classify(text);
  }

  /**
   * The answer written with the message it answers, when it needs nothing but the message and the KB (see
   * core/conversations/inline-answer.ts); null leaves the message to `onEvent`. Not while an earlier message of
   * the conversation is still being answered here: answers keep the order of their questions.
   */
  answerInline = (q: InlineQuestion): InlineAnswer | null => {
    if (this.stopping || (q.conversationId && this.chains.has(q.conversationId))) return null;
    const plain = notTextReply(q.type);
    if (plain) return plain;
    const text = q.text ?? '';
    // a rating and a question about the customer's own orders need the database
    if (ratingOf(text) !== null || selfServiceAsk(text)) return null;
    return kbReply(this.decide(text, q.botMisses), q.botMisses);
  };

  /** Subscribe with `bus.subscribe(bot.onEvent)`. */
  onEvent = (event: DomainEvent): Promise<void> | void => {
    if (event.type !== 'message.created') return;
    const { message, conversation } = event;
    // answered in the message's own transaction: only the KB answer's count is left to keep
    if (event.inline) {
      const kbId = message.senderType === 'bot' ? message.payload.kbId : undefined;
      if (typeof kbId === 'string') this.hits.add(kbId);
      return;
    }
    if (message.senderType !== 'customer' || conversation.status !== 'bot') return;
    return this.enqueue(message, conversation);
  };

  /**
   * A customer message no node answered (its node died between storing and answering; see bot-redrive.ts):
   * answered now, on the conversation as it is, behind anything this node is doing for it.
   */
  answerLate(message: MessageRow): Promise<void> {
    this.deps.log.warn({ messageId: message.id, conversationId: message.conversationId }, 'bot: answering a message no node answered');
    return this.enqueue(message, null);
  }

  private enqueue(message: MessageRow, conversation: ConversationRow | null): Promise<void> {
    // behind earlier work of this conversation, the event's row may be stale by the time it runs: read it again
    const prev = this.chains.get(message.conversationId);
    const next = (prev ?? Promise.resolve())
      .then(() => this.handleRetrying(message, prev ? null : conversation))
      .catch((err) => this.deps.log.error({ err, messageId: message.id }, 'bot failed'));
    this.chains.set(message.conversationId, next);
    return next.finally(() => {
      if (this.chains.get(message.conversationId) === next) this.chains.delete(message.conversationId);
    });
  }

  /**
   * A message stored just before the database went away must still be answered once it is back. While nothing of
   * its answer is written, the whole decision is made again (on the conversation as it is then); once something
   * is, a retry could answer twice, so the failure is logged instead.
   */
  private async handleRetrying(message: MessageRow, current: ConversationRow | null): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const progress = { wrote: false };
      try {
        return await this.handle(message, attempt === 1 ? current : null, progress);
      } catch (err) {
        if (progress.wrote || !isUnavailable(err) || attempt >= BOT_RETRY.attempts) throw err;
        if (this.stopping) throw err;
        this.deps.log.warn({ messageId: message.id, attempt, code: (err as { code?: string }).code }, 'bot: database away, answering later');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => wake(), BOT_RETRY.baseMs * 2 ** (attempt - 1));
          const wake = () => {
            clearTimeout(timer);
            this.waiting.delete(wake);
            resolve();
          };
          this.waiting.add(wake);
        });
        if (this.stopping) throw err;
      }
    }
  }

  /**
   * `current`: the conversation as this message's own commit left it, when nothing of this conversation ran in
   * between; null to read it again (an earlier message may have counted a miss or handed off). Whatever the
   * row says, a reply is written only if the conversation is still the bot's when it commits.
   */
  private async handle(message: MessageRow, current: ConversationRow | null, progress: { wrote: boolean }): Promise<void> {
    const fresh = current ?? (await this.conversationNow(message.conversationId));
    if (!fresh || fresh.status !== 'bot') return;
    const conversation = fresh;
    // every write below is followed by this, so a retry after a failure knows whether it may start over
    const wrote = <T,>(result: T): T => {
      progress.wrote = true;
      return result;
    };
    // written only if the conversation is still the bot's when the reply commits
    // with its count of misses in a row moved in the same transaction ('count' a miss, 'reset' on an answer).
    // The reply's id is the message's: answered already (by another node's late answer, or by this one before a
    // lost commit), nothing is written again, and the result is null as when a person took over
    const say = async (text: string, payload?: Record<string, unknown>, botMisses?: 'count' | 'reset') => {
      const sent = wrote(await sendBotReply(this.deps, { conversationId: conversation.id, text, payload, botMisses, clientMsgId: botReplyId(message.id) }));
      return sent?.replayed ? null : sent;
    };
    const plain = notTextReply(message.type);
    if (plain) return void (await say(plain.text, plain.payload));
    const text = message.text ?? '';
    const answered = fresh.botMisses ? ('reset' as const) : undefined;

    // 退订 is answered by recovery (which stored the opt-out with the message), not matched against the FAQ
    if (await asksOptOut(this.deps.sql, text)) return;

    // "5" after a rating request is a rating, not a question: the rating, the thanks and the conversation closed
    // are one write, so a database gone midway leaves nothing half done for the retry to trip on
    const score = ratingOf(text);
    if (score !== null) {
      const rated = await inTransaction(this.deps.sql, this.deps.bus, async (tx, emit) => {
        if (!(await recordCsatIn(tx, fresh.customerId, score))) return false;
        await sendOutboundIn(tx, emit, { conversationId: conversation.id, senderType: 'bot', text: REPLIES.thanksForRating, whileBot: true }).catch(unlessRefused);
        // the bot's conversation has no open ticket nor agent: nothing to follow up after commit
        await resolveConversationIn(tx, emit, conversation.id);
        return true;
      });
      if (rated) return void wrote(true);
    }

    // the customer's own order beats a generic FAQ: "我的快递到哪了" gets their parcel, not "how to track"
    const own = await selfService(this.deps.sql, fresh.customerId, text);
    if (own) return void (await say(own.text, { ...own.payload, quickReplies: ['转人工'] }, answered));

    let decision = this.decide(text, fresh.botMisses);
    // being a VIP only changes a miss (a person at once): asked only then
    if (decision.kind === 'miss' && (await isVip(this.deps.sql, fresh.customerId))) decision = this.decide(text, fresh.botMisses, true);
    // for the KB's curators, after the reply: a database gone in between costs this row, never the customer's answer
    const unanswered = (kind: 'miss' | 'handoff', reason?: string, candidates: Candidate[] = []) =>
      logUnanswered(this.deps.sql, {
        conversationId: conversation.id,
        messageId: message.id,
        text,
        decision: kind,
        reason,
        candidates: candidates.map((c) => ({ id: c.entry.id, question: c.entry.question, score: round(c.score) })),
      }).catch((err) => this.deps.log.warn({ err, messageId: message.id }, 'bot: unanswered question not logged'));
    switch (decision.kind) {
      case 'answer': {
        const reply = kbReply(decision, fresh.botMisses)!;
        if (await say(reply.text, reply.payload, answered)) this.hits.add(decision.candidate.entry.id);
        return;
      }
      case 'clarify': {
        const reply = kbReply(decision, fresh.botMisses)!;
        await say(reply.text, reply.payload);
        return;
      }
      case 'miss':
        if (await say(REPLIES.miss, { quickReplies: ['转人工'] }, 'count')) await unanswered('miss', undefined, decision.candidates);
        return;
      case 'handoff': {
        const category = await this.handoffCategory(text, decision, conversation.id);
        // "正在为您转接", the ticket and where the customer stands in the queue are one write: told apart, a database
        // gone between them left a customer told they were being transferred with no ticket, or queued without
        // being told, and no late answer either (the last word was the bot's)
        wrote(
          await inTransaction(this.deps.sql, this.deps.bus, async (tx, emit) => {
            const text = decision.reason === 'negative_sentiment' ? REPLIES.sorry : REPLIES.handoff;
            // a reply the channel's rules refuse is not written, and the customer still gets their ticket
            await sendOutboundIn(tx, emit, { conversationId: conversation.id, senderType: 'bot', text, whileBot: true }).catch(unlessRefused);
            const ticket = await handoffIn(tx, emit, { conversationId: conversation.id, category, reason: decision.reason });
            if (ticket.status === 'new') {
              const pos = await queuePosition(tx, ticket.id);
              // the conversation is queued now, no longer the bot's: this one goes out regardless
              await sendOutboundIn(tx, emit, { conversationId: conversation.id, senderType: 'bot', text: pos ? REPLIES.queuedAt(pos.ahead, pos.waitMinutes) : REPLIES.queued, payload: pos ? { queue: pos } : undefined }).catch(unlessRefused);
            }
            return ticket;
          }),
        );
        if (decision.reason !== 'customer_request') await unanswered('handoff', decision.reason, this.retriever.search(text, 3));
        return;
      }
    }
  }

  /**
   * The ticket's category: the intent classifier on what the customer said (without the "转人工" words), then
   * the category the decision carried, then the last FAQ answered in this conversation.
   */
  private async handoffCategory(text: string, decision: Extract<Decision, { kind: 'handoff' }>, conversationId: string): Promise<string | null> {
    if (decision.reason === 'negative_sentiment') return '投诉';
    const rest = text.replace(HUMAN_WORDS, '').trim();
    const intent = rest ? this.intents.classify(rest) : null;
    if (intent && intent.confidence >= INTENT_CONFIDENCE) return intent.category;
    return decision.category ?? (await this.lastAnsweredCategory(conversationId));
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

  /** Waits for every conversation's pending work, hit counts written; for shutdown and tests. */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()]);
    await this.hits.flush();
  }
}

/**
 * Everything the bot knows of a KB, built without holding the event loop: the questions are segmented once
 * (for retrieval and intents alike), the retrieval index goes live through `onIndex` as soon as it is complete,
 * then the intent classifier follows. The retriever's ranker is still training on a worker thread at return.
 */
export async function buildKnowledge(
  entries: KbEntry[],
  synonyms: Synonyms,
  on: { onIndex?: (r: Retriever) => void; onIntents?: (c: IntentClassifier) => void } = {},
): Promise<{ retriever: Retriever; intents: IntentClassifier }> {
  const feats = await featuresOfAll(questionsOf(entries).map((q) => q.text), synonyms);
  const retriever = await Retriever.build(entries, { synonyms, feats });
  on.onIndex?.(retriever);
  const first = [0];
  for (const e of entries) first.push(first.at(-1)! + 1 + e.similar.length);
  const intents = await IntentClassifier.build(entries, (i) => feats.slice(first[i], first[i + 1]).flat().filter(isWord), synonyms);
  on.onIntents?.(intents);
  return { retriever, intents };
}

/** Entering the chat (mini-program) is a greeting, not a question; pictures and files need a human eye. */
function notTextReply(type: string): InlineAnswer | null {
  if (type === 'event') return { text: REPLIES.welcome };
  if (type !== 'text') return { text: REPLIES.nonText, payload: { quickReplies: ['转人工'] } };
  return null;
}

/** The KB's answer, or the question back; null for a miss or a handoff. An answer ends a run of misses. */
function kbReply(decision: Decision, misses: number): InlineAnswer | null {
  if (decision.kind === 'answer')
    return { text: decision.candidate.entry.answer, payload: { kbId: decision.candidate.entry.id, score: round(decision.candidate.score) }, resetMisses: misses > 0 };
  if (decision.kind === 'clarify') return { text: REPLIES.clarify, payload: { quickReplies: decision.candidates.map((c) => c.entry.question) } };
  return null;
}

export type { KbEntry };
const round = (x: number) => Math.round(x * 1000) / 1000;
