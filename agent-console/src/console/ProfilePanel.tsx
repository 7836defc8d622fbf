import { Button, Descriptions, Empty, Input, List, Skeleton, Space, Statistic, Tag, Tooltip, Typography, App } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { time, yuan } from '../shared/format.ts';
import { CHANNEL_LABEL, IDENTITY_LABEL, ORDER_STATUS_LABEL, PLATFORM_LABEL } from '../shared/labels.ts';
import type { Profile } from '../shared/types.ts';
import { api } from './api.ts';

const SEGMENT_COLOR: Record<string, string> = { 高价值: 'red', 潜力: 'orange', 新客: 'green', 流失风险: 'volcano', 沉睡: 'default', 未购买: 'default' };
const TAG_COLOR: Record<string, string> = { auto: 'blue', manual: 'default', import: 'purple' };
const CART_LABEL: Record<string, string> = { active: '购物车', abandoned: '已放弃', purchased: '已购买' };

/** The unified customer profile beside the conversation: who the customer is across every platform. */
export function ProfilePanel({ customerId, canReveal }: { customerId: string | null; canReveal: boolean }) {
  const { message } = App.useApp();
  const [profile, setProfile] = useState<Profile | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [newTag, setNewTag] = useState('');

  const load = useCallback(
    (reveal = false) => {
      if (!customerId) return () => {};
      let live = true;
      api<{ profile: Profile }>(`/api/v1/customers/${customerId}/profile${reveal ? '?reveal=1' : ''}`)
        .then((r) => live && setProfile(r.profile))
        .catch((e) => live && setError(e.message));
      return () => {
        live = false;
      };
    },
    [customerId],
  );
  useEffect(() => {
    setProfile(null);
    setError(null);
    return load();
  }, [load]);

  const tagAction = async (method: 'POST' | 'DELETE', tag: string) => {
    try {
      const path = method === 'POST' ? `/api/v1/customers/${customerId}/tags` : `/api/v1/customers/${customerId}/tags/${encodeURIComponent(tag)}`;
      const r = await api<{ profile: Profile }>(path, { method, body: method === 'POST' ? { tag } : undefined });
      setProfile(r.profile);
      setNewTag('');
    } catch (e) {
      message.error((e as Error).message);
    }
  };

  if (!customerId) return <Empty description="选择会话后显示客户信息" style={{ marginTop: 80 }} />;
  if (error) return <Typography.Text type="danger">{error}</Typography.Text>;
  if (!profile) return <Skeleton active />;
  const csatAvg = profile.csat.length ? (profile.csat.reduce((n, c) => n + c.score, 0) / profile.csat.length).toFixed(1) : null;
  return (
    <div data-testid="profile" style={{ padding: 16 }}>
      <Space align="center" wrap style={{ marginBottom: 12 }}>
        <Typography.Title level={4} style={{ margin: 0 }} data-testid="profile-name">
          {profile.displayName}
        </Typography.Title>
        <Tooltip title={profile.tierSource === 'member' ? '店铺会员体系授予' : '按累计消费计算'}>
          <Tag color="gold" data-testid="profile-tier">{profile.tierName}</Tag>
        </Tooltip>
        <Tooltip title={`近 ${profile.rfm.windowDays} 天：${profile.rfm.recencyDays === null ? '未购买' : `${profile.rfm.recencyDays} 天前下单`}，${profile.rfm.frequency} 单，${yuan(profile.rfm.monetaryFen)}`}>
          <Tag color={SEGMENT_COLOR[profile.rfm.segment] ?? 'cyan'} data-testid="profile-segment">{profile.rfm.segment}</Tag>
        </Tooltip>
      </Space>
      <Space size="large" wrap style={{ marginBottom: 12 }}>
        <Statistic title="累计消费" value={yuan(profile.totals.spentFen)} data-testid="profile-spent" />
        <Statistic title="订单数" value={profile.totals.orderCount} />
        <Statistic title="客单价" value={yuan(profile.totals.aovFen)} />
        <Tooltip title="估算：已消费 + 近一年消费速度 × 2 年 × 活跃度">
          <Statistic title="预估 LTV" value={yuan(profile.ltvFen)} data-testid="profile-ltv" />
        </Tooltip>
      </Space>
      <Descriptions size="small" column={1} bordered styles={{ label: { width: 80, whiteSpace: 'nowrap' } }}>
        <Descriptions.Item label="手机号">
          <Space>
            <span data-testid="profile-phone">{profile.phone ?? '—'}</span>
            {canReveal && !profile.revealed && profile.phone && (
              <Button size="small" type="link" onClick={() => load(true)} data-testid="profile-reveal">
                查看完整（留痕）
              </Button>
            )}
          </Space>
        </Descriptions.Item>
        <Descriptions.Item label="积分">{profile.points}</Descriptions.Item>
        <Descriptions.Item label="身份">
          <Space wrap data-testid="profile-identities">
            {profile.identities.map((i) => (
              <Tag key={`${i.kind}:${i.value}`}>
                {IDENTITY_LABEL[i.kind] ?? i.kind}：{i.displayName ?? i.value}
                {i.verified ? ' ✓' : ''}
              </Tag>
            ))}
          </Space>
        </Descriptions.Item>
        <Descriptions.Item label="标签">
          <Space wrap data-testid="profile-tags">
            {profile.tags.map((t) => (
              <Tag
                key={`${t.source}:${t.tag}`}
                color={TAG_COLOR[t.source]}
                closable={t.source === 'manual'}
                onClose={(e) => {
                  e.preventDefault();
                  void tagAction('DELETE', t.tag);
                }}
              >
                {t.tag}
              </Tag>
            ))}
            <Input
              size="small"
              style={{ width: 96 }}
              placeholder="+ 标签"
              value={newTag}
              data-testid="profile-tag-input"
              onChange={(e) => setNewTag(e.target.value)}
              onPressEnter={() => newTag.trim() && void tagAction('POST', newTag.trim())}
            />
          </Space>
        </Descriptions.Item>
        {(profile.openTickets.length > 0 || csatAvg) && (
          <Descriptions.Item label="服务">
            {profile.openTickets.map((t) => `工单 #${t.number}（${t.category ?? '未分类'}）`).join('、') || '无进行中工单'}
            {csatAvg && ` · 满意度 ${csatAvg}/5（${profile.csat.length} 次）`}
          </Descriptions.Item>
        )}
      </Descriptions>
      {profile.carts.length > 0 && (
        <>
          <Typography.Title level={5} style={{ marginTop: 16 }}>
            购物车
          </Typography.Title>
          <List
            size="small"
            data-testid="profile-carts"
            dataSource={profile.carts}
            renderItem={(c) => (
              <List.Item extra={<b>{yuan(c.totalFen)}</b>}>
                <Space size={4}>
                  <Tag>{PLATFORM_LABEL[c.platform] ?? c.platform}</Tag>
                  <Tag color={c.status === 'abandoned' ? 'red' : undefined}>{CART_LABEL[c.status] ?? c.status}</Tag>
                  {time(c.updatedAt)}
                </Space>
              </List.Item>
            )}
          />
        </>
      )}
      <Typography.Title level={5} style={{ marginTop: 16 }}>
        订单
      </Typography.Title>
      <List
        size="small"
        data-testid="profile-orders"
        locale={{ emptyText: '暂无订单' }}
        dataSource={profile.orders}
        renderItem={(o) => (
          <List.Item extra={<b>{yuan(o.totalFen)}</b>}>
            <List.Item.Meta
              title={
                <Space size={4}>
                  <Tag>{PLATFORM_LABEL[o.platform] ?? o.platform}</Tag>
                  {o.items.map((i) => i.name).join('、')}
                </Space>
              }
              description={`${o.platformOrderId} · ${ORDER_STATUS_LABEL[o.status] ?? o.status} · ${time(o.orderedAt)}${o.address ? ` · ${o.address}` : ''}`}
            />
          </List.Item>
        )}
      />
      {profile.conversations.length > 1 && (
        <Typography.Paragraph type="secondary" style={{ marginTop: 8, fontSize: 12 }}>
          历史会话 {profile.conversations.length} 次：
          {profile.conversations.map((c) => `${CHANNEL_LABEL[c.channel] ?? c.channel} ${time(c.lastMessageAt)}`).join('，')}
        </Typography.Paragraph>
      )}
    </div>
  );
}
