import { Alert, App, Button, Dropdown, Empty, Input, List, Modal, Segmented, Select, Space, Tag, Tooltip, Typography } from 'antd';
import { useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Virtuoso, type VirtuosoHandle } from 'react-virtuoso';
import { newClientMsgId, time } from '../shared/format.ts';
import { CHANNEL_LABEL, STATUS_COLOR, STATUS_LABEL } from '../shared/labels.ts';
import type { Agent, Conversation, Message, ReplyWindow } from '../shared/types.ts';
import { api } from './api.ts';
import { MessageBubble, NoteBubble, type Note } from './MessageBubble.tsx';

interface Suggestion {
  entryId: string;
  question: string;
  answer: string;
  score: number;
}

/** A recovery playbook's script for this customer (挽回话术), waiting for the agent to use it. */
interface Script {
  runId: string;
  playbookName: string;
  script: string;
  status: 'suggested' | 'fallback';
  outcome: string | null;
}

interface Canned {
  id: string;
  shortcut: string;
  title: string;
  text: string;
}

const FALLBACK_REASON: Record<string, string> = {
  window_closed: '客户超过 48 小时未来信，系统无法自动发送',
  quota_exhausted: '已达微信 5 条上限，系统无法自动发送',
  agent_active: '客户正在与您对话，话术交给您发送',
  no_conversation: '客户没有可用的聊天渠道',
};

/** WeChat's 48 h / 5-message rule, said before the agent types rather than after the send fails. */
function WindowNotice({ w }: { w?: ReplyWindow }) {
  if (!w?.limited) return null;
  if (!w.open) {
    const expired = !w.closesAt || new Date(w.closesAt) <= new Date();
    return (
      <Alert
        type="warning"
        showIcon
        style={{ marginBottom: 8 }}
        data-testid="reply-window"
        message={expired ? '客户超过 48 小时未发消息，微信不允许主动发送，请等待客户再次来信' : '已连续发送 5 条消息，达到微信上限，客户回复后才能继续发送'}
      />
    );
  }
  return (
    <Typography.Text type="secondary" style={{ display: 'block', fontSize: 12, marginBottom: 4 }} data-testid="reply-window">
      微信规则：客户回复前还可发送 {w.remaining} 条，窗口至 {w.closesAt ? time(w.closesAt) : '-'}
    </Typography.Text>
  );
}

type Item = { kind: 'message'; key: string; at: string; m: Message } | { kind: 'note'; key: string; at: string; n: Note };
const BASE = 1_000_000;

const fill = (text: string, vars: Record<string, string>) => text.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, k: string) => vars[k] ?? '');

