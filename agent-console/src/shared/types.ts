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
  teamIds?: string[];
}

export interface Profile {
  id: string;
  displayName: string;
  phone: string | null;
  tier: string;
  points: number;
  identities: { kind: string; value: string; displayName: string | null }[];
  orders: { id: string; platform: string; platformOrderId: string; status: string; totalFen: number; items: { name: string; qty: number }[]; orderedAt: string }[];
  totals: { orderCount: number; spentFen: number; aovFen: number; firstOrderAt: string | null; lastOrderAt: string | null };
}
