import { App, Badge, Button, Layout, Menu, Select, Space, Spin, Typography } from 'antd';
import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { heldThrough, mergeBySeq } from '../shared/format.ts';
import type { Agent, Conversation, Message } from '../shared/types.ts';
import { api, session } from './api.ts';
import { ChangePasswordModal } from './ChangePasswordModal.tsx';
import { ConversationView } from './ConversationView.tsx';
import { setLang, type Lang } from './i18n.ts';
import { Inbox, type InboxTab } from './Inbox.tsx';
import { LiveSocket, useAgentSocket } from './live.ts';
import { ProfilePanel } from './ProfilePanel.tsx';
import { go, useRoute, type PageKey } from './route.ts';
import { notifyAssignment } from './notify.ts';

// every page but the inbox is its own chunk: the console opens with the inbox only
const PAGES: Partial<Record<PageKey, React.LazyExoticComponent<React.ComponentType<{ me: Agent }>>>> = {
  tickets: lazy(() => import('./pages/TicketsPage.tsx')),
  kb: lazy(() => import('./pages/KnowledgePage.tsx')),
  playbooks: lazy(() => import('./pages/PlaybooksPage.tsx')),
  canned: lazy(() => import('./pages/CannedPage.tsx')),
  team: lazy(() => import('./pages/TeamPage.tsx')),
  channels: lazy(() => import('./pages/ChannelsPage.tsx')),
  dashboard: lazy(() => import('./pages/DashboardPage.tsx')),
  audit: lazy(() => import('./pages/AuditPage.tsx')),
};
const NAV: { key: PageKey; label: string; supervisor?: boolean; admin?: boolean }[] = [
  { key: 'inbox', label: '工作台' },
  { key: 'tickets', label: '工单' },
  { key: 'kb', label: '知识库' },
  { key: 'playbooks', label: '挽回方案' },
  { key: 'canned', label: '快捷回复' },
  { key: 'team', label: '团队与客服' },
  { key: 'channels', label: '渠道' },
  { key: 'dashboard', label: '数据看板', supervisor: true },
  { key: 'audit', label: '审计日志', admin: true },
];
const PAGE_SIZE = 100;