export function ConversationView({
  me,
  conversation,
  messages,
  canReply,
  scriptTick = 0,
  hasOlder = false,
  onLoadOlder,
  typing = false,
  onChanged,
}: {
  me?: Agent | null;
  conversation: Conversation | null;
  messages: Message[];
  canReply: boolean;
  /** bumped when a recovery script arrives for this conversation */
  scriptTick?: number;
  hasOlder?: boolean;
  onLoadOlder?: () => Promise<number>;
  typing?: boolean;
  onChanged?: (c: Conversation) => void;
}) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [draft, setDraft] = useState('');
  // one id per reply: the same text sent again after a failure (its answer may have been lost, not the reply) is
  // the same reply on the server, not a second one to the customer; an edited text is a new reply
  const replyId = useRef<{ conversationId: string; text: string; id: string } | null>(null);
  const [mode, setMode] = useState<'reply' | 'note'>('reply');
  const [sending, setSending] = useState(false);
  const [notes, setNotes] = useState<Note[]>([]);
  const [agents, setAgents] = useState<Agent[]>([]);
  const [canned, setCanned] = useState<Canned[]>([]);
  const [transferOpen, setTransferOpen] = useState(false);
  const virtuoso = useRef<VirtuosoHandle>(null);
  const ticketId = conversation?.ticket?.id ?? null;

  useEffect(() => {
    void api<{ agents: Agent[] }>('/api/v1/agents').then((r) => setAgents(r.agents)).catch(() => {});
    void api<{ canned: Canned[] }>('/api/v1/canned').then((r) => setCanned(r.canned)).catch(() => {});
  }, []);

  // internal notes of the open ticket, shown in the timeline
  const loadNotes = () => {
    if (!ticketId) return setNotes([]);
    void api<{ notes: (Omit<Note, 'createdAt'> & { at: string })[] }>(`/api/v1/tickets/${ticketId}`)
      .then((r) => setNotes(r.notes.map((n) => ({ ...n, createdAt: n.at }))))
      .catch(() => setNotes([]));
  };
  useEffect(loadNotes, [ticketId]); // eslint-disable-line react-hooks/exhaustive-deps

  // agent assist: KB answers for the customer's latest message and recovery scripts, refreshed as things change
  const lastCustomerSeq = [...messages].reverse().find((m) => m.senderType === 'customer')?.seq ?? 0;
  const [suggestions, setSuggestions] = useState<Suggestion[]>([]);
  const [scripts, setScripts] = useState<Script[]>([]);
  useEffect(() => {
    setSuggestions([]);
    setScripts([]);
    if (!conversation) return;
    let live = true;
    api<{ suggestions: Suggestion[]; scripts: Script[] }>(`/api/v1/conversations/${conversation.id}/suggestions`)
      .then((r) => {
        if (!live) return;
        setSuggestions(r.suggestions);
        setScripts(r.scripts ?? []);
      })
      .catch(() => {});
    return () => {
      live = false;
    };
  }, [conversation?.id, lastCustomerSeq, scriptTick]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    setDraft('');
    setMode('reply');
  }, [conversation?.id]);

  const nameOf = useMemo(() => new Map(agents.map((a) => [a.id, a.name])), [agents]);
  const items: Item[] = useMemo(() => {
    const ms: Item[] = messages.map((m) => ({ kind: 'message', key: `m${m.seq}`, at: m.createdAt, m }));
    const first = messages[0]?.createdAt ?? '';
    const ns: Item[] = notes.filter((n) => !hasOlder || n.createdAt >= first).map((n) => ({ kind: 'note', key: `n${n.id}`, at: n.createdAt, n: { ...n, authorName: nameOf.get(n.authorId) } }));
    return [...ms, ...ns].sort((a, b) => a.at.localeCompare(b.at) || (a.kind === 'message' ? -1 : 1));
  }, [messages, notes, nameOf, hasOlder]);

  // prepending older pages keeps the view still: the first item shown on open anchors the index
  const anchor = useRef<string | null>(null);
  useEffect(() => {
    anchor.current = null;
  }, [conversation?.id]);
  if (!anchor.current && items.length) anchor.current = items[0].key;
  const anchorIndex = Math.max(0, items.findIndex((i) => i.key === anchor.current));
  const firstItemIndex = BASE - anchorIndex;

  if (!conversation) return <Empty description={t('从左侧选择一个会话')} style={{ marginTop: 120 }} />;

  const run = async (what: () => Promise<unknown>, ok?: string) => {
    try {
      await what();
      if (ok) message.success(ok);
    } catch (e) {
      message.error((e as Error).message);
    }
  };
  const send = async () => {
    const text = draft.trim();
    if (!text || sending) return;
    setSending(true);
    try {
      if (mode === 'note') {
        if (!ticketId) throw new Error('该会话没有进行中的工单，无法添加备注');
        await api(`/api/v1/tickets/${ticketId}/notes`, { method: 'POST', body: { text } });
        loadNotes();
      } else {
        const same = replyId.current?.conversationId === conversation.id && replyId.current.text === text;
        if (!same) replyId.current = { conversationId: conversation.id, text, id: newClientMsgId() };
        await api(`/api/v1/conversations/${conversation.id}/messages`, { method: 'POST', body: { text, clientMsgId: replyId.current!.id } });
        replyId.current = null;
      }
      setDraft('');
    } catch (e) {
      message.error((e as Error).message);
    } finally {
      setSending(false);
    }
  };
  const resolve = () => run(() => api(`/api/v1/conversations/${conversation.id}/resolve`, { method: 'POST' }), t('会话已结束'));
  const claim = () => run(() => api(`/api/v1/tickets/${ticketId}/claim`, { method: 'POST' }));
  const snooze = (minutes: number) =>
    run(async () => onChanged?.((await api<{ conversation: Conversation }>(`/api/v1/conversations/${conversation.id}/snooze`, { method: 'POST', body: { minutes } })).conversation));
  const insertScript = (s: Script) => {
    setDraft(s.script);
    setMode('reply');
    setScripts((list) => list.filter((x) => x.runId !== s.runId));
    void api(`/api/v1/recovery/runs/${s.runId}/used`, { method: 'POST' }).catch(() => {});
  };

  // "/" opens the canned responses; what follows the slash filters them by shortcut or title
  const slash = mode === 'reply' && draft.startsWith('/') && !draft.includes('\n') ? draft.slice(1).trim().toLowerCase() : null;
  const matches = slash === null ? [] : canned.filter((c) => c.shortcut.toLowerCase().startsWith(slash) || c.title.toLowerCase().includes(slash)).slice(0, 8);
  const useCanned = (c: Canned) => setDraft(fill(c.text, { name: conversation.customerName ?? '', agent: me?.name ?? '' }));
  const queuedTicket = conversation.status === 'queued' && ticketId && conversation.assigneeId !== me?.id;
  const snoozedUntil = conversation.snoozedUntil && new Date(conversation.snoozedUntil) > new Date() ? conversation.snoozedUntil : null;

  return (
    <div style={{ display: 'flex', flexDirection: 'column', height: '100%' }}>
      <div style={{ padding: '10px 16px', borderBottom: '1px solid #eee', display: 'flex', justifyContent: 'space-between', alignItems: 'center' }}>
        <Space wrap>
          <Typography.Text strong>{conversation.customerName ?? '客户'}</Typography.Text>
          <Tag>{t(CHANNEL_LABEL[conversation.channel])}</Tag>
          <Tag color={STATUS_COLOR[conversation.status]} data-testid="conversation-status">
            {t(STATUS_LABEL[conversation.status])}
          </Tag>
          {conversation.ticket && <Tag>#{conversation.ticket.number}{conversation.ticket.category ? ` · ${conversation.ticket.category}` : ''}</Tag>}
          {snoozedUntil && <Tag color="purple">{t('稍后处理至 {{time}}', { time: time(snoozedUntil) })}</Tag>}
        </Space>
        <Space>
          {queuedTicket && (
            <Button type="primary" onClick={claim} data-testid="claim">
              {t('接待')}
            </Button>
          )}
          <Button onClick={() => setTransferOpen(true)} disabled={!canReply || !ticketId} data-testid="transfer">
            {t('转接')}
          </Button>
          <Dropdown
            disabled={!canReply}
            menu={{
              items: [
                { key: '30', label: t('30 分钟') },
                { key: '120', label: t('2 小时') },
                { key: '1440', label: t('明天') },
                ...(snoozedUntil ? [{ key: '0', label: t('取消稍后') }] : []),
              ],
              onClick: (e) => void snooze(Number(e.key)),
            }}
          >
            <Button data-testid="snooze">{t('稍后处理')}</Button>
          </Dropdown>
          <Button onClick={resolve} disabled={!canReply || conversation.status === 'resolved'} data-testid="resolve">
            {t('结束会话')}
          </Button>
        </Space>
      </div>
      <div style={{ flex: 1, background: '#f5f5f5', minHeight: 0 }} data-testid="messages">
        <Virtuoso
          key={conversation.id}
          ref={virtuoso}
          style={{ height: '100%' }}
          data={items}
          firstItemIndex={firstItemIndex}
          initialTopMostItemIndex={Math.max(0, items.length - 1)}
          followOutput="auto"
          computeItemKey={(_, item) => item.key}
          startReached={() => {
            if (hasOlder) void onLoadOlder?.();
          }}
          components={{
            Header: () => (hasOlder ? <div style={{ textAlign: 'center', padding: 8, color: '#999', fontSize: 12 }}>{t('加载更早的消息')}…</div> : null),
            Footer: () => (typing ? <div style={{ padding: '4px 16px', color: '#999', fontSize: 12 }} data-testid="typing">{t('客户正在输入…')}</div> : <div style={{ height: 8 }} />),
          }}
          itemContent={(_, item) => (item.kind === 'message' ? <MessageBubble m={item.m} /> : <NoteBubble n={item.n} />)}
        />
      </div>
      <div style={{ padding: 12, borderTop: '1px solid #eee' }}>
        <WindowNotice w={conversation.replyWindow} />
        {canReply && scripts.length > 0 && (
          <div style={{ marginBottom: 8 }} data-testid="recovery-scripts">
            {scripts.map((s) => (
              <Alert
                key={s.runId}
                type="info"
                style={{ marginBottom: 6 }}
                data-testid="recovery-script"
                message={
                  <span>
                    <Tag color="orange">{t('挽回话术')}</Tag>
                    {s.playbookName}
                    {s.status === 'fallback' && s.outcome && FALLBACK_REASON[s.outcome] ? `（${FALLBACK_REASON[s.outcome]}）` : ''}
                  </span>
                }
                description={s.script}
                action={
                  <Button size="small" type="primary" data-testid="recovery-script-insert" onClick={() => insertScript(s)}>
                    {t('插入')}
                  </Button>
                }
              />
            ))}
          </div>
        )}
        {canReply && suggestions.length > 0 && (
          <div style={{ marginBottom: 8 }} data-testid="suggestions">
            <Typography.Text type="secondary" style={{ fontSize: 12, marginRight: 8 }}>
              {t('推荐回复')}：
            </Typography.Text>
            {suggestions.map((s) => (
              <Tooltip key={s.entryId} title={s.answer}>
                <Button size="small" style={{ marginRight: 6, marginBottom: 4 }} data-testid="suggestion" onClick={() => setDraft(s.answer)}>
                  {s.question}
                </Button>
              </Tooltip>
            ))}
          </div>
        )}
        <Segmented
          size="small"
          style={{ marginBottom: 6 }}
          value={mode}
          onChange={(v) => setMode(v as 'reply' | 'note')}
          data-testid="reply-mode"
          options={[
            { value: 'reply', label: t('回复') },
            { value: 'note', label: <span data-testid="mode-note">{t('内部备注')}</span>, disabled: !ticketId },
          ]}
        />
        <div style={{ position: 'relative' }}>
          {matches.length > 0 && (
            <List
              size="small"
              bordered
              data-testid="canned-menu"
              style={{ position: 'absolute', bottom: '100%', left: 0, width: 420, background: '#fff', zIndex: 10, boxShadow: '0 4px 12px rgba(0,0,0,.12)' }}
              dataSource={matches}
              renderItem={(c, i) => (
                <List.Item style={{ cursor: 'pointer', background: i === 0 ? '#f6ffed' : undefined }} onClick={() => useCanned(c)} data-testid="canned-item">
                  <Typography.Text code>/{c.shortcut}</Typography.Text> {c.title}
                  <div style={{ color: '#999', fontSize: 12, overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap', maxWidth: 240 }}>{c.text}</div>
                </List.Item>
              )}
            />
          )}
          <Input.TextArea
            data-testid="reply-input"
            value={draft}
            disabled={!canReply}
            style={mode === 'note' ? { background: '#fffbe6', borderColor: '#faad14' } : undefined}
            placeholder={!canReply ? t('该会话未分配给您') : mode === 'note' ? t('内部备注仅同事可见，@ 姓名提醒同事') : t('输入回复，Enter 发送，Shift+Enter 换行，/ 快捷回复')}
            autoSize={{ minRows: 2, maxRows: 6 }}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
                e.preventDefault();
                if (matches.length) useCanned(matches[0]);
                else void send();
              }
              if (e.key === 'Escape' && matches.length) setDraft('');
            }}
          />
        </div>
        <div style={{ textAlign: 'right', marginTop: 8 }}>
          <Button type="primary" onClick={send} loading={sending} disabled={!canReply || !draft.trim()} data-testid="reply-send">
            {mode === 'note' ? t('备注') : t('发送')}
          </Button>
        </div>
      </div>
      <TransferModal open={transferOpen} onClose={() => setTransferOpen(false)} ticketId={ticketId} onDone={loadNotes} />
    </div>
  );
}

