import { randomUUID } from 'node:crypto';
import type { Deps } from '../deps.ts';
import { asksOptOut, recordOptOut } from '../recovery/optout.ts';
import { inTransaction } from '../events.ts';
import { Batcher, STALL_MS } from '../batcher.ts';
import { commitWith, type Tx } from '../db/client.ts';
import { canonical, resolveIdentities, type IdentityInput } from '../customers/identities.ts';
import { badRequest } from '../errors.ts';
import type { Channel, ConversationRow, MessageRow } from './rows.ts';
import { inboxExtras, type InboxExtras } from './queries.ts';
import { withoutNul } from '../nul.ts';
import { retryAtOnce } from '../db/unavailable.ts';
import { botReplyId, inlineAnswers, type InlineAnswer } from './inline-answer.ts';
import type { DueDelivery, Reserved } from './delivery.ts';
import type { DomainEvent } from '../events.ts';

export interface InboundMessage {
  channel: Channel;
  /** The channel's own id for the message; a retry with the same id stores nothing new. */
  channelMsgId: string;
  identity: IdentityInput;
  type: string;
  text?: string;
  payload?: Record<string, unknown>;
  /** The kf account (open_kfid) or mini-program appid written to; replies leave through the same one. */
  channelAccount?: string;
  /**
   * A message a servicer sent from the WeCom app (sync_msg origin 5). It belongs in the history, but it is ours,
   * not the customer's: stored as an agent message, already delivered, and never answered by the bot.
   */
  echo?: boolean;
}

export interface IngestResult {
  message: MessageRow;
  conversation: ConversationRow;
  duplicate: boolean;
}

export const MAX_TEXT_LENGTH = 4000;

/**
 * Stores one customer message exactly once: identity -> customer, open conversation, message, events.
 * Returns only after commit, so the caller may acknowledge the channel. Messages arriving together are stored
 * together (`ingestBatch`); one customer's messages keep their order.
 */
export async function ingestInbound(deps: Deps, input: InboundMessage): Promise<IngestResult> {
  if (!input.channelMsgId || input.channelMsgId.length > 128) throw badRequest('invalid_message', '消息 ID 为空或过长');
  if (input.text !== undefined && input.text.length > MAX_TEXT_LENGTH)
    throw badRequest('message_too_long', `消息不能超过 ${MAX_TEXT_LENGTH} 个字符`);
  const identity = canonical(withoutNul(input.identity));
  // a retry of a message still waiting to be stored joins that wait: under overload WeChat resends what it was
  // not answered within 5 s, and each resend would otherwise take a place in a batch of its own
  const waiting = inFlightFor(deps);
  const key = `${input.channel}\n${input.channelMsgId}`;
  const first = waiting.get(key);
  if (first) return first.then((r) => ({ ...r, duplicate: true }));
  const stored = batcherFor(deps).submit({ ...withoutNul(input), identity });
  waiting.set(key, stored);
  const done = () => waiting.delete(key);
  stored.then(done, done);
  return stored;
}

const inFlight = new WeakMap<object, Map<string, Promise<IngestResult>>>();
function inFlightFor(deps: Deps): Map<string, Promise<IngestResult>> {
  let m = inFlight.get(deps.bus);
  if (!m) inFlight.set(deps.bus, (m = new Map()));
  return m;
}

// one batcher per node (its event bus and database); in tests several nodes share a process. One batch at a time:
// under load the next batch takes everything that arrived meanwhile, and at a fixed 1,000 msgs/s that gave
// half the latency of four smaller batches in flight (p99 127-150 ms against 167-817 ms), for less CPU a message.
// Batches spaced (INGEST_BATCH_SPACING_MS) cost the machine a quarter to a third less CPU a message at 250 msgs/s
// and a tenth at 500; at 1,000 they run back to back anyway (README, "The benchmark", fourteenth session)
const batchers = new WeakMap<object, Batcher<InboundMessage, IngestResult>>();
// messages enough to go without waiting out the spacing: at 1,000 msgs/s a batch held about 11 of them unspaced
const SPACING_ENDS_AT = 10;
function batcherFor(deps: Deps): Batcher<InboundMessage, IngestResult> {
  let b = batchers.get(deps.bus);
  if (!b)
    batchers.set(
      deps.bus,
      (b = new Batcher((items) => ingestBatch(deps, items), { max: 200, concurrency: 1, spacingMs: deps.ingestSpacingMs, spacingEndsAt: SPACING_ENDS_AT, stallMs: STALL_MS, onStall: (n) => deps.batchStalled?.('ingest', n), key: (i) => `${i.identity.kind}:${i.identity.value}`, observe: (n, s) => deps.observeBatch?.('ingest', n, s) })),
    );
  return b;
}

