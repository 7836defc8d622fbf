import { createContext, useContext, useEffect, useRef, useState } from 'react';
import { io, type Socket } from 'socket.io-client';
import type { Agent, Conversation, Message, Presence } from '../shared/types.ts';
import { session } from './api.ts';

export interface LiveHandlers {
  onMessage(e: { conversationId: string; seq: number; message: Message; conversation: Conversation }): void;
  onConversation(c: Conversation): void;
  /** delivery status changed (sent, or failed with a reason) */
  onMessageUpdated(e: { conversationId: string; message: Message; conversation: Conversation }): void;
  onAssigned(e: { ticket: { number: number }; conversation: Conversation }): void;
  /** a recovery playbook left a script (挽回话术) for this conversation's agent */
  onScript(e: { conversationId: string }): void;
  /** a colleague @mentioned this agent in a ticket note */
  onMention(e: { ticketId: string; authorId: string; text: string }): void;
  /** the customer is typing on the web page */
  onTyping(e: { conversationId: string }): void;
  /** After a reconnect, or the server's `resync`: refetch what may have been missed. */
  onReconnect(): void;
  /** an admin changed this agent's role or teams: what the console shows follows */
  onAccess(): void;
  /** this agent's own status as the server has it: on connect (`ready`), and whenever it changes (another tab, the presence sweep) */
  onOwnStatus(status: Agent['status']): void;
}

/** The console's socket on /agent. Handlers are read through a ref so re-renders never reconnect. */
export function useAgentSocket(handlers: LiveHandlers) {
  const ref = useRef(handlers);
  ref.current = handlers;
  const [socket, setSocket] = useState<Socket | null>(null);
  const [connected, setConnected] = useState(false);

  useEffect(() => {
    // read at every connect: after a password change the console connects again with its new token
    const s = io('/agent', { auth: (cb) => cb({ token: session.token }), transports: ['websocket'] });
    let everConnected = false;
    s.on('connect', () => {
      setConnected(true);
      if (everConnected) ref.current.onReconnect();
      everConnected = true;
    });
    s.on('disconnect', (reason) => {
      setConnected(false);
      // the server ended this session (logout elsewhere, disabled, token expired): connecting again is refused
      // with "unauthorized" below if it is really over, and succeeds if not
      if (reason === 'io server disconnect') s.connect();
    });
    s.on('connect_error', (err) => {
      if ((err as Error & { data?: { code?: string } }).data?.code === 'unauthorized') {
        session.clear();
        window.location.reload();
      }
    });
    s.on('message:new', (e) => ref.current.onMessage(e));
    s.on('message:updated', (e) => ref.current.onMessageUpdated(e));
    s.on('conversation:updated', (e) => ref.current.onConversation(e.conversation));
    s.on('ticket:assigned', (e) => ref.current.onAssigned(e));
    s.on('recovery:script', (e) => ref.current.onScript(e));
    s.on('mention', (e) => ref.current.onMention(e));
    s.on('typing', (e) => ref.current.onTyping(e));
    s.on('agent:access', () => ref.current.onAccess());
    // the node lost Redis for a while: what other nodes published meanwhile never came, so refetch as after a reconnect
    s.on('resync', () => ref.current.onReconnect());
    let me: string | null = null;
    s.on('ready', (e: { agentId: string; status: Agent['status'] }) => {
      me = e.agentId;
      ref.current.onOwnStatus(e.status);
    });
    s.on('agent:status', (e: Presence) => {
      if (e.agentId === me) ref.current.onOwnStatus(e.status);
    });
    setSocket(s);
    return () => {
      s.disconnect();
    };
  }, []);

  return { socket, connected };
}

/** The console's socket, for the pages that follow events of their own (the team page, the dashboard). */
export const LiveSocket = createContext<Socket | null>(null);

/** Runs `handler` for each `event` on the console's socket while the component is mounted. */
export function useLiveEvent<T>(event: string, handler: (payload: T) => void) {
  const socket = useContext(LiveSocket);
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => {
    if (!socket) return;
    const on = (payload: T) => ref.current(payload);
    socket.on(event, on);
    return () => {
      socket.off(event, on);
    };
  }, [socket, event]);
}