const PRESENCE_ORDER: Record<Agent['status'], number> = { online: 0, away: 1, offline: 2 };

function TransferModal({ open, onClose, ticketId, onDone }: { open: boolean; onClose(): void; ticketId: string | null; onDone(): void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [to, setTo] = useState<string | undefined>();
  const [teams, setTeams] = useState<{ id: string; name: string }[]>([]);
  const [agents, setAgents] = useState<Agent[]>([]);
  const [note, setNote] = useState('');
  // read as the dialog opens: a colleague's status from when the console opened could be hours old
  useEffect(() => {
    if (!open) return;
    void api<{ teams: { id: string; name: string }[] }>('/api/v1/teams').then((r) => setTeams(r.teams));
    void api<{ agents: Agent[] }>('/api/v1/agents').then((r) => setAgents([...r.agents].sort((a, b) => PRESENCE_ORDER[a.status] - PRESENCE_ORDER[b.status])));
  }, [open]);
  const presence = (a: Agent) =>
    t({ online: '在线', away: '离开', offline: '离线' }[a.status]) + (a.disconnectedAt && a.status !== 'offline' ? ` · ${t('已断开')}` : '');
  const submit = async () => {
    if (!to || !ticketId) return;
    const [kind, id] = to.split(':');
    try {
      await api(`/api/v1/tickets/${ticketId}/transfer`, { method: 'POST', body: { ...(kind === 'agent' ? { toAgentId: id } : { toTeamId: id }), note: note || undefined } });
      message.success(t('已保存'));
      onDone();
      onClose();
    } catch (e) {
      message.error((e as Error).message);
    }
  };
  return (
    <Modal open={open} title={t('转接')} onCancel={onClose} onOk={submit} okText={t('确定')} cancelText={t('取消')} okButtonProps={{ disabled: !to }}>
      <Select
        style={{ width: '100%', marginBottom: 12 }}
        placeholder={t('转接')}
        value={to}
        onChange={setTo}
        data-testid="transfer-to"
        options={[
          { label: t('转给客服'), options: agents.map((a) => ({ value: `agent:${a.id}`, label: `${a.name}（${presence(a)}）` })) },
          { label: t('转给客服组'), options: teams.map((x) => ({ value: `team:${x.id}`, label: x.name })) },
        ]}
      />
      <Input.TextArea placeholder={t('转接备注')} value={note} onChange={(e) => setNote(e.target.value)} autoSize={{ minRows: 2 }} />
    </Modal>
  );
}
