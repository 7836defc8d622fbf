import type { Deps } from '../deps.ts';
import { asksOptOut, recordOptOut } from '../recovery/optout.ts';
import { inTransaction } from '../events.ts';
import { resolveIdentity, type IdentityInput } from '../customers/identities.ts';
import { badRequest } from '../errors.ts';
import { appendMessage } from './append.ts';
import type { Channel, ConversationRow, MessageRow } from './rows.ts';

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
 * Returns only after commit, so the caller may acknowledge the channel.
 */
export async function ingestInbound(deps: Deps, input: InboundMessage): Promise<IngestResult> {
  if (!input.channelMsgId || input.channelMsgId.length > 128) throw badRequest('invalid_message', '消息 ID 为空或过长');
  if (input.text !== undefined && input.text.length > MAX_TEXT_LENGTH)
    throw badRequest('message_too_long', `消息不能超过 ${MAX_TEXT_LENGTH} 个字符`);
  const optOut = !input.echo && (await asksOptOut(deps.sql, input.text));
  return inTransaction(deps.sql, deps.bus, async (tx, emit) => {
    const identity = await resolveIdentity(tx, input.identity);
    // Checked under the identity lock taken above, so concurrent retries of one message serialize here.
    const [existing] = await tx<MessageRow[]>`
      select * from messages where channel = ${input.channel} and channel_msg_id = ${input.channelMsgId}`;
    if (existing) {
      const [conversation] = await tx<ConversationRow[]>`select * from conversations where id = ${existing.conversationId}`;
      return { message: existing, conversation, duplicate: true };
    }
    const account = input.channelAccount ?? null;
    let [conversation] = await tx<ConversationRow[]>`
      select * from conversations
       where identity_id = ${identity.id} and channel = ${input.channel} and status <> 'resolved'
         and channel_account is not distinct from ${account}
       order by created_at desc limit 1`;
    if (!conversation) {
      [conversation] = await tx<ConversationRow[]>`
        insert into conversations (customer_id, identity_id, channel, channel_account)
        values (${identity.customerId}, ${identity.id}, ${input.channel}, ${account})
        returning *`;
    }
    const appended = await appendMessage(tx, conversation.id, {
      senderType: input.echo ? 'agent' : 'customer',
      type: input.type,
      text: input.text ?? null,
      payload: input.payload,
      channel: input.channel,
      channelMsgId: input.channelMsgId,
      status: input.echo ? 'sent' : 'received',
    });
    if (optOut) await recordOptOut(tx, identity.customerId, appended.message.id);
    emit({ type: 'message.created', ...appended });
    return { ...appended, duplicate: false };
  });
}
