import type { Queryable } from '../db/client.ts';
import { replyBlocked } from '../conversations/channel-rules.ts';
import type { ConversationRow } from '../conversations/rows.ts';

export type Unreachable = 'no_conversation' | 'agent_active' | 'window_closed' | 'quota_exhausted';

export interface Reach {
  /** the conversation to write in, or to hand to an agent; null when the customer never chatted */
  conversation: ConversationRow | null;
  /** why a playbook message cannot go out there now; null when it can */
  blocked: Unreachable | null;
}

/**
 * Where a customer can be written to now: their most recent conversation (the channel they last used), if
 * WeChat's 48 h / 5-message window is open there. A conversation a human is handling is not interrupted by an
 * automatic message: the script goes to that agent instead.
 */
export async function reachOf(q: Queryable, customerId: string, now = new Date()): Promise<Reach> {
  const [c] = await q<ConversationRow[]>`
    select * from conversations where customer_id = ${customerId}
     order by coalesce(last_customer_message_at, created_at) desc limit 1`;
  if (!c) return { conversation: null, blocked: 'no_conversation' };
  if (c.status === 'open' || c.status === 'queued') return { conversation: c, blocked: 'agent_active' };
  const err = replyBlocked(c, now);
  return { conversation: c, blocked: err ? (err.code as Unreachable) : null };
}

export const UNREACHABLE_TEXT: Record<Unreachable, string> = {
  no_conversation: '客户从未在可触达的渠道咨询过',
  agent_active: '客户正在与客服对话，话术已推荐给客服',
  window_closed: '客户超过 48 小时未发消息，微信不允许主动发送',
  quota_exhausted: '客户来信后已发满 5 条，微信不允许继续发送',
};
