import type { KfSyncedMessage } from './client.ts';

export interface MappedMessage {
  type: string;
  text: string | null;
  payload: Record<string, unknown>;
}

type Part = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

/** Turns a synced kf message into our message type, a readable text line and the parts worth keeping. */
export function mapKfMessage(msg: KfSyncedMessage): MappedMessage {
  const part = (msg[msg.msgtype] ?? {}) as Part;
  switch (msg.msgtype) {
    case 'text':
      return { type: 'text', text: str(part.content), payload: part.menu_id ? { menuId: str(part.menu_id) } : {} };
    case 'image':
    case 'voice':
    case 'video':
    case 'file':
      return { type: msg.msgtype, text: LABEL[msg.msgtype], payload: { mediaId: str(part.media_id) } };
    case 'location':
      return {
        type: 'location',
        text: `[位置] ${str(part.name)} ${str(part.address)}`.trim(),
        payload: { latitude: part.latitude, longitude: part.longitude, name: str(part.name), address: str(part.address) },
      };
    case 'link':
      return {
        type: 'link',
        text: `[链接] ${str(part.title)}`,
        payload: { title: str(part.title), desc: str(part.desc), url: str(part.url), picUrl: str(part.pic_url) },
      };
    case 'miniprogram':
      return {
        type: 'miniprogram',
        text: `[小程序] ${str(part.title)}`,
        payload: { title: str(part.title), appId: str(part.appid), pagePath: str(part.pagepath), thumbMediaId: str(part.thumb_media_id) },
      };
    case 'business_card':
      return { type: 'business_card', text: '[名片]', payload: { userId: str(part.userid) } };
    default:
      return { type: 'unsupported', text: `[暂不支持的消息类型：${msg.msgtype}]`, payload: { msgtype: msg.msgtype } };
  }
}

const LABEL: Record<string, string> = { image: '[图片]', voice: '[语音]', video: '[视频]', file: '[文件]' };
