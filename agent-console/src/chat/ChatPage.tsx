import { useEffect, useRef, useState } from 'react';
import { io, type Socket } from 'socket.io-client';
import { contiguousSeq, mergeBySeq, newClientMsgId } from '../shared/format.ts';
import type { Message } from '../shared/types.ts';
import './chat.css';

const VISITOR_KEY = 'huike.visitorId';

function initialVisitorId(): string | undefined {
  const fromUrl = new URLSearchParams(location.search).get('visitorId');
  return fromUrl ?? localStorage.getItem(VISITOR_KEY) ?? undefined;
}

/**
 * A shop's signed-in user: the page was opened with `?identityToken=` (signed by the shop's server). Taken off the
 * address at once, so it is neither bookmarked nor sent on as a referrer.
 */
function takeIdentityToken(): string | null {
  const params = new URLSearchParams(location.search);
  const token = params.get('identityToken');
  if (token) {
    params.delete('identityToken');
    history.replaceState(null, '', `${location.pathname}${params.size ? `?${params}` : ''}${location.hash}`);
  }
  return token;
}


interface Pending {
  clientMsgId: string;
  text: string;
  /** an uploaded picture's URL: the message is the picture */
  image?: string;
  failed?: string;
}

/** What a message shows on the chat page: text, a picture, or a link / mini-program card. */
function Body({ m }: { m: Message }) {
  const p = m.payload as Record<string, string | undefined>;
  if (m.type === 'image' && p.url) return <img src={p.url} alt="图片" className="pic" data-testid="chat-image" />;
  if (m.type === 'link')
    return (
      <a className="card" href={p.url} target="_blank" rel="noreferrer" data-testid="chat-card">
        <b>{p.title}</b>
        <span>{p.desc}</span>
        {m.text && <span className="card-text">{m.text}</span>}
      </a>
    );
  if (m.type === 'miniprogram')
    return (
      <div className="card" data-testid="chat-card">
        <b>{p.title}</b>
        <span>小程序</span>
      </div>
    );
  return <>{m.text}</>;
}

type AckReply = { ok: true; message: Message } | { ok: false; error: { message: string } };

