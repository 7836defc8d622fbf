import type { Deps } from '../deps.ts';
import { Batcher, STALL_MS } from '../batcher.ts';
import { inTransaction } from '../events.ts';
import { commitWith, transaction, type Tx } from '../db/client.ts';
import type { Channel, ConversationRow, MessageRow } from './rows.ts';
import { MAX_REPLIES_PER_CUSTOMER_MESSAGE } from './channel-rules.ts';

const WINDOW_SHUT = new Set(['quota_exhausted', 'window_closed']);

export interface DueDelivery {
  outboxId: number;
  attempts: number;
  message: MessageRow;
  conversation: ConversationRow;
  /** the channel identity the customer wrote from (external_userid, openid) */
  recipient: string;
}

/**
 * A node's outbox taking the replies its own transactions wrote (the bot's inline answers): their outbox rows are
 * written already leased to the node, as a claim would leave them, and go out right after the commit. The claim
 * they skip was a transaction of its own that wrote each row a second time and read its message and conversation
 * back, rows the writer still holds. The lease still covers the node dying before or during the send.
 */
export interface OutboxHandoff {
  leaseMs: number;
  /**
   * Sets aside up to `n` of the outbox's free places for rows the caller's transaction claims; fewer (0 too) when
   * it is busy or older rows wait to be claimed, which then go first.
   */
  reserve(n: number): Reserved;
}

export interface Reserved {
  readonly count: number;
  /** after the commit: sends `due` (at most `count`); `unclaimed`: the transaction also wrote rows for a claim */
  take(due: DueDelivery[], unclaimed: boolean): void;
  /** the transaction failed: the places are free again; nothing after `take` */
  release(): void;
}

/**
 * Claims due outbox rows for sending. SKIP LOCKED lets every node claim at once without waiting on each other;
 * the lease hides a row while it is being sent, and brings it back if that node dies mid-send.
 *
 * The claim and the reads of what to send are one transaction: a claim committed alone, whose reads then failed
 * (the database restarting in between), hid its rows for the whole lease, and their customers waited 30 s more
 * for an answer that was ready.
 */
export async function claimDueDeliveries(deps: Deps, limit: number, leaseMs: number): Promise<DueDelivery[]> {
  return transaction(deps.sql, async (tx) => {
    // `id = any(array(…))`, not `id in (…)`: the rows claimed are found through the primary key whatever the
    // planner knows of the table. Planned as a join while the outbox was small (a fresh database, statistics not
    // gathered yet), the claim went on reading the whole outbox: 4 ms a claim at 28,000 rows
    const claimed = await tx<{ id: number; messageId: string; attempts: number }[]>`
      update outbox set lease_until = now() + ${leaseMs} * interval '1 millisecond', attempts = attempts + 1
       where id = any(array(
         select id from outbox
          where status = 'pending' and next_attempt_at <= now() and (lease_until is null or lease_until < now())
          order by next_attempt_at
          limit ${limit}
          for update skip locked))
      returning id, message_id, attempts`;
    if (!claimed.length) return [];
    // `= any(array)`, not `in (list)`: one prepared statement whatever the count, no describe round trip per size;
    // the conversations are found through the messages, so both reads go out at once, with the COMMIT
    const ids = claimed.map((r) => r.messageId);
    const [messages, conversations] = await commitWith(tx, [
      tx<MessageRow[]>`select * from messages where id = any(${ids}::uuid[])`.execute(),
      tx<(ConversationRow & { recipient: string })[]>`
        select c.*, i.value as recipient from conversations c join identities i on i.id = c.identity_id
         where c.id in (select conversation_id from messages where id = any(${ids}::uuid[]))`.execute(),
    ]);
    const messageById = new Map(messages.map((m) => [m.id, m]));
    const conversationById = new Map(conversations.map((c) => [c.id, c]));
    return claimed.flatMap((o) => {
      const message = messageById.get(o.messageId);
      const conversation = message && conversationById.get(message.conversationId);
      if (!message || !conversation) return [];
      const { recipient, ...rest } = conversation;
      return [{ outboxId: o.id, attempts: o.attempts, message, conversation: rest, recipient }];
    });
  });
}

/**
 * Records a send WeChat accepted. Sends finishing at the same moment are recorded together, in one transaction
 * of three statements, so a busy outbox does not cost four round trips per message.
 */
export async function markDelivered(deps: Deps, d: Pick<DueDelivery, 'outboxId' | 'message'>, channelMsgId: string | null): Promise<void> {
  await deliveredBatcher(deps).submit({ outboxId: d.outboxId, messageId: d.message.id, conversationId: d.message.conversationId, channelMsgId });
}

