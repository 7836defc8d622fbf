import { App, Button, Card, Form, InputNumber, Select, Space, Switch, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Agent } from '../../shared/types.ts';
import { api } from '../api.ts';
import { PresenceTag, usePresenceUpdates } from './presence.tsx';
import { useLoad } from './useLoad.ts';

interface AgentRow extends Agent {
  skills: string[];
  maxConcurrent: number;
}
interface Team {
  id: string;
  name: string;
  categories: string[];
  isDefault: boolean;
  sla: { firstResponseMinutes: number; resolutionMinutes: number };
  routing: { sticky: boolean; strategy: 'least_loaded' | 'longest_idle'; priorityFirst: boolean };
}

const ROLE: Record<string, string> = { agent: '坐席', supervisor: '主管', admin: '管理员' };

function TeamCard({ team, editable, onSaved }: { team: Team; editable: boolean; onSaved(): void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [saving, setSaving] = useState(false);
  const save = async (v: { categories: string[]; firstResponseMinutes: number; resolutionMinutes: number; strategy: Team['routing']['strategy']; sticky: boolean; priorityFirst: boolean }) => {
    setSaving(true);
    try {
      await api(`/api/v1/teams/${team.id}`, {
        method: 'PUT',
        body: { categories: v.categories, firstResponseMinutes: v.firstResponseMinutes, resolutionMinutes: v.resolutionMinutes, routing: { strategy: v.strategy, sticky: v.sticky, priorityFirst: v.priorityFirst } },
      });
      message.success(t('已保存'));
      onSaved();
    } catch (e) {
      message.error((e as Error).message);
    } finally {
      setSaving(false);
    }
  };
  return (
    <Card size="small" title={<Space>{team.name}{team.isDefault && <Tag>默认</Tag>}</Space>} style={{ marginBottom: 12 }}>
      <Form
        layout="inline"
        disabled={!editable}
        initialValues={{ categories: team.categories, ...team.sla, ...team.routing }}
        onFinish={save}
      >
        <Form.Item name="categories" label={t('分类')}>
          <Select mode="tags" style={{ minWidth: 260 }} />
        </Form.Item>
        <Form.Item name="firstResponseMinutes" label={t('首响时限（分钟）')}>
          <InputNumber min={1} max={10080} />
        </Form.Item>
        <Form.Item name="resolutionMinutes" label={t('解决时限（分钟）')}>
          <InputNumber min={1} max={43200} />
        </Form.Item>
        <Form.Item name="strategy" label={t('分配策略')}>
          <Select style={{ width: 120 }} options={[{ value: 'least_loaded', label: t('最少负载') }, { value: 'longest_idle', label: t('最久空闲') }]} />
        </Form.Item>
        <Form.Item name="priorityFirst" label={t('优先级优先')} valuePropName="checked">
          <Switch size="small" />
        </Form.Item>
        <Form.Item name="sticky" label={t('老客户优先分给上次的客服')} valuePropName="checked">
          <Switch size="small" />
        </Form.Item>
        {editable && (
          <Button htmlType="submit" type="primary" loading={saving}>
            {t('保存')}
          </Button>
        )}
      </Form>
    </Card>
  );
}

export default function TeamPage({ me }: { me: Agent }) {
  const { t } = useTranslation();
  const agents = useLoad<{ agents: AgentRow[] }>('/api/v1/agents');
  // live: a status set, a console closed or back, shows without reloading the page
  usePresenceUpdates<AgentRow>((a) => a.id, (update) => agents.patch((d) => (d ? { agents: update(d.agents) } : d)));
  const teams = useLoad<{ teams: Team[] }>('/api/v1/teams');
  const teamName = new Map((teams.data?.teams ?? []).map((x) => [x.id, x.name]));
  return (
    <div data-testid="page-team">
      <Typography.Title level={4}>{t('客服列表')}</Typography.Title>
      <Table<AgentRow>
        rowKey="id"
        size="small"
        loading={agents.loading}
        dataSource={agents.data?.agents ?? []}
        pagination={false}
        columns={[
          { title: t('姓名'), dataIndex: 'name' },
          { title: t('邮箱'), dataIndex: 'email' },
          { title: t('角色'), dataIndex: 'role', render: (r: string) => t(ROLE[r] ?? r) },
          {
            title: t('状态'),
            dataIndex: 'status',
            render: (s: string, a: AgentRow) => <PresenceTag status={s} disconnectedAt={a.disconnectedAt} />,
          },
          { title: t('客服组'), dataIndex: 'teamIds', render: (ids?: string[]) => (ids ?? []).map((id) => <Tag key={id}>{teamName.get(id) ?? id}</Tag>) },
          { title: t('技能'), dataIndex: 'skills', render: (s: string[]) => (s ?? []).join('、') },
          { title: t('上限'), dataIndex: 'maxConcurrent' },
        ]}
      />
      <Typography.Title level={4} style={{ marginTop: 24 }}>
        {t('客服组设置')}
      </Typography.Title>
      {(teams.data?.teams ?? []).map((team) => (
        <TeamCard key={team.id} team={team} editable={me.role !== 'agent'} onSaved={() => void teams.reload()} />
      ))}
    </div>
  );
}
