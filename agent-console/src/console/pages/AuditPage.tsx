import { App, Button, Input, Select, Space, Table, Tag, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Agent } from '../../shared/types.ts';
import { api, download } from '../api.ts';
import { useLoad } from './useLoad.ts';

interface Entry {
  id: number;
  at: string;
  actor: { id: string; name: string | null } | null;
  action: string;
  target: { type: string; id: string; label: string | null };
  details: Record<string, unknown>;
}

// every action the server records (core/audit.ts callers); an unknown one shows as its code
const ACTIONS: Record<string, string> = {
  'customer.reveal': '查看完整联系方式',
  'customer.merge': '合并客户',
  'customer.split': '拆分客户',
  'kb.export': '导出知识库',
  'kb.import': '导入知识库',
  'kb.create': '新增知识',
  'kb.update': '修改知识',
  'kb.delete': '删除知识',
  'kb.synonyms': '修改同义词',
  'agent.login': '登录',
  'agent.create': '新建客服',
  'agent.role_change': '修改角色',
  'agent.teams': '修改客服组',
  'agent.disable': '停用账号',
  'agent.enable': '启用账号',
  'agent.password_change': '修改自己的密码',
  'agent.password_reset': '重置密码',
  'agent.unlock': '解锁账号',
  'team.create': '新建客服组',
  'team.update': '修改客服组设置',
  'playbook.create': '新建挽回方案',
  'playbook.update': '修改挽回方案',
  'playbook.disable': '停用挽回方案',
  'recovery.settings': '修改挽回设置',
  'settings.customer_rules': '修改客户规则',
  'audit.export': '导出审计日志',
};
const ROLES: Record<string, string> = { agent: '坐席', supervisor: '主管', admin: '管理员' };
const FIELDS: Record<string, string> = { phone: '手机号', address: '地址' };

/**
 * The details as a shop owner reads them: the usual keys in words (a role change as 坐席 → 主管, team ids as names,
 * the address of a sign-in), anything else as it was stored.
 */
function Details({ d, teams }: { d: Entry['details']; teams: Map<string, string> }) {
  const { t } = useTranslation();
  const parts: string[] = [];
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d)) {
    if (k === 'from' && typeof v === 'string' && typeof d.to === 'string') parts.push(`${t(ROLES[v] ?? v)} → ${t(ROLES[d.to] ?? d.to)}`);
    else if (k === 'to' && typeof d.from === 'string') continue;
    else if (k === 'role' && typeof v === 'string') parts.push(`${t('角色')}：${t(ROLES[v] ?? v)}`);
    else if (k === 'teamIds' && Array.isArray(v)) parts.push(`${t('客服组')}：${v.map((id) => teams.get(String(id)) ?? String(id)).join('、') || t('无')}`);
    else if (k === 'ip' && typeof v === 'string') parts.push(`IP ${v}`);
    else if (k === 'userAgent') continue; // long; in the CSV export
    else if (k === 'email' && typeof v === 'string') parts.push(v);
    else if (k === 'entries' && typeof v === 'number') parts.push(`${v} ${t('条')}`);
    else if (k === 'fields' && Array.isArray(v)) parts.push(v.map((f) => t(FIELDS[String(f)] ?? String(f))).join('、'));
    else if (k === 'by' && v === 'cli') parts.push(t('服务器命令行'));
    else rest[k] = v;
  }
  return (
    <Space size={4} wrap>
      {parts.map((p) => (
        <Tag key={p}>{p}</Tag>
      ))}
      {Object.keys(rest).length > 0 && <Typography.Text code>{JSON.stringify(rest)}</Typography.Text>}
    </Space>
  );
}

const TARGETS: Record<string, string> = { audit: '审计日志', agent: '客服', customer: '客户', kb: '知识库', playbook: '挽回方案', settings: '设置', team: '客服组' };
const PAGE = 50;

