import type { MessageRow } from '../../../core/conversations/rows.ts';

/**
 * Our message as customerServiceMessage.send wants it. Mini-programs have no menu message, so quick replies are
 * listed as numbered lines the customer can type back.
 */
export function toMpOutgoing(m: Pick<MessageRow, 'type' | 'text' | 'payload'>): { msgtype: string } & Record<string, unknown> {
  const p = m.payload ?? {};
  switch (m.type) {
    case 'image':
      return { msgtype: 'image', image: { media_id: String(p.mediaId ?? '') } };
    case 'link':
      return { msgtype: 'link', link: { title: p.title, description: p.desc, url: p.url, thumb_url: p.picUrl } };
    case 'miniprogram':
      return { msgtype: 'miniprogrampage', miniprogrampage: { title: p.title, pagepath: p.pagePath, thumb_media_id: p.thumbMediaId } };
    default: {
      const quick = Array.isArray(p.quickReplies) ? (p.quickReplies as unknown[]).map(String) : [];
      const lines = quick.map((q, i) => `${i + 1}. ${q}`);
      return { msgtype: 'text', text: { content: [m.text ?? '', ...lines].join('\n') } };
    }
  }
}
