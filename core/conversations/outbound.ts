import { randomUUID } from 'node:crypto';
import type { Deps } from '../deps.ts';
import { Batcher, STALL_MS } from '../batcher.ts';
import { inTransaction, type DomainEvent } from '../events.ts';
import { commitWith, type Tx } from '../db/client.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import { isUuid } from '../ids.ts';
import { MAX_TEXT_LENGTH } from './ingest.ts';
import type { ConversationRow, MessageRow } from './rows.ts';
import { inboxExtras } from './queries.ts';
import { replyBlocked } from './channel-rules.ts';
import { retryAtOnce } from '../db/unavailable.ts';

export interface OutboundMessage {
  conversationId: string;
  senderType: 'agent' | 'bot' | 'system';
  senderId?: string | null;
  type?: string;
  text: string;
  payload?: Record<string, unknown>;
  /** the bot's reply: written only while the conversation is still the bot's (a person may have taken it meanwhile) */
  whileBot?: boolean;
  /**
   * The bot's count of misses in a row, moved with its reply in the same transaction: 'count' for a miss, 'reset'
   * for an answer. Written apart, a database gone between the two left a miss counted and no reply, and the
   * answer given later (bot-redrive) counted it twice, handing the customer to a person one miss early.
   */
  botMisses?: 'count' | 'reset';
  /**
   * The sender's own id for this reply (an agent's console; the bot's answer to a message, `bot-<its id>`): the same
   * id again in the same conversation is the same reply, not a second one. A send whose answer was lost (its node
   * died, a timeout) is retried safely, and a message answered late by another node is not answered twice.
   */
  clientMsgId?: string;
}

/** `replayed`: the reply was already written under its clientMsgId; nothing new was sent */
export type Sent = { message: MessageRow; conversation: ConversationRow; replayed?: boolean };

/**
 * Writes a reply to the customer. Web chat is delivered by the realtime layer right after commit; external
 * channels get an outbox row in the same transaction, which the outbox worker sends with retries. WeChat's
 * 48 h / 5-message rule is checked here, under the conversation lock, so two agents cannot both send the 5th.
 * Replies written at the same moment (the bot answering a burst of customers) share one transaction; resolves
 * with null when `whileBot` and a person has the conversation now.
 */
export async function sendOutbound(deps: Deps, input: OutboundMessage): Promise<Sent> {
  return (await batcherFor(deps).submit(input))!;
}

/** sendOutbound for the bot: null when the conversation is no longer the bot's. */
export async function sendBotReply(deps: Deps, input: Omit<OutboundMessage, 'senderType' | 'whileBot'>): Promise<Sent | null> {
  return batcherFor(deps).submit({ ...input, senderType: 'bot', whileBot: true });
}

// one batch at a time, as for inbound messages (ingest.ts)
const batchers = new WeakMap<object, Batcher<OutboundMessage, Sent | null>>();
function batcherFor(deps: Deps): Batcher<OutboundMessage, Sent | null> {
  let b = batchers.get(deps.bus);
  if (!b)
    batchers.set(
      deps.bus,
      (b = new Batcher((items) => writeReplies(deps, items), { max: 200, concurrency: 1, stallMs: STALL_MS, onStall: (n) => deps.batchStalled?.('reply', n), key: (i) => i.conversationId, observe: (n, s) => deps.observeBatch?.('reply', n, s) })),
    );
  return b;
}

/**
 * A batch whose replies all carry their sender's id (the bot's answers, a console's replies) runs again at once
 * on a fresh session when its session was lost (a failover ended it while idle) instead of failing: written
 * already, a reply is found by its id, not written twice. A batch with a reply without one fails as before (503).
 */
function writeReplies(deps: Deps, items: OutboundMessage[]): Promise<(Sent | null | Error)[]> {
  const once = () => inTransaction(deps.sql, deps.bus, (tx, emit) => appendOutbound(tx, emit, items, true));
  return items.every((i) => i.clientMsgId) ? retryAtOnce(once, deps, 'replies') : once();
}

