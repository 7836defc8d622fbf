import type { Deps } from '../deps.ts';
import { inTransaction, type DomainEvent } from '../events.ts';
import type { Tx } from '../db/client.ts';
import { badRequest, conflict } from '../errors.ts';
import { appendMessage } from './append.ts';
import { MAX_TEXT_LENGTH } from './ingest.ts';
import type { ConversationRow, MessageRow } from './rows.ts';
import { lockConversation } from './queries.ts';
import { replyBlocked } from './channel-rules.ts';

export interface OutboundMessage {
  conversationId: string;
  senderType: 'agent' | 'bot' | 'system';
  senderId?: string | null;
  type?: string;
  text: string;
  payload?: Record<string, unknown>;
}

/**
 * Writes a reply to the customer. Web chat is delivered by the realtime layer right after commit; external
 * channels get an outbox row in the same transaction, which the outbox worker sends with retries. WeChat's
 * 48 h / 5-message rule is checked here, under the conversation lock, so two agents cannot both send the 5th.
 */
export async function sendOutbound(
  deps: Deps,
  input: OutboundMessage,
): Promise<{ message: MessageRow; conversation: ConversationRow }> {
  return inTransaction(deps.sql, deps.bus, (tx, emit) => sendOutboundIn(tx, emit, input));
}

/** sendOutbound inside the caller's transaction (a recovery run sends and records itself atomically). */
export async function sendOutboundIn(
  tx: Tx,
  emit: (e: DomainEvent) => void,
  input: OutboundMessage,
): Promise<{ message: MessageRow; conversation: ConversationRow }> {
  const text = input.text.trim();
  if (!text) throw badRequest('empty_message', '消息内容不能为空');
  if (text.length > MAX_TEXT_LENGTH) throw badRequest('message_too_long', `消息不能超过 ${MAX_TEXT_LENGTH} 个字符`);
  const current = await lockConversation(tx, input.conversationId);
  if (current.status === 'resolved' && input.senderType === 'agent')
    throw conflict('conversation_resolved', '会话已结束，客户再次发来消息后才能回复');
  const external = current.channel !== 'web';
  const blocked = replyBlocked(current);
  if (blocked) throw blocked;
  const appended = await appendMessage(tx, current.id, {
    senderType: input.senderType,
    senderId: input.senderId,
    type: input.type,
    text,
    payload: input.payload,
    channel: current.channel,
    status: external ? 'pending' : 'sent',
  });
  if (external) {
    await tx`insert into outbox (message_id, channel) values (${appended.message.id}, ${current.channel})`;
  }
  if (input.senderType === 'agent') {
    await tx`update tickets set first_response_at = now()
              where conversation_id = ${current.id} and first_response_at is null and status in ('assigned', 'pending')`;
  }
  emit({ type: 'message.created', ...appended });
  return appended;
}