/**
 * A batch that lost its session (a pool connection the server ended while idle, found out when the batch was
 * written to it) or was a deadlock victim runs again at once on a fresh one, instead of failing its callbacks
 * with 503: storing is idempotent by channel message id, so a batch whose COMMIT went out before its answer was
 * lost finds its messages stored.
 */
function ingestBatch(deps: Deps, inputs: InboundMessage[]): Promise<IngestResult[]> {
  return retryAtOnce(() => ingestOnce(deps, inputs), deps, 'inbound messages');
}

/**
 * Stores messages in one transaction of set-based statements, whatever their number, in two round trips when
 * their customers are known: (1) the identities' locks, then under them the known identities, the messages already
 * stored (a channel's retry, or the same id twice here: only the first is new) and the open conversations of
 * those identities, locked in id order; (2) conversations opened, counters moved on, messages inserted with
 * consecutive seqs, and the COMMIT. New customers and identities take one round trip more between the two, a
 * retry or an opt-out one more before the commit. Results come back in the order of `inputs`.
 */
async function ingestOnce(deps: Deps, inputs: InboundMessage[]): Promise<IngestResult[]> {
  const optOut = await Promise.all(inputs.map(async (i) => !i.echo && (await asksOptOut(deps.sql, i.text))));
  // places in this node's outbox for the answers written claimed (OutboxHandoff); freed if the transaction fails. A
  // transaction whose COMMIT went through unanswered leaves its rows leased: they go out when the lease ends
  let places: Reserved | undefined;
  const handoff = deps.outboxHandoff;
  const claimOwn = (n: number) => (places = handoff?.reserve(n))?.count ?? 0;
  try {
    const { results, own, unclaimed } = await inTransaction(deps.sql, deps.bus, (tx, emit) => storeBatch(tx, emit, deps, inputs, optOut, { claimOwn, leaseMs: handoff?.leaseMs ?? 0 }));
    places?.take(own, unclaimed);
    return results;
  } finally {
    places?.release();
  }
}

