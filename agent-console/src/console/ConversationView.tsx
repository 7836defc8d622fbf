import { Alert, Button, Empty, Input, Space, Tag, Tooltip, Typography, App } from 'antd';
import { useEffect, useRef, useState } from 'react';
import { time } from '../shared/format.ts';
import { CHANNEL_LABEL, STATUS_COLOR, STATUS_LABEL } from '../shared/labels.ts';
import type { Conversation, Message, ReplyWindow } from '../shared/types.ts';
import { api } from './api.ts';

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

const SENDER_LABEL: Record<Message['senderType'], string> = { customer: '客户', bot: '机器人', agent: '客服', system: '系统' };

function Bubble({ m }: { m: Message }) {
  const mine = m.senderType !== 'customer';
  return (
    <div style={{ display: 'flex', justifyContent: mine ? 'flex-end' : 'flex-start', margin: '8px 0' }} data-testid="message" data-sender={m.senderType} data-seq={m.seq}>
      <div style={{ maxWidth: '70%' }}>
        <div style={{ fontSize: 12, color: '#999', textAlign: mine ? 'right' : 'left' }}>
          {SENDER_LABEL[m.senderType]} · {time(m.createdAt)}
          {m.status === 'failed' && <Tag color="red">发送失败{m.error ? `：${m.error}` : ''}</Tag>}
          {m.status === 'pending' && <Tag>发送中</Tag>}
        </div>
        <div
          style={{
            background: m.senderType === 'agent' ? '#95ec69' : m.senderType === 'customer' ? '#fff' : '#e8f4ff',
            padding: '8px 12px',
            borderRadius: 8,
            whiteSpace: 'pre-wrap',
            wordBreak: 'break-word',
            boxShadow: '0 1px 2px rgba(0,0,0,.06)',
          }}
        >
          {m.text}
          {m.payload.quickReplies && (
            <div style={{ marginTop: 6 }}>
              {m.payload.quickReplies.map((q) => (
                <Tag key={q}>{q}</Tag>
              ))}
            </div>
          )}
        </div>
      </div>
    </div>
  );
}

export function ConversationView({
  conversation,
  messages,
  canReply,
  scriptTick = 0,
}: {
  conversation: Conversation | null;
  messages: Message[];
  canReply: boolean;
  /** bumped when a recovery script arrives for this conversation */
  scriptTick?: number;
}) {
  const { message } = App.useApp();
  const [draft, setDraft] = useState('');
  const [sending, setSending] = useState(false);
  const bottom = useRef<HTMLDivElement>(null);
  useEffect(() => {
    bottom.current?.scrollIntoView({ block: 'end' });
  }, [messages.length, conversation?.id]);

  // agent assist: KB answers for the customer's latest message, refreshed when the customer writes again
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
  }, [conversation?.id, lastCustomerSeq, scriptTick]);

  const insertScript = (s: Script) => {
    setDraft(s.script);
    setScripts((list) => list.filter((x) => x.runId !== s.runId));
    void api(`/api/v1/recovery/runs/${s.runId}/used`, { method: 'POST' }).catch(() => {});
  };

  if (!conversation) return <Empty description="从左侧选择一个会话" style={{ marginTop: 120 }} />;

  const send = async () => {
    const text = draft.trim();
    if (!text || sending) return;
    setSending(true);
    try {
      await api(`/api/v1/conversations/${conversation.id}/messages`, { method: 'POST', body: { text } });
      setDraft('');
    } catch (e) {
      message.error((e as Error).message);
    } finally {
      setSending(false);
    }
  };
  const resolve = async () => {
    try {
      await api(`/api/v1/conversations/${conversation.id}/resolve`, { method: 'POST' });
      message.success('会话已结束');
    } catch (e) {
      message.error((e as Error).message);
    }
  };

  return (
    <div style={{ display: 'flex', flexDirection: 'column', height: '100%' }}>
      <div style={{ padding: '12px 16px', borderBottom: '1px solid #eee', display: 'flex', justifyContent: 'space-between' }}>
        <Space>
          <Typography.Text strong>{conversation.customerName ?? '客户'}</Typography.Text>
          <Tag>{CHANNEL_LABEL[conversation.channel]}</Tag>
          <Tag color={STATUS_COLOR[conversation.status]} data-testid="conversation-status">
            {STATUS_LABEL[conversation.status]}
          </Tag>
        </Space>
        <Button onClick={resolve} disabled={!canReply || conversation.status === 'resolved'} data-testid="resolve">
          结束会话
        </Button>
      </div>
      <div style={{ flex: 1, overflowY: 'auto', padding: '8px 16px', background: '#f5f5f5' }} data-testid="messages">
        {messages.map((m) => (
          <Bubble key={m.seq} m={m} />
        ))}
        <div ref={bottom} />
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
                    <Tag color="orange">挽回话术</Tag>
                    {s.playbookName}
                    {s.status === 'fallback' && s.outcome && FALLBACK_REASON[s.outcome] ? `（${FALLBACK_REASON[s.outcome]}）` : ''}
                  </span>
                }
                description={s.script}
                action={
                  <Button size="small" type="primary" data-testid="recovery-script-insert" onClick={() => insertScript(s)}>
                    插入
                  </Button>
                }
              />
            ))}
          </div>
        )}
        {canReply && suggestions.length > 0 && (
          <div style={{ marginBottom: 8 }} data-testid="suggestions">
            <Typography.Text type="secondary" style={{ fontSize: 12, marginRight: 8 }}>
              推荐回复：
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
        <Input.TextArea
          data-testid="reply-input"
          value={draft}
          disabled={!canReply}
          placeholder={canReply ? '输入回复，Enter 发送，Shift+Enter 换行' : '该会话未分配给您'}
          autoSize={{ minRows: 2, maxRows: 6 }}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
              e.preventDefault();
              void send();
            }
          }}
        />
        <div style={{ textAlign: 'right', marginTop: 8 }}>
          <Button type="primary" onClick={send} loading={sending} disabled={!canReply || !draft.trim()} data-testid="reply-send">
            发送
          </Button>
        </div>
      </div>
    </div>
  );
}
