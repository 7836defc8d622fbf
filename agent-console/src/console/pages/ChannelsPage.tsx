import { Badge, Card, Col, Descriptions, Row, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import type { Agent } from '../../shared/types.ts';
import { useLoad } from './useLoad.ts';

interface Channels {
  channels: { key: string; name: string; configured: boolean; conversations7d: number; detail: Record<string, unknown> }[];
  commerceWebhook: { configured: boolean; url: string };
}

/** What is connected and where WeChat should call; credentials are set in the environment, never shown here. */
export default function ChannelsPage(_: { me: Agent }) {
  const { t } = useTranslation();
  const { data } = useLoad<Channels>('/api/v1/channels');
  const origin = window.location.origin;
  return (
    <div data-testid="page-channels">
      <Typography.Title level={4}>{t('渠道')}</Typography.Title>
      <Row gutter={[16, 16]}>
        {(data?.channels ?? []).map((c) => (
          <Col key={c.key} xs={24} md={12} xl={8}>
            <Card title={c.name} extra={<Badge status={c.configured ? 'success' : 'default'} text={c.configured ? t('已接入') : t('未配置')} />}>
              <Descriptions column={1} size="small">
                <Descriptions.Item label={t('近 7 天会话')}>{c.conversations7d}</Descriptions.Item>
                {typeof c.detail.callback === 'string' && <Descriptions.Item label={t('回调地址')}>{origin + c.detail.callback}</Descriptions.Item>}
                {typeof c.detail.url === 'string' && <Descriptions.Item label="URL">{origin + c.detail.url}</Descriptions.Item>}
                {typeof c.detail.corpId === 'string' && <Descriptions.Item label="CorpID">{c.detail.corpId}</Descriptions.Item>}
                {typeof c.detail.appId === 'string' && <Descriptions.Item label="AppID">{c.detail.appId}</Descriptions.Item>}
                {Array.isArray(c.detail.accounts) && c.detail.accounts.length > 0 && <Descriptions.Item label="open_kfid">{(c.detail.accounts as string[]).join(', ')}</Descriptions.Item>}
              </Descriptions>
            </Card>
          </Col>
        ))}
        {data && (
          <Col xs={24} md={12} xl={8}>
            <Card title={t('电商事件接口')} extra={<Badge status={data.commerceWebhook.configured ? 'success' : 'default'} text={data.commerceWebhook.configured ? t('已接入') : t('未配置')} />}>
              <Typography.Text code>POST {origin + data.commerceWebhook.url}</Typography.Text>
              <div style={{ marginTop: 8, color: '#999', fontSize: 12 }}>X-Huike-Signature: HMAC-SHA256(COMMERCE_WEBHOOK_SECRET, body)</div>
            </Card>
          </Col>
        )}
      </Row>
    </div>
  );
}