/** The customer's chat page (H5, mini-program look). Messages are resent with the same id until the server acks. */
export function ChatPage() {
  const [messages, setMessages] = useState<Message[]>([]);
  // earlier conversations stay on screen above the current one (seq restarts with every conversation)
  const [earlier, setEarlier] = useState<Message[]>([]);
  /**
   * Seqs restart with every conversation, so a message of a new conversation (the last one was resolved)
   * starts a fresh thread; the old one moves up into `earlier` instead of being merged seq by seq.
   */
  const addToThread = (prev: Message[], m: Message): Message[] => {
    if (prev.length && prev[0].conversationId !== m.conversationId) {
      setEarlier((old) => [...old, ...prev]);
      return [m];
    }
    return mergeBySeq(prev, [m]);
  };
  const [pending, setPending] = useState<Pending[]>([]);
  const [status, setStatus] = useState<string | null>(null);
  const [refused, setRefused] = useState<string | null>(null);
  const [connected, setConnected] = useState(false);
  const [draft, setDraft] = useState('');
  const socketRef = useRef<Socket | null>(null);
  const messagesRef = useRef<Message[]>([]);
  messagesRef.current = messages;
  const bottom = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const identityToken = takeIdentityToken();
    const s = io('/customer', { auth: identityToken ? { identityToken } : { visitorId: initialVisitorId() }, transports: ['websocket'] });
    // an identity token refused (expired, forged): said on the page, not served as somebody else
    s.on('connect_error', (err: Error & { data?: { code?: string } }) => {
      if (err.data?.code === 'invalid_identity' || err.data?.code === 'identity_not_configured') setRefused(err.message);
    });
    socketRef.current = s;
    const history = () =>
      s.emit('history', { afterSeq: contiguousSeq(messagesRef.current) }, (r: { ok: boolean; messages: Message[]; status: string | null }) => {
        if (!r.ok) return;
        setMessages((prev) => mergeBySeq(prev, r.messages));
        setStatus(r.status);
      });
    s.on('session', ({ visitorId }: { visitorId: string }) => {
      localStorage.setItem(VISITOR_KEY, visitorId);
      s.auth = { visitorId };
      history();
    });
    s.on('connect', () => setConnected(true));
    s.on('disconnect', () => setConnected(false));
    s.on('message:new', (e: { conversationId: string; seq: number; message: Message }) => {
      setMessages((prev) => {
        const next = addToThread(prev, e.message);
        if (contiguousSeq(next) < e.seq) setTimeout(history, 0);
        return next;
      });
    });
    s.on('conversation:status', (e: { status: string }) => setStatus(e.status));
    // the node lost Redis for a while: an agent's reply sent through another node meanwhile never came
    s.on('resync', history);
    return () => {
      s.disconnect();
    };
  }, []);

  useEffect(() => {
    bottom.current?.scrollIntoView({ block: 'end' });
  }, [messages.length, pending.length]);

  const deliver = (p: Pending) => {
    const s = socketRef.current;
    if (!s) return;
    const body = p.image ? { clientMsgId: p.clientMsgId, image: p.image } : { clientMsgId: p.clientMsgId, text: p.text };
    s.timeout(10_000).emit('message:send', body, (err: Error | null, r: AckReply) => {
      if (!err && r.ok) {
        setMessages((prev) => addToThread(prev, r.message));
        setPending((prev) => prev.filter((x) => x.clientMsgId !== p.clientMsgId));
        return;
      }
      const reason = err ? '网络不稳定，点击重试' : r.ok ? '' : r.error.message;
      setPending((prev) => prev.map((x) => (x.clientMsgId === p.clientMsgId ? { ...x, failed: reason } : x)));
    });
  };

  // the picture is uploaded first (and kept by its hash), then sent as a message with its URL
  const sendImage = async (file: File) => {
    if (file.size > 5 * 1024 * 1024) return alert('图片不能超过 5 MB');
    const visitorId = localStorage.getItem(VISITOR_KEY) ?? '';
    const res = await fetch('/channels/web/upload', { method: 'POST', headers: { 'content-type': file.type || 'image/png', 'x-visitor-id': visitorId }, body: file });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) return alert(data?.error?.message ?? '图片上传失败，请重试');
    const p: Pending = { clientMsgId: newClientMsgId(), text: '[图片]', image: data.url };
    setPending((prev) => [...prev, p]);
    deliver(p);
  };

  const send = (text: string) => {
    const t = text.trim();
    if (!t) return;
    const p = { clientMsgId: newClientMsgId(), text: t };
    setPending((prev) => [...prev, p]);
    setDraft('');
    deliver(p);
  };

  const lastQuickReplies = [...messages].reverse().find((m) => m.senderType !== 'customer')?.payload.quickReplies ?? [];

  return (
    <div className="chat">
      <header className="chat-header">
        <span>回客优选 · 在线客服</span>
        <small data-testid="chat-status">{refused ? refused : !connected ? '连接中…' : status === 'open' ? '人工客服为您服务' : status === 'queued' ? '正在为您转接人工…' : '智能客服'}</small>
      </header>
      <main className="chat-body" data-testid="chat-messages">
        {messages.length === 0 && pending.length === 0 && <div className="chat-hint">您好，欢迎光临回客优选！有什么可以帮您？</div>}
        {[...earlier, ...messages].map((m) => (
          <div key={`${m.conversationId}:${m.seq}`} className={`row ${m.senderType === 'customer' ? 'me' : 'them'}`} data-testid="chat-message" data-sender={m.senderType}>
            {m.senderType !== 'customer' && <div className="who">{m.senderType === 'agent' ? '客服' : m.senderType === 'bot' ? '智能助手' : '系统'}</div>}
            <div className="bubble">
              <Body m={m} />
            </div>
          </div>
        ))}
        {pending.map((p) => (
          <div key={p.clientMsgId} className="row me" data-testid="chat-pending">
            <div className="bubble pending">{p.image ? <img src={p.image} alt="图片" className="pic" /> : p.text}</div>
            {p.failed && (
              <button className="retry" onClick={() => deliver({ ...p, failed: undefined })}>
                {p.failed}
              </button>
            )}
          </div>
        ))}
        <div ref={bottom} />
      </main>
      {lastQuickReplies.length > 0 && (
        <div className="quick">
          {lastQuickReplies.map((q) => (
            <button key={q} onClick={() => send(q)} data-testid="quick-reply">
              {q}
            </button>
          ))}
        </div>
      )}
      <footer className="chat-input">
        <label className="pick" title="发送图片">
          ＋
          <input
            type="file"
            accept="image/png,image/jpeg,image/gif,image/webp"
            data-testid="chat-image-input"
            hidden
            onChange={(e) => {
              const f = e.target.files?.[0];
              e.target.value = '';
              if (f) void sendImage(f);
            }}
          />
        </label>
        <input
          data-testid="chat-input"
          value={draft}
          maxLength={4000}
          placeholder="请输入您的问题"
          onChange={(e) => {
            setDraft(e.target.value);
            socketRef.current?.emit('typing');
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.nativeEvent.isComposing) send(draft);
          }}
        />
        <button data-testid="chat-send" onClick={() => send(draft)} disabled={!draft.trim()}>
          发送
        </button>
      </footer>
    </div>
  );
}
