import type { MessageRow } from '../../../core/conversations/rows.ts';
import type { KfOutgoing } from './client.ts';

const MENU_MAX = 10;

/**
 * Our message as kf/send_msg wants it. Bot quick replies become a msgmenu, so the customer taps instead of typing;
 * the tap comes back as a text message with the item's content.
 */
export function toKfOutgoing(m: Pick<MessageRow, 'type' | 'text' | 'payload'>): KfOutgoing {
  const p = m.payload ?? {};
  const quick = Array.isArray(p.quickReplies) ? (p.quickReplies as unknown[]).map(String).slice(0, MENU_MAX) : [];
  switch (m.type) {
    case 'image':
      return { msgtype: 'image', image: { media_id: String(p.mediaId ?? '') } };
    case 'link':
      return { msgtype: 'link', link: { title: p.title, desc: p.desc, url: p.url, thumb_media_id: p.thumbMediaId } };
    case 'miniprogram':
      return { msgtype: 'miniprogram', miniprogram: { appid: p.appId, title: p.title, thumb_media_id: p.thumbMediaId, pagepath: p.pagePath } };
    default:
      if (quick.length)
        return {
          msgtype: 'msgmenu',
          msgmenu: { head_content: m.text ?? '', list: quick.map((content, i) => ({ type: 'click', click: { id: String(i + 1), content } })) },
        };
      return { msgtype: 'text', text: { content: m.text ?? '' } };
  }
}

/** The msgid we give WeCom for one of our messages: its uuid without dashes (32 chars, within WeCom's limit). */
export const kfMsgId = (messageId: string) => messageId.replaceAll('-', '');
