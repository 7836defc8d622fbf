export type Channel = 'web' | 'wecom_kf' | 'miniprogram';
export type ConversationStatus = 'bot' | 'queued' | 'open' | 'resolved';
export type SenderType = 'customer' | 'bot' | 'agent' | 'system';

export interface ConversationRow {
  id: string;
  customerId: string;
  identityId: string;
  channel: Channel;
  status: ConversationStatus;
  teamId: string | null;
  assigneeId: string | null;
  botMisses: number;
  lastSeq: number;
  lastMessageAt: Date | null;
  lastCustomerMessageAt: Date | null;
  channelAccount: string | null;
  repliesSinceCustomer: number;
  snoozedUntil?: Date | null;
  createdAt: Date;
}

export interface MessageRow {
  id: string;
  conversationId: string;
  seq: number;
  senderType: SenderType;
  senderId: string | null;
  type: string;
  text: string | null;
  payload: Record<string, unknown>;
  channel: Channel;
  channelMsgId: string | null;
  status: 'received' | 'pending' | 'sent' | 'failed';
  error: string | null;
  errorCode: string | null;
  createdAt: Date;
}
