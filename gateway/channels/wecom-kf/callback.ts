import { z } from 'zod';
import { recordKfSyncRequest } from '../../../core/conversations/kf-sync.ts';
import type { Deps } from '../../../core/deps.ts';
import { AppError, badRequest } from '../../../core/errors.ts';
import type { CallbackRequest, CallbackRoute } from '../../http/callbacks.ts';
import type { Metrics } from '../../metrics.ts';
import { openEnvelope, type EnvelopeKeys } from '../wx/envelope.ts';
import { parseWxXml } from '../wx/xml.ts';

export const CALLBACK_LIMIT = 64 * 1024;

export interface WecomInbound {
  keys: EnvelopeKeys;
  replayWindowS: number;
  /** wakes the sync worker after a request was recorded */
  onSyncRequested(): void;
}

const kfEvent = z.object({
  MsgType: z.literal('event'),
  Event: z.literal('kf_msg_or_event'),
  Token: z.string().max(128).optional(),
  OpenKfId: z.string().min(1).max(64),
});

const envelopeOf = (req: CallbackRequest, encrypt: string) => ({ signature: req.query('msg_signature'), timestamp: req.query('timestamp'), nonce: req.query('nonce'), encrypt });

/**
 * `/channels/wecom/callback`. GET answers WeCom's URL check with the decrypted echostr. POST verifies and opens the
 * envelope, and for kf_msg_or_event writes a durable sync request before answering 200: WeCom only says "there is
 * news", and retries 3 times if we are slow, so the actual pull happens in the sync worker.
 */
export function wecomCallbackRoutes(deps: Deps, metrics: Metrics, inbound: WecomInbound | null): CallbackRoute[] {
  const path = '/channels/wecom/callback';
  const count = (kind: string) => metrics.channelCallbacks.inc({ channel: 'wecom', kind });
  const notConfigured = () => new AppError(404, 'channel_not_configured', '未配置企业微信客服：请设置 WECOM_CORP_ID、WECOM_TOKEN、WECOM_AES_KEY');
  const nowS = () => Math.floor(Date.now() / 1000);

  const verify: CallbackRoute['handle'] = async (req) => {
    if (!inbound) throw notConfigured();
    const plain = counted(count, () => openEnvelope(inbound.keys, envelopeOf(req, req.query('echostr')), { nowS: nowS(), windowS: inbound.replayWindowS }));
    count('verify');
    return { body: plain };
  };

  const receive: CallbackRoute['handle'] = async (req) => {
    if (!inbound) throw notConfigured();
    const raw = (await req.body(CALLBACK_LIMIT)).toString('utf8');
    const outer = counted(count, () => parseWxXml(raw));
    if (typeof outer.Encrypt !== 'string' || !outer.Encrypt) throw badRequest('invalid_xml', '缺少 Encrypt 字段');
    const plain = counted(count, () =>
      openEnvelope(inbound.keys, envelopeOf(req, outer.Encrypt as string), { nowS: nowS(), windowS: inbound.replayWindowS }),
    );
    const inner = counted(count, () => parseWxXml(plain));
    const kind = String(inner.Event || inner.MsgType || 'unknown');
    if (inner.Event === 'kf_msg_or_event') {
      const event = kfEvent.safeParse(inner);
      if (!event.success) throw badRequest('invalid_event', 'kf_msg_or_event 缺少 OpenKfId 或字段格式错误');
      await recordKfSyncRequest(deps.sql, event.data.OpenKfId, event.data.Token ?? null);
      inbound.onSyncRequested();
    } else {
      // a self-built app's own messages also arrive here; they are not customer conversations
      req.log.info({ kind }, 'wecom callback without kf news ignored');
    }
    count(kind);
    return { body: '' };
  };
  return [
    { method: 'GET', path, handle: verify },
    { method: 'POST', path, handle: receive },
  ];
}

/** Counts a rejection by its code before letting it reach the error middleware. */
function counted<T>(count: (kind: string) => void, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof AppError) count(`rejected:${err.code}`);
    throw err;
  }
}