type Delivered = { outboxId: number; messageId: string; conversationId: string; channelMsgId: string | null };
const batchers = new WeakMap<object, Batcher<Delivered, void>>();
function deliveredBatcher(deps: Deps): Batcher<Delivered, void> {
  let b = batchers.get(deps.bus);
  if (!b) batchers.set(deps.bus, (b = new Batcher((items) => markDeliveredBatch(deps, items), { max: 500, concurrency: 2, stallMs: STALL_MS, onStall: (n) => deps.batchStalled?.('delivered', n), key: (d) => d.messageId, observe: (n, s) => deps.observeBatch?.('delivered', n, s) })));
  return b;
}

async function markDeliveredBatch(deps: Deps, items: Delivered[]): Promise<void[]> {
  const ids = items.map((d) => d.messageId);
  await inTransaction(deps.sql, deps.bus, async (tx, emit) => {
    // one round trip: the conversations are read behind the updates, on the same connection, and COMMIT follows
    const [, messages, conversations] = await commitWith(tx, [
      tx`update outbox set status = 'sent', lease_until = null, last_error = null where id = any(${items.map((d) => d.outboxId)}::bigint[])`.execute(),
      // each message's channel id by its place in the list, not by a join: `id = any(…)` is found through the
      // primary key, where a join planned while the table was small went on scanning all of it
      tx<MessageRow[]>`
        update messages m set status = 'sent', error = null, error_code = null,
               channel_msg_id = coalesce((${items.map((d) => d.channelMsgId)}::text[])[array_position(${ids}::uuid[], m.id)], m.channel_msg_id)
         where m.id = any(${ids}::uuid[])
        returning m.*`.execute(),
      tx<ConversationRow[]>`select * from conversations where id = any(${[...new Set(items.map((d) => d.conversationId))]}::uuid[])`.execute(),
    ] as const);
    const byId = new Map(conversations.map((c) => [c.id, c]));
    for (const message of messages) emit({ type: 'message.updated', message, conversation: byId.get(message.conversationId)! });
  });
  return items.map(() => undefined);
}

/**
 * Gives claimed rows back unsent (a node stopping, or its own answers that waited too long for a place): claimable
 * at once, by any node, without the attempt counted. A row claimed again meanwhile (its lease ended: its attempts
 * moved on) is another node's now and stays as it is.
 */
export async function releaseClaims(deps: Deps, rows: Pick<DueDelivery, 'outboxId' | 'attempts'>[]): Promise<void> {
  await deps.sql`
    update outbox set lease_until = null, attempts = attempts - 1
     where (id, attempts) in (select * from unnest(${rows.map((r) => r.outboxId)}::bigint[], ${rows.map((r) => r.attempts)}::int[])) and status = 'pending'`;
}

export async function retryDeliveryLater(deps: Deps, outboxId: number, delayMs: number, error: string, opts: { callNotMade?: boolean } = {}): Promise<void> {
  // a call held back by our own rate limit never reached WeChat: it does not use up one of the message's attempts
  await deps.sql`
    update outbox set lease_until = null, last_error = ${error}, next_attempt_at = now() + ${delayMs} * interval '1 millisecond',
           attempts = attempts - ${opts.callNotMade ? 1 : 0}
     where id = ${outboxId}`;
}

/** Marks a message undeliverable with a stable code and the reason the agent reads. Idempotent. */
export async function markUndeliverable(
  deps: Deps,
  target: { outboxId?: number; messageId: string },
  failure: { code: string; reason: string },
): Promise<MessageRow | null> {
  return inTransaction(deps.sql, deps.bus, async (tx, emit) => {
    await tx`update outbox set status = 'failed', lease_until = null, last_error = ${failure.reason} where message_id = ${target.messageId}`;
    const [message] = await tx<MessageRow[]>`
      update messages set status = 'failed', error = ${failure.reason}, error_code = ${failure.code}
       where id = ${target.messageId} and (status <> 'failed' or error_code is distinct from ${failure.code})
       returning *`;
    if (!message) return null;
    // WeChat says the window is shut: close ours too, so the next reply is refused up front with the reason
    if (WINDOW_SHUT.has(failure.code))
      await tx`update conversations set replies_since_customer = greatest(replies_since_customer, ${MAX_REPLIES_PER_CUSTOMER_MESSAGE})
                where id = ${message.conversationId}`;
    emit({ type: 'message.updated', message, conversation: await conversationOf(tx, message) });
    return message;
  });
}

/** Our outbound message that a channel knows by its own id (the msgid we passed to send_msg). */
export async function findOutboundByChannelId(deps: Deps, channel: Channel, channelMsgId: string): Promise<MessageRow | null> {
  const [row] = await deps.sql<MessageRow[]>`
    select * from messages where channel = ${channel} and channel_msg_id = ${channelMsgId} and sender_type <> 'customer'`;
  return row ?? null;
}

async function conversationOf(tx: Tx, m: MessageRow): Promise<ConversationRow> {
  const [c] = await tx<ConversationRow[]>`select * from conversations where id = ${m.conversationId}`;
  return c;
}