async function storeBatch(
  tx: Tx,
  emit: (e: DomainEvent) => void,
  deps: Deps,
  inputs: InboundMessage[],
  optOut: boolean[],
  claim: ClaimOwn,
): Promise<{ results: IngestResult[]; own: DueDelivery[]; unclaimed: boolean }> {
  const {
    identities,
    created,
    after: [stored, open],
  } = await resolveIdentities(tx, inputs.map((i) => i.identity), () =>
    Promise.all([
      tx<MessageRow[]>`
        select * from messages
         where (channel, channel_msg_id) in (select * from unnest(${inputs.map((i) => i.channel)}::text[], ${inputs.map((i) => i.channelMsgId)}::text[]))`.execute(),
      openConversations(tx, inputs),
    ]),
  );
  const msgKey = (channel: string, id: string | null) => `${channel}|${id}`;
  const storedByKey = new Map(stored.map((m) => [msgKey(m.channel, m.channelMsgId), m]));
  const firstOf = new Map<string, number>();
  const fresh: number[] = [];
  inputs.forEach((input, i) => {
    const k = msgKey(input.channel, input.channelMsgId);
    if (storedByKey.has(k) || firstOf.has(k)) return;
    firstOf.set(k, i);
    fresh.push(i);
  });
  const convKey = (identityId: string, channel: string, account: string | null | undefined) => `${identityId}|${channel}|${account ?? ''}`;
  const keyOf = (i: number) => convKey(identities[i].id, inputs[i].channel, inputs[i].channelAccount);
  // an identity created just now has no conversation yet
  const conversationOf = new Map(open.filter((c) => !created.has(c.identityId)).map((c) => [convKey(c.identityId, c.channel, c.channelAccount), c]));
  const arrivals = fresh.map((i) => ({ input: inputs[i], existing: conversationOf.get(keyOf(i)), key: keyOf(i), customerId: identities[i].customerId, identityId: identities[i].id }));
  // decided under the conversations' locks, as the rows stand: nothing can answer or take them meanwhile
  const answers = inlineAnswers(
    deps.answerInline,
    fresh.map((i, n) => ({ key: arrivals[n].key, echo: inputs[i].echo, optOut: optOut[i], existing: arrivals[n].existing, type: inputs[i].type, text: inputs[i].text ?? null })),
  );
  // nothing left to do in the transaction after the messages: they carry the COMMIT with them
  const last = !stored.length && !fresh.some((i) => optOut[i]);
  const appended = await appendInbound(tx, arrivals, answers, last, claim);
  for (const [n, i] of fresh.entries()) if (optOut[i]) await recordOptOut(tx, identities[i].customerId, appended[n].message.id);
  for (const { reply, asOfMessage, ...a } of appended) {
    if (!reply) {
      emit({ type: 'message.created', ...a });
      continue;
    }
    emit({ type: 'message.created', ...a, conversation: asOfMessage!, inline: true });
    emit({ type: 'message.created', ...a, message: reply, inline: true });
  }

  const storedConversations = stored.length
    ? new Map((await tx<ConversationRow[]>`select * from conversations where id = any(${[...new Set(stored.map((m) => m.conversationId))]}::uuid[])`).map((c) => [c.id, c]))
    : new Map<string, ConversationRow>();
  const freshResult = new Map(fresh.map((i, n) => [i, appended[n]]));
  const own = fresh.flatMap((i, n) => {
    const { reply, outboxId, conversation } = appended[n];
    return reply && outboxId !== undefined ? [{ outboxId, attempts: 1, message: reply, conversation, recipient: identities[i].value }] : [];
  });
  const unclaimed = appended.some((a) => a.reply?.status === 'pending' && a.outboxId === undefined);
  const results = inputs.map((input, i): IngestResult => {
    const mine = freshResult.get(i);
    if (mine) return { message: mine.message, conversation: mine.conversation, duplicate: false };
    const k = msgKey(input.channel, input.channelMsgId);
    const before = storedByKey.get(k);
    if (before) return { message: before, conversation: storedConversations.get(before.conversationId)!, duplicate: true };
    const first = freshResult.get(firstOf.get(k)!)!;
    return { message: first.message, conversation: first.conversation, duplicate: true };
  });
  return { results, own, unclaimed };
}

/**
 * The open conversation of each input's identity on its channel and account (the newest, if several), locked in
 * id order. Sent right behind the identities' locks, so it runs under them; identities not stored yet find none.
 * The identities are canonical already (ingestInbound), as they are stored.
 */
function openConversations(tx: Tx, inputs: InboundMessage[]): Promise<ConversationRow[]> {
  return tx<ConversationRow[]>`
    select * from conversations
     where id in (
       select distinct on (c.identity_id, c.channel, coalesce(c.channel_account, '')) c.id
         from conversations c join identities i on i.id = c.identity_id
        where c.status <> 'resolved'
          and (i.kind, i.value, c.channel, coalesce(c.channel_account, '')) in (
              select * from unnest(${inputs.map((i) => i.identity.kind)}::text[], ${inputs.map((i) => i.identity.value)}::text[],
                                   ${inputs.map((i) => i.channel)}::text[], ${inputs.map((i) => i.channelAccount ?? '')}::text[]))
        order by c.identity_id, c.channel, coalesce(c.channel_account, ''), c.created_at desc)
     order by id
     for update`.execute();
}

interface Arrival {
  input: InboundMessage;
  /** the open conversation, locked; undefined: one is opened */
  existing: ConversationRow | undefined;
  /** identity + channel + account: arrivals with the same key share a conversation */
  key: string;
  customerId: string;
  identityId: string;
}

