import { iso } from '../time.ts';
import { replyWindow } from './channel-rules.ts';
import type { ConversationListItem } from './queries.ts';
import type { ConversationRow, MessageRow } from './rows.ts';


export function presentMessage(m: MessageRow) {
  return {
    id: m.id,
    conversationId: m.conversationId,
    seq: m.seq,
    senderType: m.senderType,
    senderId: m.senderId,
    type: m.type,
    text: m.text,
    payload: m.payload,
    channel: m.channel,
    status: m.status,
    error: m.error,
    errorCode: m.errorCode ?? null,
    createdAt: iso(m.createdAt),
  };
}
export type MessageView = ReturnType<typeof presentMessage>;

export function presentConversation(c: ConversationRow | ConversationListItem) {
  return {
    id: c.id,
    customerId: c.customerId,
    channel: c.channel,
    status: c.status,
    teamId: c.teamId,
    assigneeId: c.assigneeId,
    lastSeq: c.lastSeq,
    replyWindow: presentWindow(c),
    lastMessageAt: iso(c.lastMessageAt),
    snoozedUntil: iso(c.snoozedUntil ?? null),
    createdAt: iso(c.createdAt),
    ...('customerName' in c ? { customerName: c.customerName, lastText: c.lastText, ticket: c.ticket ?? null } : {}),
  };
}
export type ConversationView = ReturnType<typeof presentConversation>;

function presentWindow(c: ConversationRow | ConversationListItem) {
  const w = replyWindow(c);
  return { limited: w.limited, open: w.open, closesAt: iso(w.closesAt), remaining: w.remaining };
}
