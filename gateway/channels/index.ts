import { Redis } from 'ioredis';
import type { Config } from '../../core/config.ts';
import type { Channel } from '../../core/conversations/rows.ts';
import type { Deps } from '../../core/deps.ts';
import type { CallbackRoute } from '../http/callbacks.ts';
import type { Metrics } from '../metrics.ts';
import type { ChannelSender } from '../workers/outbox.ts';
import { miniprogramCallbackRoutes } from './miniprogram/callback.ts';
import { MpClient } from './miniprogram/client.ts';
import { toMpOutgoing } from './miniprogram/outgoing.ts';
import { wecomCallbackRoutes } from './wecom-kf/callback.ts';
import { KfClient } from './wecom-kf/client.ts';
import { kfMsgId, toKfOutgoing } from './wecom-kf/outgoing.ts';
import { AccessTokens } from './wx/access-token.ts';
import { WxRateLimiter } from './wx/rate-limit.ts';

export interface Channels {
  /** the push endpoints WeChat and WeCom call (served ahead of the Koa app: gateway/http/callbacks.ts) */
  callbacks: CallbackRoute[];
  senders: Partial<Record<Channel, ChannelSender>>;
  kf: KfClient | null;
  mp: MpClient | null;
  /** set by the workers: wakes the kf sync loop after a callback recorded news */
  kfNews: { notify(): void };
  close(): Promise<void>;
}

/** WeChat channels from the config; a channel whose settings are missing answers 404 channel_not_configured. */
export function createChannels(config: Config, deps: Deps, metrics: Metrics): Channels {
  const redis = config.REDIS_URL ? new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, lazyConnect: true, keyPrefix: config.REDIS_PREFIX }) : null;
  redis?.on('error', (err) => deps.log.warn({ err: err.message }, 'redis (tokens) error'));
  const tokens = new AccessTokens(redis);
  const limits = new WxRateLimiter(config.WX_API_LIMIT_PER_MIN, redis, (err) => deps.log.warn({ err: (err as Error).message }, 'redis (rate limits) error: counting on this node alone'));
  const kfNews = { notify: () => {} };
  const senders: Partial<Record<Channel, ChannelSender>> = {};

  const wecomInbound =
    config.WECOM_CORP_ID && config.WECOM_TOKEN && config.WECOM_AES_KEY
      ? {
          keys: { token: config.WECOM_TOKEN, aesKey: config.WECOM_AES_KEY, receiveId: config.WECOM_CORP_ID },
          replayWindowS: config.WECOM_REPLAY_WINDOW_S,
          onSyncRequested: () => kfNews.notify(),
        }
      : null;
  const kf =
    config.WECOM_CORP_ID && config.WECOM_SECRET
      ? new KfClient({ apiBase: config.WECOM_API_BASE, corpId: config.WECOM_CORP_ID, secret: config.WECOM_SECRET, timeoutMs: config.WX_API_TIMEOUT_MS }, tokens, limits)
      : null;
  if (kf) {
    senders.wecom_kf = async (d) => {
      if (!d.conversation.channelAccount) throw new Error('conversation has no open_kfid');
      const msgid = kfMsgId(d.message.id);
      const r = await kf.sendMsg({ touser: d.recipient, open_kfid: d.conversation.channelAccount, msgid, ...toKfOutgoing(d.message) });
      return { channelMsgId: r.msgid || msgid };
    };
  }

  const mpInbound = config.MP_APPID && config.MP_TOKEN
    ? { appId: config.MP_APPID, token: config.MP_TOKEN, aesKey: config.MP_AES_KEY, replayWindowS: config.MP_REPLAY_WINDOW_S }
    : null;
  const mp = config.MP_APPID && config.MP_SECRET ? new MpClient({ apiBase: config.MP_API_BASE, appId: config.MP_APPID, secret: config.MP_SECRET, timeoutMs: config.WX_API_TIMEOUT_MS }, tokens, limits) : null;
  if (mp) {
    senders.miniprogram = async (d) => {
      await mp.sendCustom({ touser: d.recipient, ...toMpOutgoing(d.message) });
      return { channelMsgId: null };
    };
  }

  return {
    callbacks: [...wecomCallbackRoutes(deps, metrics, wecomInbound), ...miniprogramCallbackRoutes(deps, metrics, mpInbound)],
    senders,
    kf,
    mp,
    kfNews,
    async close() {
      if (redis?.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis?.disconnect();
    },
  };
}
