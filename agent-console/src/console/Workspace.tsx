import { App, Badge, Button, Layout, List, Select, Space, Tabs, Tag, Typography } from 'antd';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { contiguousSeq, mergeBySeq, time } from '../shared/format.ts';
import { PRESENCE_LABEL, STATUS_COLOR, STATUS_LABEL } from '../shared/labels.ts';
import type { Agent, Conversation, Message } from '../shared/types.ts';
import { api } from './api.ts';
import { ConversationView } from './ConversationView.tsx';
import { useAgentSocket } from './live.ts';
import { ProfilePanel } from './ProfilePanel.tsx';

type Tab = 'mine' | 'queued' | 'all';

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

export function Workspace({ onLogout }: { onLogout: () => void }) {
  const { notification } = App.useApp();
  const [me, setMe] = useState<Agent | null>(null);
  const [conversations, setConversations] = useState<Map<string, Conversation>>(new Map());
  const [selected, setSelected] = useState<string | null>(null);
  const [messages, setMessages] = useState<Message[]>([]);
  const [unread, setUnread] = useState<Map<string, number>>(new Map());
  const [tab, setTab] = useState<Tab>('mine');
  const [presence, setPresence] = useState<Agent['status']>('online');

  const upsert = useCallback((c: Conversation) => {
    setConversations((prev) => new Map(prev).set(c.id, { ...prev.get(c.id), ...c }));
  }, []);

  const loadList = useCallback(async () => {
    const r = await api<{ conversations: Conversation[] }>('/api/v1/conversations?limit=200');
    setConversations(new Map(r.conversations.map((c) => [c.id, c])));
  }, []);

  const fillFrom = useCallback(async (conversationId: string, after: number) => {
    const r = await api<{ messages: Message[] }>(`/api/v1/conversations/${conversationId}/messages?after=${after}`);
    setMessages((prev) => (prev[0] && prev[0].conversationId !== conversationId ? prev : mergeBySeq(prev, r.messages)));
  }, []);

  const [scriptTick, setScriptTick] = useState(0);
  const { socket, connected } = useAgentSocket({
    onMessage: (e) => {
      upsert({ ...e.conversation, lastText: e.message.text });
      if (e.conversationId === selected) {
        setMessages((prev) => {
          const next = mergeBySeq(prev, [e.message]);
          // a seq jump means we missed something: fetch the gap
          if (contiguousSeq(next) < e.seq) void fillFrom(e.conversationId, contiguousSeq(next));
          return next;
        });
      } else if (e.message.senderType === 'customer') {
        setUnread((u) => new Map(u).set(e.conversationId, (u.get(e.conversationId) ?? 0) + 1));
      }
    },
    onConversation: upsert,
    onMessageUpdated: (e) => {
      upsert(e.conversation);
      if (e.conversationId !== selected) return;
      setMessages((prev) => (prev.some((m) => m.id === e.message.id) ? mergeBySeq(prev, [e.message]) : prev));
    },
    onAssigned: (e) => {
      upsert(e.conversation);
      if (me && e.conversation.assigneeId === me.id) {
        notification.info({ title: '新会话已分配给您', description: `工单 #${e.ticket.number}`, placement: 'bottomRight' });
        if ('Notification' in window && Notification.permission === 'granted') new Notification('回客：新会话已分配给您');
      }
    },
    onScript: (e) => {
      if (e.conversationId === selected) setScriptTick((t) => t + 1);
    },
    onReconnect: () => {
      void loadList();
      if (selected) void fillFrom(selected, contiguousSeq(messages));
    },
  });

  useEffect(() => {
    void api<{ agent: Agent }>('/api/v1/auth/me').then((r) => setMe(r.agent));
    void loadList();
    if ('Notification' in window && Notification.permission === 'default') void Notification.requestPermission();
  }, [loadList]);

  useEffect(() => {
    setMessages([]);
    if (selected) {
      setUnread((u) => {
        const n = new Map(u);
        n.delete(selected);
        return n;
      });
      void fillFrom(selected, 0);
    }
  }, [selected, fillFrom]);

  const list = useMemo(() => {
    const all = [...conversations.values()].sort((a, b) => (b.lastMessageAt ?? '').localeCompare(a.lastMessageAt ?? ''));
    if (tab === 'mine') return all.filter((c) => me && c.assigneeId === me.id && c.status !== 'resolved');
    if (tab === 'queued') return all.filter((c) => c.status === 'queued');
    return all;
  }, [conversations, tab, me]);

  const current = selected ? (conversations.get(selected) ?? null) : null;
  const canReply = !!me && !!current && (current.assigneeId === me.id || me.role !== 'agent');
  const mineCount = [...conversations.values()].filter((c) => me && c.assigneeId === me.id && c.status !== 'resolved').length;

  const changePresence = (status: Agent['status']) => {
    socket?.emit('presence:set', { status }, (r: { ok: boolean }) => r.ok && setPresence(status));
  };

  return (
    <Layout style={{ height: '100vh' }}>
      <Layout.Header style={{ background: '#fff', borderBottom: '1px solid #eee', display: 'flex', alignItems: 'center', justifyContent: 'space-between', padding: '0 16px' }}>
        <Typography.Title level={4} style={{ margin: 0 }}>
          回客 · 客服工作台
        </Typography.Title>
        <Space>
          <Badge status={connected ? 'success' : 'error'} text={connected ? '已连接' : '连接中…'} data-testid="connection" />
          <Select
            size="small"
            value={presence}
            onChange={changePresence}
            style={{ width: 90 }}
            data-testid="presence"
            options={(['online', 'away', 'offline'] as const).map((s) => ({ value: s, label: PRESENCE_LABEL[s] }))}
          />
          <Typography.Text data-testid="me">{me?.name}</Typography.Text>
          <Button size="small" onClick={onLogout}>
            退出
          </Button>
        </Space>
      </Layout.Header>
      <Layout>
        <Layout.Sider width={300} theme="light" style={{ borderRight: '1px solid #eee', overflowY: 'auto' }}>
          <Tabs
            activeKey={tab}
            onChange={(k) => setTab(k as Tab)}
            centered
            items={[
              { key: 'mine', label: <span data-testid="tab-mine">我的 {mineCount > 0 && <Badge count={mineCount} size="small" />}</span> },
              { key: 'queued', label: '排队' },
              { key: 'all', label: '全部' },
            ]}
          />
          <List
            data-testid="inbox"
            locale={{ emptyText: '暂无会话' }}
            dataSource={list}
            renderItem={(c) => (
              <List.Item
                data-testid="inbox-item"
                data-conversation-id={c.id}
                onClick={() => setSelected(c.id)}
                style={{ cursor: 'pointer', padding: '10px 16px', background: c.id === selected ? '#e6f7ee' : undefined }}
              >
                <List.Item.Meta
                  title={
                    <Space size={4}>
                      <Badge count={unread.get(c.id) ?? 0} size="small" offset={[6, 0]}>
                        <span>{c.customerName ?? '客户'}</span>
                      </Badge>
                      <Tag color={STATUS_COLOR[c.status]} style={{ marginLeft: 8 }}>
                        {STATUS_LABEL[c.status]}
                      </Tag>
                      <SlaBadge ticket={c.ticket} />
                    </Space>
                  }
                  description={
                    <div style={{ display: 'flex', justifyContent: 'space-between' }}>
                      <span style={{ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap', maxWidth: 180 }}>{c.lastText ?? ''}</span>
                      <span style={{ fontSize: 12 }}>{time(c.lastMessageAt)}</span>
                    </div>
                  }
                />
              </List.Item>
            )}
          />
        </Layout.Sider>
        <Layout.Content style={{ background: '#fff' }}>
          <ConversationView conversation={current} messages={messages} canReply={canReply} scriptTick={scriptTick} />
        </Layout.Content>
        <Layout.Sider width={360} theme="light" style={{ borderLeft: '1px solid #eee', overflowY: 'auto' }}>
          <ProfilePanel customerId={current?.customerId ?? null} canReveal={me?.role === 'supervisor' || me?.role === 'admin'} />
        </Layout.Sider>
      </Layout>
    </Layout>
  );
}
