import type { Deps } from '../deps.ts';
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
  return inTransaction(deps.sql, deps.bus, async (tx, emit) => {
    const identity = await resolveIdentity(tx, input.identity);
    // Checked under the identity lock taken above, so concurrent retries of one message serialize here.
    const [existing] = await tx<MessageRow[]>`
      select * from messages where channel = ${input.channel} and channel_msg_id = ${input.channelMsgId}`;
    if (existing) {
      const [conversation] = await tx<ConversationRow[]>`select * from conversations where id = ${existing.conversationId}`;
      return { message: existing, conversation, duplicate: true };
    }
    let [conversation] = await tx<ConversationRow[]>`
      select * from conversations
       where identity_id = ${identity.id} and channel = ${input.channel} and status <> 'resolved'
       order by created_at desc limit 1`;
    if (!conversation) {
      [conversation] = await tx<ConversationRow[]>`
        insert into conversations (customer_id, identity_id, channel)
        values (${identity.customerId}, ${identity.id}, ${input.channel})
        returning *`;
    }
    const appended = await appendMessage(tx, conversation.id, {
      senderType: 'customer',
      type: input.type,
      text: input.text ?? null,
      payload: input.payload,
      channel: input.channel,
      channelMsgId: input.channelMsgId,
      status: 'received',
    });
    emit({ type: 'message.created', ...appended });
    return { ...appended, duplicate: false };
  });
}
