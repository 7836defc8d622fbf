/**
 * The bot's answer written in the transaction that stores the customer's message. Most messages the bot answers
 * need nothing but the message and the KB (an FAQ answer, a question back, a greeting): deciding those while the
 * message's conversation is locked, and writing the answer with the message, spares each of them a transaction
 * of its own (the conversation locked, checked and updated again), and the answer reaches the agent's inbox with
 * the message's own commit. Everything else (a rating, an opt-out, an order lookup, a miss, a handoff) is answered
 * after commit by the bot, as before.
 */

/** What the answerer sees of a message: the conversation is the bot's, and this is its only new message. */
export interface InlineQuestion {
  /** null for a conversation this message opens */
  conversationId: string | null;
  type: string;
  text: string | null;
  /** the conversation's misses in a row before this message */
  botMisses: number;
}

export interface InlineAnswer {
  text: string;
  payload?: Record<string, unknown>;
  /** an answer ends a run of misses */
  resetMisses?: boolean;
}

/** Supplied by the bot (gateway/huike.ts); null: answered after commit. It must not wait for anything. */
export type InlineAnswerer = (question: InlineQuestion) => InlineAnswer | null;

/** The id the bot's answer to a message carries: the same answer is never written twice, on any node. */
export const botReplyId = (messageId: string) => `bot-${messageId}`;

interface Candidate {
  key: string;
  echo?: boolean;
  optOut: boolean;
  existing: { id: string; status: string; botMisses: number } | undefined;
  type: string;
  text: string | null;
}

/**
 * The answers for a batch of new messages, by their place in it. Only a conversation's single new message in
 * the batch is answered here: with two, the bot answers both after commit, in order. An opt-out is recovery's
 * to confirm, and a servicer's own message from the WeCom app is never answered.
 */
export function inlineAnswers(answer: InlineAnswerer | undefined, candidates: Candidate[]): Map<number, InlineAnswer> {
  const out = new Map<number, InlineAnswer>();
  if (!answer) return out;
  const perKey = new Map<string, number>();
  for (const c of candidates) perKey.set(c.key, (perKey.get(c.key) ?? 0) + 1);
  candidates.forEach((c, n) => {
    if (c.echo || c.optOut || perKey.get(c.key)! > 1) return;
    if (c.existing && c.existing.status !== 'bot') return;
    const a = safely(answer, { conversationId: c.existing?.id ?? null, type: c.type, text: c.text, botMisses: c.existing?.botMisses ?? 0 });
    if (a) out.set(n, a);
  });
  return out;
}

/**
 * A bot that fails here must not take the message down with it: thrown inside the storing transaction, the
 * error would refuse the message (WeChat retrying it in vain). Left for after commit, the bot tries again there,
 * where a failure is logged and costs only the answer.
 */
function safely(answer: InlineAnswerer, q: InlineQuestion): InlineAnswer | null {
  try {
    return answer(q);
  } catch {
    return null;
  }
}
