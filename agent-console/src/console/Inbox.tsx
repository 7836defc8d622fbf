import { Badge, Input, List, Select, Space, Tabs, Tag } from 'antd';
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { time } from '../shared/format.ts';
import { CHANNEL_LABEL, STATUS_COLOR, STATUS_LABEL } from '../shared/labels.ts';
import type { Agent, Conversation } from '../shared/types.ts';
import { api } from './api.ts';

export type InboxTab = 'mine' | 'queued' | 'all' | 'mentions';

/** First-response SLA of the conversation's open ticket: time left, or overdue; VIP/urgent marked. */
function SlaBadge({ ticket }: { ticket?: Conversation['ticket'] }) {
  const [, tick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => tick((n) => n + 1), 30_000);
    return () => clearInterval(t);
  }, []);
  if (!ticket) return null;
  const urgent = ticket.priority >= 30 ? <Tag color="magenta">优先</Tag> : null;
  if (ticket.firstResponseAt || !ticket.firstResponseDueAt) return urgent;
  const left = Math.round((new Date(ticket.firstResponseDueAt).getTime() - Date.now()) / 60_000);
  return (
    <>
      {urgent}
      <Tag color={left < 0 || ticket.escalatedAt ? 'red' : left <= 1 ? 'orange' : 'default'} data-testid="sla-badge">
        {left < 0 ? `首响超时 ${-left} 分` : `首响剩 ${left} 分`}
      </Tag>
    </>
  );
}

const snoozed = (c: Conversation) => !!c.snoozedUntil && new Date(c.snoozedUntil) > new Date();

/** The left column: 我的 / 排队 / 全部 / @我, with unread counts, filters by channel, status and team, and search. */
export function Inbox(props: {
  me: Agent | null;
  conversations: Conversation[];
  mentioned: Set<string>;
  unread: Map<string, number>;
  selected: string | null;
  tab: InboxTab;
  onTab(t: InboxTab): void;
  onSelect(id: string): void;
  onVisible(list: Conversation[]): void;
}) {
  const { t } = useTranslation();
  const { me, conversations, mentioned, unread, tab } = props;
  const [channel, setChannel] = useState<string | undefined>();
  const [status, setStatus] = useState<string | undefined>();
  const [team, setTeam] = useState<string | undefined>();
  const [q, setQ] = useState('');
  const [teams, setTeams] = useState<{ id: string; name: string }[]>([]);
  useEffect(() => {
    void api<{ teams: { id: string; name: string }[] }>('/api/v1/teams').then((r) => setTeams(r.teams)).catch(() => {});
  }, []);

  const mine = (c: Conversation) => !!me && c.assigneeId === me.id && c.status !== 'resolved';
  const byTab: Record<InboxTab, (c: Conversation) => boolean> = {
    mine: (c) => mine(c) && !snoozed(c),
    queued: (c) => c.status === 'queued',
    all: () => true,
    mentions: (c) => mentioned.has(c.id),
  };
  const list = useMemo(() => {
    const needle = q.trim().toLowerCase();
    return conversations.filter(
      (c) =>
        byTab[tab](c) &&
        (!channel || c.channel === channel) &&
        (!status || c.status === status) &&
        (!team || c.teamId === team) &&
        (!needle || (c.customerName ?? '').toLowerCase().includes(needle) || (c.lastText ?? '').toLowerCase().includes(needle)),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [conversations, tab, channel, status, team, q, me, mentioned]);
  useEffect(() => props.onVisible(list), [list]); // eslint-disable-line react-hooks/exhaustive-deps

  const count = (f: (c: Conversation) => boolean) => conversations.filter(f).length;
  const unreadMine = conversations.filter((c) => mine(c)).reduce((a, c) => a + (unread.get(c.id) ?? 0), 0);
  const label = (key: InboxTab, text: string, n: number) => (
    <span data-testid={`tab-${key}`}>
      {t(text)} {n > 0 && <Badge count={n} size="small" color={key === 'queued' ? 'orange' : undefined} />}
    </span>
  );

  return (
    <div>
      <Tabs
        activeKey={tab}
        onChange={(k) => props.onTab(k as InboxTab)}
        centered
        size="small"
        items={[
          { key: 'mine', label: label('mine', '我的', unreadMine || count(byTab.mine)) },
          { key: 'queued', label: label('queued', '排队', count(byTab.queued)) },
          { key: 'all', label: label('all', '全部', 0) },
          { key: 'mentions', label: label('mentions', '@我', mentioned.size) },
        ]}
      />
      <Space direction="vertical" style={{ width: '100%', padding: '0 12px 8px' }} size={6}>
        <Input.Search allowClear size="small" placeholder={t('搜索客户或消息')} value={q} onChange={(e) => setQ(e.target.value)} data-testid="inbox-search" />
        <Space size={4} wrap>
          <Select size="small" allowClear placeholder={t('渠道筛选')} style={{ width: 92 }} value={channel} onChange={setChannel} data-testid="filter-channel"
            options={Object.entries(CHANNEL_LABEL).map(([value, l]) => ({ value, label: t(l) }))} />
          <Select size="small" allowClear placeholder={t('状态筛选')} style={{ width: 100 }} value={status} onChange={setStatus} data-testid="filter-status"
            options={Object.entries(STATUS_LABEL).map(([value, l]) => ({ value, label: t(l) }))} />
          <Select size="small" allowClear placeholder={t('客服组')} style={{ width: 88 }} value={team} onChange={setTeam}
            options={teams.map((x) => ({ value: x.id, label: x.name }))} />
        </Space>
      </Space>
      <List
        data-testid="inbox"
        locale={{ emptyText: t('暂无会话') }}
        dataSource={list}
        renderItem={(c) => (
          <List.Item
            data-testid="inbox-item"
            data-conversation-id={c.id}
            onClick={() => props.onSelect(c.id)}
            style={{ cursor: 'pointer', padding: '10px 16px', background: c.id === props.selected ? '#e6f7ee' : undefined }}
          >
            <List.Item.Meta
              title={
                <Space size={4} wrap>
                  <Badge count={unread.get(c.id) ?? 0} size="small" offset={[6, 0]}>
                    <span>{c.customerName ?? '客户'}</span>
                  </Badge>
                  <Tag color={STATUS_COLOR[c.status]} style={{ marginLeft: 8 }}>
                    {t(STATUS_LABEL[c.status])}
                  </Tag>
                  <Tag>{t(CHANNEL_LABEL[c.channel])}</Tag>
                  {snoozed(c) && <Tag color="purple">{t('稍后处理')}</Tag>}
                  <SlaBadge ticket={c.ticket} />
                </Space>
              }
              description={
                <div style={{ display: 'flex', justifyContent: 'space-between' }}>
                  <span style={{ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap', maxWidth: 190 }}>{c.lastText ?? ''}</span>
                  <span style={{ fontSize: 12 }}>{time(c.lastMessageAt)}</span>
                </div>
              }
            />
          </List.Item>
        )}
      />
    </div>
  );
}
