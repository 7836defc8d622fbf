import { ingestInbound } from '../../../core/conversations/ingest.ts';
import type { Deps } from '../../../core/deps.ts';
import { AppError, badRequest } from '../../../core/errors.ts';
import type { CallbackRoute } from '../../http/callbacks.ts';
import type { Metrics } from '../../metrics.ts';
import { CALLBACK_LIMIT } from '../wecom-kf/callback.ts';
import { openEnvelope, verifyPlainSignature, type EnvelopeKeys } from '../wx/envelope.ts';
import { parseWxXml } from '../wx/xml.ts';
import { mapMpMessage } from './incoming.ts';

export interface MpInboundConfig {
  appId: string;
  token: string;
  /** absent: plain mode only */
  aesKey?: string;
  replayWindowS: number;
}

/** XML or JSON, whichever the push uses (the format is chosen in the mini-program's console). */
function parseBody(text: string): { data: Record<string, unknown>; json: boolean } {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    try {
      // MsgId is a 64-bit integer: as a JS number it would round, and two messages would share one id
      const data = JSON.parse(trimmed.replace(/:\s*(-?\d{16,})(?=\s*[,}\]])/g, ':"$1"')) as unknown;
      if (data && typeof data === 'object' && !Array.isArray(data)) return { data: data as Record<string, unknown>, json: true };
    } catch {
      /* fall through */
    }
    throw badRequest('invalid_json', '请求体不是合法的 JSON');
  }
  return { data: parseWxXml(text), json: false };
}

/**
 * `/channels/miniprogram/callback`: mini-program 客服消息 push. GET is the server check (echostr returned as is).
 * POST in plain mode is checked by `signature`; in safe mode (encrypt_type=aes) by `msg_signature` over the
 * ciphertext, which is then opened. The message is stored before we answer "success".
 */
export function miniprogramCallbackRoutes(deps: Deps, metrics: Metrics, cfg: MpInboundConfig | null): CallbackRoute[] {
  const path = '/channels/miniprogram/callback';
  const count = (kind: string) => metrics.channelCallbacks.inc({ channel: 'miniprogram', kind });
  const nowS = () => Math.floor(Date.now() / 1000);
  const notConfigured = () => new AppError(404, 'channel_not_configured', '未配置小程序客服消息：请设置 MP_APPID、MP_TOKEN');

  const guard = async <T>(fn: () => T | Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof AppError) count(`rejected:${err.code}`);
      throw err;
    }
  };

  const verify: CallbackRoute['handle'] = async (req) => {
    if (!cfg) throw notConfigured();
    await guard(() =>
      verifyPlainSignature(cfg.token, { signature: req.query('signature'), timestamp: req.query('timestamp'), nonce: req.query('nonce') }, { nowS: nowS(), windowS: cfg.replayWindowS }),
    );
    count('verify');
    return { body: req.query('echostr') };
  };

  const receive: CallbackRoute['handle'] = async (req) => {
    if (!cfg) throw notConfigured();
    const opts = { nowS: nowS(), windowS: cfg.replayWindowS };
    const raw = (await req.body(CALLBACK_LIMIT)).toString('utf8');
    const message = await guard(() => {
      const outer = parseBody(raw);
      if (req.query('encrypt_type') !== 'aes') {
        verifyPlainSignature(cfg.token, { signature: req.query('signature'), timestamp: req.query('timestamp'), nonce: req.query('nonce') }, opts);
        return mapMpMessage(outer.data);
      }
      if (!cfg.aesKey) throw badRequest('safe_mode_not_configured', '收到安全模式消息，但未配置 MP_AES_KEY');
      if (typeof outer.data.Encrypt !== 'string') throw badRequest('invalid_message', '安全模式消息缺少 Encrypt 字段');
      const keys: EnvelopeKeys = { token: cfg.token, aesKey: cfg.aesKey, receiveId: cfg.appId };
      const plain = openEnvelope(keys, { signature: req.query('msg_signature'), timestamp: req.query('timestamp'), nonce: req.query('nonce'), encrypt: outer.data.Encrypt }, opts);
      return mapMpMessage(parseBody(plain).data);
    });
    if (message) {
      await ingestInbound(deps, {
        channel: 'miniprogram',
        channelMsgId: `${cfg.appId}:${message.msgId}`,
        channelAccount: cfg.appId,
        identity: { kind: 'wx_openid', value: message.openid },
        type: message.type,
        text: message.text ?? undefined,
        payload: message.payload,
      });
    }
    count(message ? message.type : 'ignored');
    return { body: 'success' };
  };
  return [
    { method: 'GET', path, handle: verify },
    { method: 'POST', path, handle: receive },
  ];
}
