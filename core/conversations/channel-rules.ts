import { conflict, type AppError } from '../errors.ts';
import type { Channel, ConversationRow } from './rows.ts';

/**
 * WeChat lets a business write to a customer only within 48 h of the customer's last message, and at most
 * 5 times before the customer writes again (WeCom 微信客服 and mini-program 客服消息 alike). Checking before
 * we queue a message lets the agent see why, instead of a bare failure minutes later.
 */
export const REPLY_WINDOW_MS = 48 * 3600 * 1000;
export const MAX_REPLIES_PER_CUSTOMER_MESSAGE = 5;

const RULED: ReadonlySet<Channel> = new Set(['wecom_kf', 'miniprogram']);

export interface ReplyWindow {
  /** false when the channel has no such rule (web chat) */
  limited: boolean;
  open: boolean;
  closesAt: Date | null;
  remaining: number | null;
}

export function replyWindow(c: Pick<ConversationRow, 'channel' | 'lastCustomerMessageAt' | 'repliesSinceCustomer'>, now = new Date()): ReplyWindow {
  if (!RULED.has(c.channel)) return { limited: false, open: true, closesAt: null, remaining: null };
  const closesAt = c.lastCustomerMessageAt ? new Date(c.lastCustomerMessageAt.getTime() + REPLY_WINDOW_MS) : null;
  const remaining = Math.max(0, MAX_REPLIES_PER_CUSTOMER_MESSAGE - (c.repliesSinceCustomer ?? 0));
  return { limited: true, open: !!closesAt && closesAt > now && remaining > 0, closesAt, remaining };
}

/** The reason a message may not go out now, or null. */
export function replyBlocked(c: Pick<ConversationRow, 'channel' | 'lastCustomerMessageAt' | 'repliesSinceCustomer'>, now = new Date()): AppError | null {
  const w = replyWindow(c, now);
  if (w.open) return null;
  if (!w.closesAt || w.closesAt <= now)
    return conflict('window_closed', '客户超过 48 小时没有发消息，微信规定此时不能主动发送；请等客户再次来信，或改用短信/电话联系');
  return conflict('quota_exhausted', `客户上次来信后已连续发送 ${MAX_REPLIES_PER_CUSTOMER_MESSAGE} 条消息，达到微信上限；客户回复后才能继续发送`);
}
