import { Descriptions, Empty, List, Skeleton, Space, Statistic, Tag, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { time, yuan } from '../shared/format.ts';
import { IDENTITY_LABEL, ORDER_STATUS_LABEL, PLATFORM_LABEL, TIER_LABEL } from '../shared/labels.ts';
import type { Profile } from '../shared/types.ts';
import { api } from './api.ts';

/** The unified customer profile beside the conversation. */
export function ProfilePanel({ customerId }: { customerId: string | null }) {
  const [profile, setProfile] = useState<Profile | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setProfile(null);
    setError(null);
    if (!customerId) return;
    let live = true;
    api<{ profile: Profile }>(`/api/v1/customers/${customerId}/profile`)
      .then((r) => live && setProfile(r.profile))
      .catch((e) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [customerId]);

  if (!customerId) return <Empty description="选择会话后显示客户信息" style={{ marginTop: 80 }} />;
  if (error) return <Typography.Text type="danger">{error}</Typography.Text>;
  if (!profile) return <Skeleton active />;
  return (
    <div data-testid="profile" style={{ padding: 16 }}>
      <Space align="center" style={{ marginBottom: 12 }}>
        <Typography.Title level={4} style={{ margin: 0 }} data-testid="profile-name">
          {profile.displayName}
        </Typography.Title>
        <Tag color="gold">{TIER_LABEL[profile.tier] ?? profile.tier}</Tag>
      </Space>
      <Space size="large" style={{ marginBottom: 12 }}>
        <Statistic title="累计消费" value={yuan(profile.totals.spentFen)} data-testid="profile-spent" />
        <Statistic title="订单数" value={profile.totals.orderCount} />
        <Statistic title="客单价" value={yuan(profile.totals.aovFen)} />
      </Space>
      <Descriptions size="small" column={1} bordered styles={{ label: { width: 80, whiteSpace: "nowrap" } }}>
        <Descriptions.Item label="手机号">{profile.phone ?? '—'}</Descriptions.Item>
        <Descriptions.Item label="积分">{profile.points}</Descriptions.Item>
        <Descriptions.Item label="身份">
          <Space wrap data-testid="profile-identities">
            {profile.identities.map((i) => (
              <Tag key={`${i.kind}:${i.value}`}>
                {IDENTITY_LABEL[i.kind] ?? i.kind}：{i.displayName ?? i.value}
              </Tag>
            ))}
          </Space>
        </Descriptions.Item>
      </Descriptions>
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
              description={`${o.platformOrderId} · ${ORDER_STATUS_LABEL[o.status] ?? o.status} · ${time(o.orderedAt)}`}
            />
          </List.Item>
        )}
      />
    </div>
  );
}
