import { Card, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { time, yuan } from '../shared/format.ts';
import { ORDER_STATUS_LABEL } from '../shared/labels.ts';
import type { Message } from '../shared/types.ts';

const SENDER_LABEL: Record<Message['senderType'], string> = { customer: '客户', bot: '机器人', agent: '客服', system: '系统' };
const BACKGROUND: Record<Message['senderType'], string> = { agent: '#95ec69', customer: '#fff', bot: '#e8f4ff', system: '#f0f0f0' };

interface OrderPayload {
  platformOrderId?: string;
  status?: string;
  totalFen?: number;
  items?: { name: string; qty?: number }[];
}

/** The body of a message by its type: text, picture, link card, mini-program card, order card. */
function Body({ m }: { m: Message }) {
  const { t } = useTranslation();
  const p = m.payload as Record<string, unknown>;
  const str = (k: string) => (typeof p[k] === 'string' ? (p[k] as string) : undefined);
  switch (m.type) {
    case 'image':
      return str('url') ? (
        <img src={str('url')} alt="" style={{ maxWidth: 220, maxHeight: 220, borderRadius: 4, display: 'block' }} data-testid="message-image" />
      ) : (
        <Typography.Text type="secondary">[{t('图片')}]</Typography.Text>
      );
    case 'link':
      return (
        <Card size="small" style={{ width: 260 }} data-testid="message-link">
          <Typography.Text strong>{str('title')}</Typography.Text>
          <div style={{ fontSize: 12, color: '#666' }}>{str('desc')}</div>
          {str('url') && (
            <a href={str('url')} target="_blank" rel="noreferrer" style={{ fontSize: 12 }}>
              {str('url')}
            </a>
          )}
          {m.text && <div style={{ marginTop: 6, whiteSpace: 'pre-wrap' }}>{m.text}</div>}
        </Card>
      );
    case 'miniprogram':
    case 'miniprogrampage':
      return (
        <Card size="small" style={{ width: 240 }} data-testid="message-miniprogram">
          <Tag color="green">{t('小程序')}</Tag>
          <Typography.Text strong>{str('title')}</Typography.Text>
          <div style={{ fontSize: 12, color: '#999' }}>{str('pagePath')}</div>
        </Card>
      );
    case 'order': {
      const o = (p.order ?? {}) as OrderPayload;
      return (
        <Card size="small" style={{ width: 260 }} data-testid="message-order" title={`${t('订单')} ${o.platformOrderId ?? ''}`}>
          {(o.items ?? []).map((i, k) => (
            <div key={k}>
              {i.name} × {i.qty ?? 1}
            </div>
          ))}
          <div style={{ marginTop: 4 }}>
            <Tag>{ORDER_STATUS_LABEL[o.status ?? ''] ?? o.status}</Tag>
            {o.totalFen !== undefined && <Typography.Text strong>{yuan(o.totalFen)}</Typography.Text>}
          </div>
        </Card>
      );
    }
    default:
      return (
        <>
          {m.text}
          {m.payload.quickReplies && (
            <div style={{ marginTop: 6 }}>
              {m.payload.quickReplies.map((q) => (
                <Tag key={q}>{q}</Tag>
              ))}
            </div>
          )}
        </>
      );
  }
}

export function MessageBubble({ m }: { m: Message }) {
  const { t } = useTranslation();
  const mine = m.senderType !== 'customer';
  return (
    <div style={{ display: 'flex', justifyContent: mine ? 'flex-end' : 'flex-start', padding: '6px 16px' }} data-testid="message" data-sender={m.senderType} data-seq={m.seq}>
      <div style={{ maxWidth: '70%' }}>
        <div style={{ fontSize: 12, color: '#999', textAlign: mine ? 'right' : 'left' }}>
          {t(SENDER_LABEL[m.senderType])} · {time(m.createdAt)}
          {m.payload.recovery ? <Tag color="orange" style={{ marginLeft: 4 }}>{t('挽回话术')}</Tag> : null}
          {m.status === 'failed' && <Tag color="red">{t('发送失败')}{m.error ? `：${m.error}` : ''}</Tag>}
          {m.status === 'pending' && <Tag>{t('发送中')}</Tag>}
        </div>
        <div style={{ background: BACKGROUND[m.senderType], padding: '8px 12px', borderRadius: 8, whiteSpace: 'pre-wrap', wordBreak: 'break-word', boxShadow: '0 1px 2px rgba(0,0,0,.06)' }}>
          <Body m={m} />
        </div>
      </div>
    </div>
  );
}

export interface Note {
  id: number;
  authorId: string;
  authorName?: string;
  text: string;
  createdAt: string;
}

/** An internal note: only colleagues see it, and it looks like nothing the customer could have received. */
export function NoteBubble({ n }: { n: Note }) {
  const { t } = useTranslation();
  return (
    <div style={{ padding: '6px 16px' }} data-testid="note">
      <div style={{ background: '#fffbe6', border: '1px dashed #faad14', borderRadius: 6, padding: '6px 10px' }}>
        <div style={{ fontSize: 12, color: '#ad6800' }}>
          {t('内部备注')} · {n.authorName ?? ''} · {time(n.createdAt)}
        </div>
        <div style={{ whiteSpace: 'pre-wrap' }}>{n.text}</div>
      </div>
    </div>
  );
}