/** 审计日志 (admins): who revealed, merged, exported, and changed accounts and settings, newest first. */
export default function AuditPage() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [action, setAction] = useState<string | undefined>();
  const [actorId, setActorId] = useState<string | undefined>();
  // days as the browser's calendar has them (YYYY-MM-DD), sent as the instants they start at
  const [fromDay, setFromDay] = useState('');
  const [toDay, setToDay] = useState('');
  const [entries, setEntries] = useState<Entry[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const agents = useLoad<{ agents: Agent[] }>('/api/v1/agents?include=disabled');
  const teamList = useLoad<{ teams: { id: string; name: string }[] }>('/api/v1/teams');
  const teams = new Map((teamList.data?.teams ?? []).map((x) => [x.id, x.name]));

  const filter = useCallback(() => {
    const dayStart = (day: string, plus = 0) => {
      const d = new Date(`${day}T00:00:00`);
      d.setDate(d.getDate() + plus);
      return d.toISOString();
    };
    return {
      ...(action ? { action } : {}),
      ...(actorId ? { actorId } : {}),
      ...(fromDay ? { since: dayStart(fromDay) } : {}),
      ...(toDay ? { until: dayStart(toDay, 1) } : {}), // the whole of the last day
    };
  }, [action, actorId, fromDay, toDay]);
  const [exporting, setExporting] = useState(false);
  const exportCsv = async () => {
    setExporting(true);
    try {
      await download(`/api/v1/audit/export?${new URLSearchParams(filter())}`, `huike-audit-${new Date().toISOString().slice(0, 10)}.csv`);
    } catch (e) {
      message.error((e as Error).message);
    } finally {
      setExporting(false);
    }
  };
  const load = useCallback(
    async (before: number | null) => {
      setLoading(true);
      try {
        const q = new URLSearchParams({ limit: String(PAGE), ...filter(), ...(before ? { before: String(before) } : {}) });
        const r = await api<{ entries: Entry[]; nextBefore: number | null }>(`/api/v1/audit?${q}`);
        setEntries((prev) => (before ? [...prev, ...r.entries] : r.entries));
        setNext(r.nextBefore);
      } catch (e) {
        message.error((e as Error).message);
      } finally {
        setLoading(false);
      }
    },
    [filter, message],
  );
  useEffect(() => {
    void load(null);
  }, [load]);

  return (
    <div data-testid="page-audit">
      <Typography.Title level={4}>{t('审计日志')}</Typography.Title>
      <Space style={{ marginBottom: 12 }} wrap>
        <Select
          allowClear
          showSearch
          optionFilterProp="label"
          placeholder={t('全部操作')}
          style={{ width: 200 }}
          value={action}
          onChange={setAction}
          data-testid="audit-action"
          options={Object.entries(ACTIONS).map(([value, label]) => ({ value, label: t(label) }))}
        />
        <Select
          allowClear
          showSearch
          optionFilterProp="label"
          placeholder={t('全部操作人')}
          style={{ width: 200 }}
          value={actorId}
          onChange={setActorId}
          options={(agents.data?.agents ?? []).map((a) => ({ value: a.id, label: a.name }))}
        />
        <Space size={4}>
          <Input type="date" value={fromDay} onChange={(e) => setFromDay(e.target.value)} style={{ width: 150 }} data-testid="audit-from" aria-label={t('开始日期')} />
          ~
          <Input type="date" value={toDay} onChange={(e) => setToDay(e.target.value)} style={{ width: 150 }} data-testid="audit-to" aria-label={t('结束日期')} />
        </Space>
        <Button onClick={() => void exportCsv()} loading={exporting} data-testid="audit-export">
          {t('导出 CSV')}
        </Button>
      </Space>
      <Table<Entry>
        rowKey="id"
        size="small"
        loading={loading}
        dataSource={entries}
        pagination={false}
        columns={[
          { title: t('时间'), dataIndex: 'at', width: 180, render: (at: string) => new Date(at).toLocaleString() },
          { title: t('操作人'), dataIndex: 'actor', width: 140, render: (a: Entry['actor']) => a?.name ?? <Tag>{t('系统 / 命令行')}</Tag> },
          { title: t('操作'), dataIndex: 'action', width: 160, render: (x: string) => (ACTIONS[x] ? t(ACTIONS[x]) : x) },
          {
            title: t('对象'),
            dataIndex: 'target',
            render: (x: Entry['target']) => (
              <Space size={4}>
                <Tag>{t(TARGETS[x.type] ?? x.type)}</Tag>
                {x.label ?? x.id}
              </Space>
            ),
          },
          {
            title: t('详情'),
            dataIndex: 'details',
            render: (d: Entry['details']) => <Details d={d} teams={teams} />,
          },
        ]}
      />
      {next !== null && (
        <Button style={{ marginTop: 12 }} loading={loading} onClick={() => void load(next)} data-testid="audit-more">
          {t('加载更多')}
        </Button>
      )}
    </div>
  );
}