interface Appended {
  message: MessageRow;
  /** the row after the whole batch */
  conversation: ConversationRow;
  inbox: InboxExtras;
  /** the bot's answer written with the message, and the conversation as the message alone left it */
  reply?: MessageRow;
  asOfMessage?: ConversationRow;
  /** the reply's outbox row, when it was written claimed by this node */
  outboxId?: number;
}

/** How many of a batch's outbox rows to write claimed by this node (given how many there are), for how long. */
interface ClaimOwn {
  claimOwn(n: number): number;
  leaseMs: number;
}

/**
 * Appends inbound messages (in order) to their conversations in one round trip: conversations opened with their
 * counters already moved on, the others' counters moved on, the messages and the bot's inline answers (each
 * right behind its question, with its outbox row) inserted, the inbox extras read; with `commit`, the COMMIT too.
 */
async function appendInbound(tx: Tx, arrivals: Arrival[], answers: Map<number, InlineAnswer>, commit: boolean, claim: ClaimOwn): Promise<Appended[]> {
  if (!arrivals.length) return [];
  const state = new Map<string, { id: string; first: Arrival; isNew: boolean; lastSeq: number; customer: boolean; replies: number; resetMisses: boolean }>();
  const seqs = arrivals.map((a, i) => {
    let n = state.get(a.key);
    if (!n)
      state.set(a.key, (n = { id: a.existing?.id ?? randomUUID(), first: a, isNew: !a.existing, lastSeq: a.existing?.lastSeq ?? 0, customer: false, replies: a.existing?.repliesSinceCustomer ?? 0, resetMisses: false }));
    // the customer writing resets the reply count; a servicer's message from the WeCom app (echo) adds to it
    if (a.input.echo) n.replies++;
    else {
      n.customer = true;
      n.replies = 0;
    }
    const seq = ++n.lastSeq;
    const answer = answers.get(i);
    if (!answer) return { conversationId: n.id, seq, id: randomUUID() };
    n.replies++;
    n.resetMisses ||= !!answer.resetMisses;
    return { conversationId: n.id, seq, id: randomUUID(), reply: { answer, seq: ++n.lastSeq, id: randomUUID() } };
  });
  const opening = [...state.values()].filter((n) => n.isNew);
  const moving = [...state.values()].filter((n) => !n.isNew);
  // the customer's messages, each followed by the bot's answer to it when there is one
  const rows = seqs.flatMap((s, i) => {
    const a = arrivals[i];
    const message = { id: s.id, conversationId: s.conversationId, seq: s.seq, senderType: a.input.echo ? 'agent' : 'customer', type: a.input.type, text: a.input.text ?? null, payload: JSON.stringify(a.input.payload ?? {}), channel: a.input.channel, channelMsgId: a.input.channelMsgId, status: a.input.echo ? 'sent' : 'received' };
    if (!s.reply) return [message];
    const { answer, seq, id } = s.reply;
    // web chat is delivered by the realtime layer at commit; the other channels through the outbox
    const reply = { id, conversationId: s.conversationId, seq, senderType: 'bot', type: 'text', text: answer.text, payload: JSON.stringify({ ...answer.payload, clientMsgId: botReplyId(s.id) }), channel: a.input.channel, channelMsgId: null, status: a.input.channel === 'web' ? 'sent' : 'pending' };
    return [message, reply];
  });
  const outbox = rows.filter((r) => r.status === 'pending');
  const own = outbox.length ? claim.claimOwn(outbox.length) : 0;

  const statements = [
    opening.length
      ? tx<ConversationRow[]>`
          insert into conversations (id, customer_id, identity_id, channel, channel_account, last_seq, replies_since_customer, last_message_at, last_customer_message_at)
          select id, customer_id, identity_id, channel, nullif(account, ''), last_seq, replies, now(), case when customer = 1 then now() end
            from unnest(${opening.map((n) => n.id)}::uuid[], ${opening.map((n) => n.first.customerId)}::uuid[], ${opening.map((n) => n.first.identityId)}::uuid[],
                        ${opening.map((n) => n.first.input.channel)}::text[], ${opening.map((n) => n.first.input.channelAccount ?? '')}::text[],
                        ${opening.map((n) => n.lastSeq)}::int[], ${opening.map((n) => n.replies)}::int[], ${opening.map((n) => (n.customer ? 1 : 0))}::int[])
                 as t(id, customer_id, identity_id, channel, account, last_seq, replies, customer)
          returning *`.execute()
      : [],
    moving.length
      ? tx<ConversationRow[]>`
          update conversations c
             set last_seq = v.last_seq, last_message_at = now(), replies_since_customer = v.replies,
                 last_customer_message_at = case when v.customer = 1 then now() else c.last_customer_message_at end,
                 -- the customer writing wakes a snoozed conversation
                 snoozed_until = case when v.customer = 1 then null else c.snoozed_until end,
                 bot_misses = case when v.reset = 1 then 0 else c.bot_misses end
            from (select * from unnest(${moving.map((n) => n.id)}::uuid[], ${moving.map((n) => n.lastSeq)}::int[],
                                       ${moving.map((n) => (n.customer ? 1 : 0))}::int[], ${moving.map((n) => n.replies)}::int[],
                                       ${moving.map((n) => (n.resetMisses ? 1 : 0))}::int[])
                       as t(id, last_seq, customer, replies, reset)) v
           where c.id = v.id
          returning c.*`.execute()
      : [],
    // one array per column: the statement's text is the same for any batch size, so it is prepared once
    tx<MessageRow[]>`
      insert into messages (id, conversation_id, seq, sender_type, type, text, payload, channel, channel_msg_id, status)
      select id, conversation_id, seq, sender_type, type, text, payload::jsonb, channel, channel_msg_id, status
        from unnest(${rows.map((r) => r.id)}::uuid[], ${rows.map((r) => r.conversationId)}::uuid[], ${rows.map((r) => r.seq)}::int[],
                    ${rows.map((r) => r.senderType)}::text[], ${rows.map((r) => r.type)}::text[], ${rows.map((r) => r.text)}::text[],
                    ${rows.map((r) => r.payload)}::text[], ${rows.map((r) => r.channel)}::text[], ${rows.map((r) => r.channelMsgId)}::text[],
                    ${rows.map((r) => r.status)}::text[])
             as t(id, conversation_id, seq, sender_type, type, text, payload, channel, channel_msg_id, status)
      returning *`.execute(),
    // the first `own` rows as a claim leaves them (claimDueDeliveries): one attempt made, leased to this node
    outbox.length
      ? tx<{ id: number; messageId: string }[]>`
          insert into outbox (message_id, channel, attempts, lease_until)
          select m, c, case when n <= ${own} then 1 else 0 end, case when n <= ${own} then clock_timestamp() + ${claim.leaseMs} * interval '1 millisecond' end
            from unnest(${outbox.map((r) => r.id)}::uuid[], ${outbox.map((r) => r.channel)}::text[]) with ordinality as t(m, c, n)
          returning id, message_id`.execute()
      : [],
    inboxExtras(tx, [...state.values()].map((n) => n.id)),
  ] as const;
  const [created, updated, inserted, queued, extras] = await (commit ? commitWith(tx, statements) : Promise.all(statements));
  const claimed = new Set<string>(outbox.slice(0, own).map((r) => r.id));
  const outboxIdOf = new Map(queued.filter((q) => claimed.has(q.messageId)).map((q) => [q.messageId, q.id]));
  const conversationById = new Map([...created, ...updated].map((c) => [c.id, c]));
  const byId = new Map(inserted.map((m) => [m.id, m]));
  const inboxOf = new Map(extras.map(({ id, ...inbox }) => [id, inbox]));
  return seqs.map(({ conversationId, id, reply }, i): Appended => {
    const out = { message: byId.get(id)!, conversation: conversationById.get(conversationId)!, inbox: inboxOf.get(conversationId)! };
    if (!reply) return out;
    // only a conversation's single message of the batch is answered here, so before its answer the row was this
    const before = arrivals[i].existing;
    const asOfMessage = { ...out.conversation, lastSeq: out.message.seq, repliesSinceCustomer: 0, botMisses: before?.botMisses ?? 0 };
    return { ...out, reply: byId.get(reply.id)!, asOfMessage, outboxId: outboxIdOf.get(reply.id) };
  });
}

