import { Alert, Button, Select, Space, Switch, Table, Tag, Typography } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { time } from '../../shared/format.ts';
import type { Agent } from '../../shared/types.ts';
import { go } from '../route.ts';
import { useLoad } from './useLoad.ts';

interface Ticket {
  id: string;
  number: number;
  conversationId: string;
  category: string | null;
  reason: string;
  priority: number;
  status: string;
  assigneeId: string | null;
  firstResponseAt: string | null;
  sla: { firstResponseDueAt: string | null; resolutionDueAt: string | null; escalatedAt: string | null };
  csatScore: number | null;
  createdAt: string;
}

const STATUS: Record<string, [string, string]> = {
  new: ['待分配', 'orange'],
  assigned: ['已分配', 'green'],
  pending: ['待客户回复', 'blue'],
  solved: ['已解决', 'default'],
  closed: ['已关闭', 'default'],
};

/** The SLA state of a ticket as one tag: answered in time, time left, or late. */
function Sla({ t: ticket }: { t: Ticket }) {
  if (ticket.sla.escalatedAt) return <Tag color="red">SLA 超时</Tag>;
  if (ticket.firstResponseAt) return <Tag color="green">已首响</Tag>;
  if (!ticket.sla.firstResponseDueAt) return null;
  const left = Math.round((new Date(ticket.sla.firstResponseDueAt).getTime() - Date.now()) / 60_000);
  return <Tag color={left < 0 ? 'red' : left <= 1 ? 'orange' : 'default'}>{left < 0 ? `首响超时 ${-left} 分` : `首响剩 ${left} 分`}</Tag>;
}

export default function TicketsPage(_: { me: Agent }) {
  const { t } = useTranslation();
  const [status, setStatus] = useState<string | undefined>();
  const [mine, setMine] = useState(false);
  const query = new URLSearchParams({ limit: '500', ...(status ? { status } : {}), ...(mine ? { mine: '1' } : {}) });
  const { data, loading, error, reload } = useLoad<{ tickets: Ticket[] }>(`/api/v1/tickets?${query}`);
  const agents = useLoad<{ agents: Agent[] }>('/api/v1/agents');
  const names = useMemo(() => new Map((agents.data?.agents ?? []).map((a) => [a.id, a.name])), [agents.data]);
  return (
    <div data-testid="page-tickets">
      <Space style={{ marginBottom: 12 }} wrap>
        <Typography.Title level={4} style={{ margin: 0 }}>
          {t('工单')}
        </Typography.Title>
        <Select allowClear placeholder={t('状态')} style={{ width: 140 }} value={status} onChange={setStatus} data-testid="ticket-status-filter"
          options={Object.entries(STATUS).map(([value, [label]]) => ({ value, label: t(label) }))} />
        <span>
          {t('只看我的')} <Switch size="small" checked={mine} onChange={setMine} />
        </span>
        <Button onClick={() => void reload()}>↻</Button>
      </Space>
      {error && <Alert type="error" message={error} />}
      <Table<Ticket>
        rowKey="id"
        size="small"
        loading={loading}
        dataSource={data?.tickets ?? []}
        pagination={{ pageSize: 20 }}
        data-testid="tickets-table"
        columns={[
          { title: t('编号'), dataIndex: 'number', render: (n) => `#${n}`, sorter: (a, b) => a.number - b.number },
          { title: t('状态'), dataIndex: 'status', render: (s: string) => <Tag color={STATUS[s]?.[1]}>{t(STATUS[s]?.[0] ?? s)}</Tag> },
          { title: t('优先级'), dataIndex: 'priority', sorter: (a, b) => a.priority - b.priority, render: (p: number) => (p >= 30 ? <Tag color="magenta">{p}</Tag> : p) },
          { title: t('分类'), dataIndex: 'category', render: (c) => c ?? '—' },
          { title: t('处理人'), dataIndex: 'assigneeId', render: (id: string | null) => (id ? (names.get(id) ?? '…') : '—') },
          { title: 'SLA', key: 'sla', render: (_, row) => <Sla t={row} /> },
          { title: t('满意度'), dataIndex: 'csatScore', render: (s) => (s ? '★'.repeat(s) : '') },
          { title: t('创建时间'), dataIndex: 'createdAt', render: (c: string) => time(c) },
          { title: '', key: 'open', render: (_, row) => <Button size="small" onClick={() => go('inbox', row.conversationId)} data-testid="ticket-open">{t('打开会话')}</Button> },
        ]}
      />
    </div>
  );
}
