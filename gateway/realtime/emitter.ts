import type { Server } from 'socket.io';
import type { Deps } from '../../core/deps.ts';
import type { DomainEvent } from '../../core/events.ts';
import { presentConversation, presentMessage } from '../../core/conversations/presenter.ts';
import { getConversationListItems } from '../../core/conversations/queries.ts';
import { batchLoader } from '../../core/loader.ts';
import type { ConversationRow } from '../../core/conversations/rows.ts';
import { presentTicket } from '../../core/tickets/presenter.ts';
import { rooms } from './rooms.ts';
import { presentRun } from '../../core/recovery/presenter.ts';
import { presentPresence } from '../../core/agents/presenter.ts';

/**
 * The only code that emits to sockets. Domain events (published after commit) become socket events; every
 * message event carries the conversation's seq so clients can see and fill gaps.
 */
export function createEmitter(io: Server, deps: Deps) {
  const agents = io.of('/agent');
  const customers = io.of('/customer');
  // identity id -> web visitor id; identities never change their value, so this cache never goes stale
  const visitorOf = new Map<string, string>();

  async function visitorRoom(c: ConversationRow): Promise<string | null> {
    if (c.channel !== 'web') return null;
    let v = visitorOf.get(c.identityId);
    if (!v) {
      const [row] = await deps.sql<{ value: string }[]>`select value from identities where id = ${c.identityId}`;
      if (!row) return null;
      v = row.value;
      if (visitorOf.size > 50_000) visitorOf.clear();
      visitorOf.set(c.identityId, v);
    }
    return rooms.visitor(v);
  }

  // the inbox rows of a burst of events (a batch just committed) in one query
  const listItem = batchLoader((ids: string[]) => getConversationListItems(deps.sql, ids));
  /** Events carry the conversation as the inbox lists it, so a client never needs a second request to show it. */
  async function inboxView(c: ConversationRow) {
    return presentConversation((await listItem(c.id)) ?? c);
  }

  // one conversation's events leave in the order they were published, though their rows load in batches
  const queues = new Map<string, Promise<unknown>>();
  function inOrder<T>(conversationId: string, load: Promise<T>, send: (loaded: T) => void): Promise<void> {
    const next = Promise.all([queues.get(conversationId), load]).then(([, loaded]) => send(loaded));
    const settled = next.catch(() => {});
    queues.set(conversationId, settled);
    void settled.then(() => {
      if (queues.get(conversationId) === settled) queues.delete(conversationId);
    });
    return next;
  }

  return async (event: DomainEvent): Promise<void> => {
    switch (event.type) {
      case 'message.created': {
        const c = event.conversation;
        const message = presentMessage(event.message);
        // the message is the conversation's last one when its event leaves (events leave in seq order)
        const view = event.inbox ? presentConversation({ ...c, ...event.inbox, lastText: event.message.text }) : inboxView(c);
        return inOrder(c.id, Promise.all([view, visitorRoom(c)]), ([conversation, room]) => {
          const payload = { conversationId: c.id, seq: event.message.seq, message };
          agents.to(rooms.forConversation(c)).emit('message:new', { ...payload, conversation });
          if (room) customers.to(room).emit('message:new', payload);
        });
      }
      case 'message.updated': {
        // delivery news (sent / failed with a reason); the conversation rides along for its reply window, as its
        // own row: the inbox row (name, last text, ticket) did not change
        const c = event.conversation;
        const payload = { conversationId: c.id, message: presentMessage(event.message) };
        return inOrder(c.id, visitorRoom(c), (room) => {
          agents.to(rooms.forConversation(c)).emit('message:updated', { ...payload, conversation: presentConversation(c) });
          if (room) customers.to(room).emit('message:updated', payload);
        });
      }
      case 'conversation.updated': {
        const conversation = await inboxView(event.conversation);
        agents.to(rooms.forConversation(event.conversation)).emit('conversation:updated', { conversation });
        const room = await visitorRoom(event.conversation);
        if (room) customers.to(room).emit('conversation:status', { conversationId: conversation.id, status: conversation.status });
        return;
      }
      case 'ticket.assigned': {
        agents
          .to(rooms.forConversation(event.conversation))
          .emit('ticket:assigned', { ticket: presentTicket(event.ticket), conversation: await inboxView(event.conversation) });
        return;
      }
      case 'ticket.opened':
      case 'ticket.updated':
        // the queue view and the ticket list follow every change without a reload
        agents.to(rooms.forConversation(event.ticket)).emit('ticket:updated', { ticket: presentTicket(event.ticket) });
        return;
      case 'ticket.note':
        // a mention reaches the colleague wherever they are in the console
        for (const id of event.mentions)
          agents.to(rooms.agent(id)).emit('mention', { ticketId: event.ticketId, authorId: event.authorId, text: event.text });
        return;
      case 'ticket.sla': {
        const payload = { ticket: presentTicket(event.ticket), level: event.level };
        const to = [rooms.supervisors, ...(event.ticket.assigneeId ? [rooms.agent(event.ticket.assigneeId)] : [])];
        agents.to(to).emit('ticket:sla', payload);
        return;
      }
      case 'recovery.script':
        // a script for the agent beside the conversation, one click to insert
        agents.to(rooms.forConversation(event.conversation)).emit('recovery:script', { conversationId: event.conversation.id, run: presentRun(event.run) });
        return;
      case 'agent.revoked':
        // through the adapter: the sockets are closed on whichever node holds them
        // (a password change keeps the session that asked: `exceptJti`)
        agents
          .in(event.jti ? rooms.session(event.jti) : rooms.agent(event.agentId))
          .except(event.exceptJti ? [rooms.session(event.exceptJti)] : [])
          .disconnectSockets(true);
        return;
      case 'agent.access': {
        // through the adapter, on whichever node holds the sockets; rooms kept in both stay joined throughout
        const [was, now] = [rooms.forAccess(event.before), rooms.forAccess(event.after)];
        const theirs = agents.in(rooms.agent(event.agentId));
        const leave = was.filter((r) => !now.includes(r));
        const join = now.filter((r) => !was.includes(r));
        if (leave.length) theirs.socketsLeave(leave);
        if (join.length) theirs.socketsJoin(join);
        // the console reloads what it shows: its menus follow the role, its inbox the teams
        agents.to(rooms.agent(event.agentId)).emit('agent:access', { role: event.after.role, teamIds: event.after.teamIds });
        return;
      }
      case 'agent.status':
        // the supervisors' team page, and the agent's own consoles: a status set in one tab, or by the presence
        // sweep, shows in every other
        agents.to([rooms.supervisors, rooms.agent(event.agentId)]).emit('agent:status', presentPresence(event));
        return;
      default:
        return;
    }
  };
}
