import { App, Button, Card, Form, InputNumber, Popconfirm, Select, Space, Switch, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Agent } from '../../shared/types.ts';
import { api } from '../api.ts';
import { AgentFormModal, ResetPasswordModal, ROLE, TeamFormModal, type AccountRow } from './AccountForms.tsx';
import { PresenceTag, usePresenceUpdates } from './presence.tsx';
import { useLoad } from './useLoad.ts';

interface Team {
  id: string;
  name: string;
  categories: string[];
  isDefault: boolean;
  sla: { firstResponseMinutes: number; resolutionMinutes: number };
  routing: { sticky: boolean; strategy: 'least_loaded' | 'longest_idle'; priorityFirst: boolean };
}

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

/** An admin's actions on one account: edit, reset its password, lift a lockout, disable or enable it. */
function AccountActions({ a, me, onEdit, onReset, onChanged }: { a: AccountRow; me: Agent; onEdit(): void; onReset(): void; onChanged(): void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const call = async (path: string, init: { method: string; body?: unknown }, done: string) => {
    try {
      await api(path, init);
      message.success(t(done));
      onChanged();
    } catch (e) {
      message.error((e as Error).message);
    }
  };
  if (a.disabled)
    return (
      <Button size="small" type="link" onClick={() => void call(`/api/v1/agents/${a.id}`, { method: 'PUT', body: { disabled: false } }, '已启用')}>
        {t('启用')}
      </Button>
    );
  return (
    <Space size={0} data-testid={`actions-${a.email}`}>
      <Button size="small" type="link" onClick={onEdit}>
        {t('编辑')}
      </Button>
      {a.id !== me.id && (
        <Button size="small" type="link" onClick={onReset}>
          {t('重置密码')}
        </Button>
      )}
      {a.lockedUntil && (
        <Button size="small" type="link" onClick={() => void call(`/api/v1/agents/${a.id}/unlock`, { method: 'POST' }, '已解锁')}>
          {t('解锁')}
        </Button>
      )}
      {a.id !== me.id && (
        <Popconfirm
          title={t('停用后对方立即退出登录，未回复的工单回到队列。确定停用？')}
          okText={t('停用')}
          cancelText={t('取消')}
          onConfirm={() => call(`/api/v1/agents/${a.id}`, { method: 'PUT', body: { disabled: true } }, '已停用')}
        >
          <Button size="small" type="link" danger>
            {t('停用')}
          </Button>
        </Popconfirm>
      )}
    </Space>
  );
}

export default function TeamPage({ me }: { me: Agent }) {
  const { t } = useTranslation();
  const admin = me.role === 'admin';
  const [showDisabled, setShowDisabled] = useState(false);
  const [editing, setEditing] = useState<AccountRow | 'new' | null>(null);
  const [resetting, setResetting] = useState<AccountRow | null>(null);
  const [newTeam, setNewTeam] = useState(false);
  const agents = useLoad<{ agents: AccountRow[] }>(showDisabled ? '/api/v1/agents?include=disabled' : '/api/v1/agents');
  // live: a status set, a console closed or back, shows without reloading the page
  usePresenceUpdates<AccountRow>((a) => a.id, (update) => agents.patch((d) => (d ? { agents: update(d.agents) } : d)));
  const teams = useLoad<{ teams: Team[] }>('/api/v1/teams');
  const teamList = teams.data?.teams ?? [];
  const teamName = new Map(teamList.map((x) => [x.id, x.name]));
  return (
    <div data-testid="page-team">
      <Space style={{ width: '100%', justifyContent: 'space-between' }}>
        <Typography.Title level={4}>{t('客服列表')}</Typography.Title>
        {admin && (
          <Space>
            <Switch size="small" checked={showDisabled} onChange={setShowDisabled} data-testid="show-disabled" /> {t('显示已停用')}
            <Button type="primary" onClick={() => setEditing('new')} data-testid="new-agent">
              {t('新建客服')}
            </Button>
          </Space>
        )}
      </Space>
      <Table<AccountRow>
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
            render: (s: string, a: AccountRow) =>
              a.disabled ? (
                <Tag>{t('已停用')}</Tag>
              ) : (
                <Space size={4}>
                  <PresenceTag status={s} disconnectedAt={a.disconnectedAt} />
                  {a.mustChangePassword && <Tag color="gold">{t('待改初始密码')}</Tag>}
                  {a.lockedUntil && (
                    <Tag color="red" title={new Date(a.lockedUntil).toLocaleString()}>
                      {t('已锁定')}
                    </Tag>
                  )}
                </Space>
              ),
          },
          { title: t('客服组'), dataIndex: 'teamIds', render: (ids?: string[]) => (ids ?? []).map((id) => <Tag key={id}>{teamName.get(id) ?? id}</Tag>) },
          { title: t('技能'), dataIndex: 'skills', render: (s: string[]) => (s ?? []).join('、') },
          { title: t('上限'), dataIndex: 'maxConcurrent' },
          ...(admin
            ? [
                {
                  title: t('操作'),
                  key: 'actions',
                  render: (_: unknown, a: AccountRow) => (
                    <AccountActions a={a} me={me} onEdit={() => setEditing(a)} onReset={() => setResetting(a)} onChanged={() => void agents.reload()} />
                  ),
                },
              ]
            : []),
        ]}
      />
      <Space style={{ width: '100%', justifyContent: 'space-between', marginTop: 24 }}>
        <Typography.Title level={4}>{t('客服组设置')}</Typography.Title>
        {admin && (
          <Button onClick={() => setNewTeam(true)} data-testid="new-team">
            {t('新建客服组')}
          </Button>
        )}
      </Space>
      {teamList.map((team) => (
        <TeamCard key={team.id} team={team} editable={me.role !== 'agent'} onSaved={() => void teams.reload()} />
      ))}
      {editing && (
        <AgentFormModal editing={editing === 'new' ? null : editing} teams={teamList} onClose={() => setEditing(null)} onSaved={() => void agents.reload()} />
      )}
      {resetting && <ResetPasswordModal agent={resetting} onClose={() => setResetting(null)} onSaved={() => void agents.reload()} />}
      {newTeam && <TeamFormModal onClose={() => setNewTeam(false)} onSaved={() => void teams.reload()} />}
    </div>
  );
}
