import type { Deps } from '../../core/deps.ts';
import {
  claimDueDeliveries,
  markDelivered,
  markUndeliverable,
  retryDeliveryLater,
  type DueDelivery,
} from '../../core/conversations/delivery.ts';
import type { Channel } from '../../core/conversations/rows.ts';
import { classifyDeliveryError, type DeliveryFailure } from '../channels/wx/delivery-errors.ts';
import { WxRateLimited } from '../channels/wx/rate-limit.ts';

/** Sends one message through its channel; resolves with the channel's id for it, throws on failure. */
export type ChannelSender = (d: DueDelivery) => Promise<{ channelMsgId: string | null }>;

export interface OutboxOptions {
  batch?: number;
  leaseMs?: number;
  maxAttempts?: number;
  /** first retry delay; doubles each attempt up to maxDelayMs */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export const OUTBOX_DEFAULTS: Required<OutboxOptions> = { batch: 100, leaseMs: 30_000, maxAttempts: 8, baseDelayMs: 1000, maxDelayMs: 300_000 };

const NOT_CONFIGURED: DeliveryFailure = { code: 'channel_not_configured', reason: '该渠道未配置（缺少 AppID/Secret 等），消息无法发出', retryable: false };

/**
 * One pass of the outbox: claim due rows, send each through its channel, record the outcome. Retryable failures
 * (network, 5xx, rate limits, platform busy) come back with exponential backoff; the rest fail at once with a
 * reason the agent can act on.
 */
export async function sendDueMessages(deps: Deps, senders: Partial<Record<Channel, ChannelSender>>, opts: OutboxOptions = {}): Promise<boolean> {
  const o = { ...OUTBOX_DEFAULTS, ...opts };
  const due = await claimDueDeliveries(deps, o.batch, o.leaseMs);
  await Promise.all(
    due.map(async (d) => {
      const send = senders[d.message.channel];
      if (!send) return void (await markUndeliverable(deps, { outboxId: d.outboxId, messageId: d.message.id }, NOT_CONFIGURED));
      try {
        const { channelMsgId } = await send(d);
        await markDelivered(deps, d, channelMsgId);
      } catch (err) {
        const failure = classifyDeliveryError(err);
        if (failure.retryable && (d.attempts < o.maxAttempts || err instanceof WxRateLimited)) {
          const delay = Math.max(failure.retryAfterMs ?? 0, Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (d.attempts - 1)));
          deps.log.warn({ messageId: d.message.id, attempts: d.attempts, delay, code: failure.code }, 'send failed, will retry');
          await retryDeliveryLater(deps, d.outboxId, delay, failure.reason, { callNotMade: err instanceof WxRateLimited });
          return;
        }
        const final = failure.retryable ? { code: 'retries_exhausted', reason: `多次重试仍未发出：${failure.reason}` } : failure;
        deps.log.warn({ messageId: d.message.id, code: final.code }, 'message undeliverable');
        await markUndeliverable(deps, { outboxId: d.outboxId, messageId: d.message.id }, final);
      }
    }),
  );
  return due.length > 0;
}