/** sendOutbound inside the caller's transaction (a recovery run sends and records itself atomically). */
export async function sendOutboundIn(tx: Tx, emit: (e: DomainEvent) => void, input: OutboundMessage): Promise<Sent> {
  const [result] = await appendOutbound(tx, emit, [input], false);
  if (result instanceof Error) throw result;
  return result!;
}

/**
 * Appends replies, in order, in a handful of statements: the conversations locked in id order, each reply checked
 * against its conversation as the earlier replies left it (status, the 48 h / 5-message rule), then counters,
 * messages, outbox rows and first responses written for all of them. A reply that may not go out gets its own
 * error; the others are written. With `commit` (the transaction is only this), the writes carry the COMMIT.
 */
async function appendOutbound(tx: Tx, emit: (e: DomainEvent) => void, inputs: OutboundMessage[], commit: boolean): Promise<(Sent | null | Error)[]> {
  const ids = [...new Set(inputs.map((i) => i.conversationId).filter(isUuid))];
  // replies already written under their sender's id, read right behind the conversations' locks in the same round
  // trip (the server runs it once it holds them), so nothing can write one meanwhile. Replies without an id (a
  // recovery script's) do not pay this read.
  const withId = inputs.filter((i) => i.clientMsgId && isUuid(i.conversationId));
  const [locked, written] = await Promise.all([
    ids.length ? tx<ConversationRow[]>`select * from conversations where id = any(${ids}::uuid[]) order by id for update`.execute() : [],
    withId.length
      ? tx<MessageRow[]>`
          select * from messages where conversation_id = any(${withId.map((i) => i.conversationId)}::uuid[]) and payload ? 'clientMsgId'
             and payload->>'clientMsgId' = any(${withId.map((i) => i.clientMsgId!)}::text[])`.execute()
      : [],
  ]);
  const current = new Map(locked.map((c) => [c.id, { ...c }]));
  const earlier = new Map(written.map((m) => [`${m.conversationId}|${(m.payload as { clientMsgId?: string }).clientMsgId}`, m]));
  const accepted: { input: OutboundMessage; text: string; seq: number; external: boolean }[] = [];
  /** input index -> its place in `accepted` */
  const slot = new Map<number, number>();
  /** the same reply twice in this batch: the later one's input index -> the earlier one's */
  const sameAs = new Map<number, number>();
  const firstWithId = new Map<string, number>();
  const results: (Sent | null | Error)[] = inputs.map((input, i) => {
    if (input.clientMsgId) {
      const key = `${input.conversationId}|${input.clientMsgId}`;
      const written = earlier.get(key);
      if (written) return { message: written, conversation: current.get(input.conversationId)!, replayed: true };
      const first = firstWithId.get(key);
      if (first !== undefined) return (sameAs.set(i, first), null);
      firstWithId.set(key, i);
    }
    const text = input.text.trim();
    if (!text) return badRequest('empty_message', '消息内容不能为空');
    if (text.length > MAX_TEXT_LENGTH) return badRequest('message_too_long', `消息不能超过 ${MAX_TEXT_LENGTH} 个字符`);
    const c = current.get(input.conversationId);
    if (!c) return notFound('会话');
    if (input.whileBot && c.status !== 'bot') return null;
    if (c.status === 'resolved' && input.senderType === 'agent') return conflict('conversation_resolved', '会话已结束，客户再次发来消息后才能回复');
    const blocked = replyBlocked(c);
    if (blocked) return blocked;
    c.lastSeq++;
    c.repliesSinceCustomer++;
    if (input.botMisses === 'count') c.botMisses++;
    else if (input.botMisses === 'reset') c.botMisses = 0;
    slot.set(i, accepted.length);
    accepted.push({ input, text, seq: c.lastSeq, external: c.channel !== 'web' });
    return null;
  });
  // the same reply twice in this batch gets what the first got: its error, or its message as a replay
  const withSame = (out: (Sent | null | Error)[]) => {
    for (const [i, first] of sameAs) out[i] = out[first] instanceof Error || !out[first] ? out[first] : { ...(out[first] as Sent), replayed: true };
    return out;
  };
  if (!accepted.length) return withSame(results);

  const touched = [...new Set(accepted.map((a) => a.input.conversationId))].map((id) => current.get(id)!);
  const rows = accepted.map((a) => ({
    id: randomUUID(),
    conversationId: a.input.conversationId,
    seq: a.seq,
    senderType: a.input.senderType,
    senderId: a.input.senderId ?? null,
    type: a.input.type ?? 'text',
    text: a.text,
    payload: JSON.stringify(a.input.clientMsgId ? { ...a.input.payload, clientMsgId: a.input.clientMsgId } : (a.input.payload ?? {})),
    channel: current.get(a.input.conversationId)!.channel,
    status: a.external ? 'pending' : 'sent',
  }));
  const outbox = rows.filter((m, n) => accepted[n].external).map((m) => ({ messageId: m.id, channel: m.channel }));
  const answered = [...new Set(accepted.filter((a) => a.input.senderType === 'agent').map((a) => a.input.conversationId))];
  // message ids are ours, so everything goes out in one round trip
  const statements = [
    tx<ConversationRow[]>`
      update conversations c set last_seq = v.last_seq, replies_since_customer = v.replies, bot_misses = v.misses, last_message_at = now()
        from (select * from unnest(${touched.map((c) => c.id)}::uuid[], ${touched.map((c) => c.lastSeq)}::int[], ${touched.map((c) => c.repliesSinceCustomer)}::int[],
                                   ${touched.map((c) => c.botMisses)}::int[])
                   as t(id, last_seq, replies, misses)) v
       where c.id = v.id
      returning c.*`.execute(),
    // one array per column: the statement's text is the same for any batch size, so it is prepared once
    tx<MessageRow[]>`
      insert into messages (id, conversation_id, seq, sender_type, sender_id, type, text, payload, channel, status)
      select id, conversation_id, seq, sender_type, sender_id, type, text, payload::jsonb, channel, status
        from unnest(${rows.map((r) => r.id)}::uuid[], ${rows.map((r) => r.conversationId)}::uuid[], ${rows.map((r) => r.seq)}::int[],
                    ${rows.map((r) => r.senderType)}::text[], ${rows.map((r) => r.senderId)}::uuid[], ${rows.map((r) => r.type)}::text[],
                    ${rows.map((r) => r.text)}::text[], ${rows.map((r) => r.payload)}::text[], ${rows.map((r) => r.channel)}::text[],
                    ${rows.map((r) => r.status)}::text[])
             as t(id, conversation_id, seq, sender_type, sender_id, type, text, payload, channel, status)
      returning *`.execute(),
    outbox.length
      ? tx`insert into outbox (message_id, channel) select * from unnest(${outbox.map((o) => o.messageId)}::uuid[], ${outbox.map((o) => o.channel)}::text[])`.execute()
      : null,
    answered.length
      ? tx`update tickets set first_response_at = now()
            where conversation_id = any(${answered}::uuid[]) and first_response_at is null and status in ('assigned', 'pending')`.execute()
      : null,
    // behind the ticket's first response above: the inbox shows it answered
    inboxExtras(tx, touched.map((c) => c.id)),
  ] as const;
  const [updated, inserted, , , extras] = await (commit ? commitWith(tx, statements) : Promise.all(statements));
  const conversationById = new Map(updated.map((c) => [c.id, c]));
  const inboxOf = new Map(extras.map(({ id, ...inbox }) => [id, inbox]));
  const byId = new Map(inserted.map((m) => [m.id, m]));
  const messages = rows.map((r) => byId.get(r.id)!);
  const out: (Sent | null | Error)[] = results.map((r, i) => {
    const k = slot.get(i);
    if (k === undefined) return r;
    const sent = { message: messages[k], conversation: conversationById.get(inputs[i].conversationId)! };
    emit({ type: 'message.created', ...sent, inbox: inboxOf.get(inputs[i].conversationId) });
    return sent;
  });
  return withSame(out);
}
