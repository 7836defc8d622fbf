import type { Tx } from '../db/client.ts';
import type { Channel, ConversationRow, MessageRow, SenderType } from './rows.ts';

export interface NewMessage {
  senderType: SenderType;
  senderId?: string | null;
  type?: string;
  text?: string | null;
  payload?: Record<string, unknown>;
  channel: Channel;
  channelMsgId?: string | null;
  status: MessageRow['status'];
}

/**
 * Appends a message and gives it the conversation's next seq. The UPDATE takes the conversation's row lock, so
 * seqs are gapless and ordered even when customer, bot and agent write at the same moment.
 */
export async function appendMessage(
  tx: Tx,
  conversationId: string,
  msg: NewMessage,
): Promise<{ message: MessageRow; conversation: ConversationRow }> {
  const fromCustomer = msg.senderType === 'customer';
  const [conversation] = await tx<ConversationRow[]>`
    update conversations
       set last_seq = last_seq + 1,
           last_message_at = now(),
           last_customer_message_at = case when ${fromCustomer} then now() else last_customer_message_at end,
           -- the customer writing wakes a snoozed conversation
           snoozed_until = case when ${fromCustomer} then null else snoozed_until end,
           replies_since_customer = case when ${fromCustomer} then 0
                                         when ${msg.senderType} in ('bot', 'agent', 'system') then replies_since_customer + 1
                                         else replies_since_customer end
     where id = ${conversationId}
     returning *`;
  const [message] = await tx<MessageRow[]>`
    insert into messages (conversation_id, seq, sender_type, sender_id, type, text, payload, channel, channel_msg_id, status)
    values (${conversationId}, ${conversation.lastSeq}, ${msg.senderType}, ${msg.senderId ?? null}, ${msg.type ?? 'text'},
            ${msg.text ?? null}, ${tx.json((msg.payload ?? {}) as never)}, ${msg.channel}, ${msg.channelMsgId ?? null}, ${msg.status})
    returning *`;
  return { message, conversation };
}