export function Workspace({ onLogout }: { onLogout: () => void }) {
  const { t, i18n } = useTranslation();
  const { notification } = App.useApp();
  const route = useRoute();
  const [me, setMe] = useState<Agent | null>(null);
  const [conversations, setConversations] = useState<Map<string, Conversation>>(new Map());
  const [messages, setMessages] = useState<Message[]>([]);
  const [hasOlder, setHasOlder] = useState(false);
  const [unread, setUnread] = useState<Map<string, number>>(new Map());
  const [tab, setTab] = useState<InboxTab>('mine');
  const [mentioned, setMentioned] = useState<Set<string>>(new Set());
  const [presence, setPresence] = useState<Agent['status']>('online');
  const [scriptTick, setScriptTick] = useState(0);
  const [typingAt, setTypingAt] = useState<Map<string, number>>(new Map());
  const [changingPassword, setChangingPassword] = useState(false);
  const selected = route.page === 'inbox' ? route.id : null;
  const supervisor = me?.role === 'supervisor' || me?.role === 'admin';

  const upsert = useCallback((c: Conversation) => {
    setConversations((prev) => new Map(prev).set(c.id, { ...prev.get(c.id), ...c }));
  }, []);
  // delivery news carries the conversation's own fields (status, reply window), not its inbox row: it updates a
  // conversation the inbox shows and adds none
  const refresh = useCallback((c: Partial<Conversation> & { id: string }) => {
    setConversations((prev) => (prev.has(c.id) ? new Map(prev).set(c.id, { ...prev.get(c.id)!, ...c }) : prev));
  }, []);

  const loadList = useCallback(async () => {
    const r = await api<{ conversations: Conversation[] }>('/api/v1/conversations?limit=200');
    setConversations(new Map(r.conversations.map((c) => [c.id, c])));
  }, []);
  const loadMentions = useCallback(async () => {
    const r = await api<{ conversations: Conversation[] }>('/api/v1/conversations?mentioned=1&limit=200');
    r.conversations.forEach(upsert);
    setMentioned(new Set(r.conversations.map((c) => c.id)));
  }, [upsert]);

  const fillFrom = useCallback(async (conversationId: string, after: number) => {
    const r = await api<{ messages: Message[] }>(`/api/v1/conversations/${conversationId}/messages?after=${after}`);
    setMessages((prev) => (prev[0] && prev[0].conversationId !== conversationId ? prev : mergeBySeq(prev, r.messages)));
  }, []);

  // a long conversation opens at its latest page; older pages load as the agent scrolls up
  const openLatest = useCallback(async (conversationId: string) => {
    const r = await api<{ messages: Message[] }>(`/api/v1/conversations/${conversationId}/messages?before=2147483647&limit=${PAGE_SIZE}`);
    setMessages(r.messages);
    setHasOlder((r.messages[0]?.seq ?? 1) > 1);
  }, []);
  const loadOlder = useCallback(async () => {
    if (!selected || !messages.length) return 0;
    const r = await api<{ messages: Message[] }>(`/api/v1/conversations/${selected}/messages?before=${messages[0].seq}&limit=${PAGE_SIZE}`);
    setMessages((prev) => mergeBySeq(r.messages, prev));
    setHasOlder((r.messages[0]?.seq ?? 1) > 1);
    return r.messages.length;
  }, [selected, messages]);

  const { socket, connected } = useAgentSocket({
    onMessage: (e) => {
      upsert({ ...e.conversation, lastText: e.message.text });
      if (e.conversationId === selected) {
        setMessages((prev) => {
          const next = mergeBySeq(prev, [e.message]);
          // a seq jump means we missed something: fetch the gap
          const held = heldThrough(next);
          if (held < e.seq) void fillFrom(e.conversationId, held);
          return next;
        });
      } else if (e.message.senderType === 'customer') {
        setUnread((u) => new Map(u).set(e.conversationId, (u.get(e.conversationId) ?? 0) + 1));
      }
      if (e.message.senderType === 'customer') setTypingAt((m) => { const n = new Map(m); n.delete(e.conversationId); return n; });
    },
    onConversation: upsert,
    onMessageUpdated: (e) => {
      refresh(e.conversation);
      if (e.conversationId !== selected) return;
      setMessages((prev) => (prev.some((m) => m.id === e.message.id) ? mergeBySeq(prev, [e.message]) : prev));
    },
    onAssigned: (e) => {
      upsert(e.conversation);
      if (me && e.conversation.assigneeId === me.id) notifyAssignment(notification, t('新会话已分配给您'), `#${e.ticket.number}`);
    },
    onScript: (e) => {
      if (e.conversationId === selected) setScriptTick((n) => n + 1);
    },
    onMention: () => void loadMentions(),
    onTyping: (e) => setTypingAt((m) => new Map(m).set(e.conversationId, Date.now())),
    onReconnect: () => {
      void loadList();
      if (selected) void fillFrom(selected, heldThrough(messages));
    },
    onAccess: () => {
      void api<{ agent: Agent }>('/api/v1/auth/me').then((r) => setMe(r.agent));
      void loadList();
      void loadMentions();
    },
    // the server's word, not what this tab last chose: an agent who was 离开 and reloads stays 离开
    onOwnStatus: setPresence,
  });

  useEffect(() => {
    void api<{ agent: Agent }>('/api/v1/auth/me').then((r) => setMe(r.agent));
    void loadList();
    void loadMentions();
    if ('Notification' in window && Notification.permission === 'default') void Notification.requestPermission();
  }, [loadList, loadMentions]);

  useEffect(() => {
    setMessages([]);
    setHasOlder(false);
    if (!selected) return;
    setUnread((u) => {
      const n = new Map(u);
      n.delete(selected);
      return n;
    });
    void openLatest(selected);
    // a conversation opened by link (tickets page) may not be in the loaded list yet
    if (!conversations.has(selected)) void api<{ conversation: Conversation }>(`/api/v1/conversations/${selected}`).then((r) => upsert(r.conversation)).catch(() => {});
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selected, openLatest]);

  const list = useMemo(() => [...conversations.values()].sort((a, b) => (b.lastMessageAt ?? '').localeCompare(a.lastMessageAt ?? '')), [conversations]);
  const current = selected ? (conversations.get(selected) ?? null) : null;
  const canReply = !!me && !!current && (current.assigneeId === me.id || me.role !== 'agent');
  const typing = !!selected && Date.now() - (typingAt.get(selected) ?? 0) < 6000;

  // keyboard: Alt+↓ / Alt+↑ moves to the next / previous conversation of the current list
  const [visible, setVisible] = useState<Conversation[]>([]);
  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      if (!e.altKey || (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') || route.page !== 'inbox') return;
      e.preventDefault();
      const i = visible.findIndex((c) => c.id === selected);
      const next = visible[e.key === 'ArrowDown' ? i + 1 : Math.max(0, i - 1)] ?? visible[0];
      if (next) go('inbox', next.id);
    };
    window.addEventListener('keydown', on);
    return () => window.removeEventListener('keydown', on);
  }, [visible, selected, route.page]);

  const changePresence = (status: Agent['status']) => {
    socket?.emit('presence:set', { status }, (r: { ok: boolean }) => r.ok && setPresence(status));
  };
  const Page = route.page !== 'inbox' ? PAGES[route.page] : undefined;

  return (
    <LiveSocket.Provider value={socket}>
      <Layout style={{ height: '100vh' }}>
        <Layout.Header style={{ background: '#fff', borderBottom: '1px solid #eee', display: 'flex', alignItems: 'center', gap: 16, padding: '0 16px' }}>
          <Typography.Title level={4} style={{ margin: 0, whiteSpace: 'nowrap' }}>
            {t('回客 · 客服工作台')}
          </Typography.Title>
          <Menu
            mode="horizontal"
            selectedKeys={[route.page]}
            style={{ flex: 1, minWidth: 0, borderBottom: 'none' }}
            data-testid="nav"
            onClick={(e) => go(e.key as PageKey)}
            items={NAV.filter((n) => (!n.supervisor || supervisor) && (!n.admin || me?.role === 'admin')).map((n) => ({ key: n.key, label: <span data-testid={`nav-${n.key}`}>{t(n.label)}</span> }))}
          />
          <Space>
            <Select
              size="small"
              value={i18n.language as Lang}
              onChange={(l: Lang) => setLang(l)}
              style={{ width: 92 }}
              data-testid="lang"
              options={[
                { value: 'zh', label: '简体中文' },
                { value: 'en', label: 'English' },
              ]}
            />
            <Badge status={connected ? 'success' : 'error'} text={connected ? t('已连接') : t('连接中…')} data-testid="connection" />
            <Select
              size="small"
              value={presence}
              onChange={changePresence}
              style={{ width: 90 }}
              data-testid="presence"
              options={(['online', 'away', 'offline'] as const).map((s) => ({ value: s, label: t({ online: '在线', away: '离开', offline: '离线' }[s]) }))}
            />
            <Typography.Text data-testid="me">{me?.name}</Typography.Text>
            <Button size="small" type="text" onClick={() => setChangingPassword(true)} data-testid="change-password">
              {t('修改密码')}
            </Button>
            <Button size="small" onClick={onLogout}>
              {t('退出')}
            </Button>
          </Space>
        </Layout.Header>
        {(changingPassword || me?.mustChangePassword) && (
          <ChangePasswordModal
            forced={!!me?.mustChangePassword}
            onClose={() => setChangingPassword(false)}
            onChanged={(token) => {
              // this session goes on with the new token; the socket signs in again with it
              session.set(token);
              socket?.disconnect().connect();
              setMe((m) => (m ? { ...m, mustChangePassword: false } : m));
            }}
          />
        )}
        {Page && me ? (
          <Layout.Content style={{ background: '#fff', overflowY: 'auto', padding: 16 }}>
            <Suspense fallback={<Spin style={{ marginTop: 80, width: '100%' }} />}>
              <Page me={me} />
            </Suspense>
          </Layout.Content>
        ) : (
          <Layout>
            <Layout.Sider width={320} theme="light" style={{ borderRight: '1px solid #eee', overflowY: 'auto' }}>
              <Inbox
                me={me}
                conversations={list}
                mentioned={mentioned}
                unread={unread}
                selected={selected}
                tab={tab}
                onTab={setTab}
                onVisible={setVisible}
                onSelect={(id) => go('inbox', id)}
              />
            </Layout.Sider>
            <Layout.Content style={{ background: '#fff' }}>
              <ConversationView
                me={me}
                conversation={current}
                messages={messages}
                canReply={canReply}
                scriptTick={scriptTick}
                hasOlder={hasOlder}
                onLoadOlder={loadOlder}
                typing={typing}
                onChanged={upsert}
              />
            </Layout.Content>
            <Layout.Sider width={360} theme="light" style={{ borderLeft: '1px solid #eee', overflowY: 'auto' }}>
              <ProfilePanel customerId={current?.customerId ?? null} canReveal={supervisor} />
            </Layout.Sider>
          </Layout>
        )}
      </Layout>
    </LiveSocket.Provider>
  );
}
