import type { Deps } from '../../core/deps.ts';
import { isUnavailable } from '../../core/db/unavailable.ts';
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
import { API_SOCKETS } from '../channels/wx/api.ts';

/** Sends one message through its channel; resolves with the channel's id for it, throws on failure. */
export type ChannelSender = (d: DueDelivery) => Promise<{ channelMsgId: string | null }>;

export interface OutboxOptions {
  /**
   * at most this many calls to the channels at once: a claim fetches as many rows as there are free places. The
   * default is the connections a node keeps to an API host (API_SOCKETS), so no call of the outbox waits for one
   * while its timeout runs. Bench, 2 runs each: 64 places sustained 1,833–1,983 msgs/s with every answer sent,
   * 128 places 1,940–2,250, 256 places 1,815–2,222; a busy node's claims are bigger with more places.
   */
  inFlight?: number;
  /** after a claim that found fewer rows than it asked for, the pause before the next, to let new rows gather */
  gatherMs?: number;
  leaseMs?: number;
  /**
   * the longest a channel call can take (WX_API_TIMEOUT_MS): a call started within `leaseMs - 2 × sendTimeoutMs` of
   * its claim ends, token fetch and send, before its lease does, so the node's own answers (OutboxHandoff) may wait
   * that long for a place
   */
  sendTimeoutMs?: number;
  /** at most this many of the node's own answers waiting for a place; more are written for a claim */
  handoffQueue?: number;
  maxAttempts?: number;
  /** first retry delay; doubles each attempt up to maxDelayMs */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export const OUTBOX_DEFAULTS: Required<OutboxOptions> = { inFlight: API_SOCKETS, gatherMs: 25, leaseMs: 30_000, sendTimeoutMs: 10_000, handoffQueue: 2048, maxAttempts: 8, baseDelayMs: 1000, maxDelayMs: 300_000 };

const NOT_CONFIGURED: DeliveryFailure = { code: 'channel_not_configured', reason: '该渠道未配置（缺少 AppID/Secret 等），消息无法发出', retryable: false };

/**
 * Sends one claimed message through its channel and records the outcome. Retryable failures (network, 5xx, rate
 * limits, platform busy) come back with exponential backoff; the rest fail at once with a reason the agent can
 * act on. `called` runs once the channel has answered (or failed), before the outcome is written. Rejects only
 * when the outcome could not be written (the database away): the row then comes back when its lease ends.
 */
export async function sendOne(
  deps: Deps,
  senders: Partial<Record<Channel, ChannelSender>>,
  d: DueDelivery,
  o: Required<OutboxOptions>,
  called: () => void = () => {},
): Promise<void> {
  const send = senders[d.message.channel];
  if (!send) {
    called();
    return void (await markUndeliverable(deps, { outboxId: d.outboxId, messageId: d.message.id }, NOT_CONFIGURED));
  }
  let channelMsgId: string | null;
  try {
    ({ channelMsgId } = await send(d));
  } catch (err) {
    called();
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
    return;
  }
  called();
  // WeChat has it now: failing to record that is not a failed send, and must not lead to sending it again
  await recordDelivered(deps, d, channelMsgId, o.leaseMs);
}

/**
 * Records a send WeChat accepted, trying again while the database is away (a restart, a failover). Given up,
 * the row comes back when its lease ends and the customer gets the message twice (a mini-program send carries no
 * id WeChat could deduplicate by), so it keeps trying for about as long as the lease hides the row from other nodes.
 */
async function recordDelivered(deps: Deps, d: DueDelivery, channelMsgId: string | null, leaseMs: number): Promise<void> {
  const until = Date.now() + leaseMs;
  for (let wait = 100; ; wait = Math.min(wait * 2, 5000)) {
    try {
      return await markDelivered(deps, d, channelMsgId);
    } catch (err) {
      if (!isUnavailable(err) || Date.now() + wait >= until) {
        deps.log.error({ err, messageId: d.message.id }, 'a message WeChat accepted is not recorded as sent: it will be sent again when its lease ends');
        return;
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
