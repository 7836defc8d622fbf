// The payloads the gateway presents (core/*/presenter.ts). Kept by hand: the console is built separately.
export interface Message {
  id: string;
  conversationId: string;
  seq: number;
  senderType: 'customer' | 'bot' | 'agent' | 'system';
  senderId: string | null;
  type: string;
  text: string | null;
  payload: { quickReplies?: string[]; [k: string]: unknown };
  channel: string;
  status: 'received' | 'pending' | 'sent' | 'failed';
  error: string | null;
  errorCode?: string | null;
  createdAt: string;
}

export interface ReplyWindow {
  limited: boolean;
  open: boolean;
  closesAt: string | null;
  remaining: number | null;
}

export interface Conversation {
  id: string;
  customerId: string;
  channel: 'web' | 'wecom_kf' | 'miniprogram';
  replyWindow?: ReplyWindow;
  ticket?: {
    id: string;
    status: string;
    category: string | null;
    number: number;
    priority: number;
    firstResponseDueAt: string | null;
    firstResponseAt: string | null;
    escalatedAt: string | null;
  } | null;
  snoozedUntil?: string | null;
  status: 'bot' | 'queued' | 'open' | 'resolved';
  teamId: string | null;
  assigneeId: string | null;
  lastSeq: number;
  lastMessageAt: string | null;
  createdAt: string;
  customerName?: string;
  lastText?: string | null;
}

export interface Agent {
  id: string;
  email: string;
  name: string;
  role: 'agent' | 'supervisor' | 'admin';
  status: 'online' | 'away' | 'offline';
  /** set while all their consoles are closed and they are still online for the offline grace */
  disconnectedAt?: string | null;
  teamIds?: string[];
  /** the password was set by an admin: the console asks for a new one (only about the signed-in agent) */
  mustChangePassword?: boolean;
}

/** `agent:status`: an agent's status changed, or their offline grace started (`disconnectedAt`) or ended */
export interface Presence {
  agentId: string;
  status: Agent['status'];
  disconnectedAt: string | null;
}

export interface Profile {
  id: string;
  displayName: string;
  phone: string | null;
  revealed: boolean;
  tier: string;
  tierName: string;
  tierSource: 'spend' | 'member';
  points: number;
  identities: { kind: string; value: string; displayName: string | null; verified: boolean }[];
  orders: {
    id: string;
    platform: string;
    platformOrderId: string;
    status: string;
    totalFen: number;
    items: { name: string; qty: number }[];
    address: string | null;
    orderedAt: string;
  }[];
  totals: { orderCount: number; paidOrderCount: number; spentFen: number; aovFen: number; firstOrderAt: string | null; lastOrderAt: string | null };
  rfm: { recencyDays: number | null; frequency: number; monetaryFen: number; windowDays: number; segment: string };
  ltvFen: number;
  tags: { tag: string; source: 'manual' | 'import' | 'auto' }[];
  carts: { platform: string; cartId: string; status: string; totalFen: number; updatedAt: string }[];
  browsing: { platform: string; name?: string; at: string }[];
  openTickets: { id: string; number: number; status: string; category: string | null }[];
  csat: { ticketNumber: number; score: number; comment: string | null; at: string }[];
  conversations: { id: string; channel: string; status: string; lastMessageAt: string }[];
}
