import { z } from 'zod';
import { badRequest } from '../../../core/errors.ts';
import type { MappedMessage } from '../wecom-kf/incoming.ts';

const pushed = z.object({
  FromUserName: z.string().min(1).max(128),
  CreateTime: z.union([z.string(), z.number()]).transform(String),
  MsgType: z.string().min(1).max(32),
  MsgId: z.union([z.string(), z.number()]).transform(String).optional(),
  Event: z.string().max(64).optional(),
});

export interface MpInbound extends MappedMessage {
  openid: string;
  /** MsgId, or for events (which have none) a key made of sender, time and event */
  msgId: string;
}

const s = (v: unknown) => (v === undefined || v === null ? '' : String(v));

/** A pushed mini-program message (XML or JSON, already opened) as ours; null for events we do not keep. */
export function mapMpMessage(raw: Record<string, unknown>): MpInbound | null {
  const p = pushed.safeParse(raw);
  if (!p.success) throw badRequest('invalid_message', '小程序消息缺少 FromUserName/CreateTime/MsgType');
  const { FromUserName: openid, MsgType: type } = p.data;
  const msgId = p.data.MsgId ?? `${openid}:${p.data.CreateTime}:${p.data.Event ?? type}`;
  const base = { openid, msgId };
  switch (type) {
    case 'text':
      return { ...base, type: 'text', text: s(raw.Content), payload: {} };
    case 'image':
      return { ...base, type: 'image', text: '[图片]', payload: { picUrl: s(raw.PicUrl), mediaId: s(raw.MediaId) } };
    case 'miniprogrampage':
      return {
        ...base,
        type: 'miniprogram',
        text: `[小程序] ${s(raw.Title)}`,
        payload: { title: s(raw.Title), appId: s(raw.AppId), pagePath: s(raw.PagePath), thumbUrl: s(raw.ThumbUrl), thumbMediaId: s(raw.ThumbMediaId) },
      };
    case 'event':
      // entering the chat opens WeChat's 48 h reply window, so it is recorded like a message the bot does not answer
      if (p.data.Event === 'user_enter_tempsession')
        return { ...base, type: 'event', text: '[客户进入客服会话]', payload: { event: 'user_enter_tempsession', sessionFrom: s(raw.SessionFrom) } };
      return null;
    default:
      return { ...base, type: 'unsupported', text: `[暂不支持的消息类型：${type}]`, payload: { msgtype: type } };
  }
}
