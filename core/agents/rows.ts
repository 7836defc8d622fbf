export type Role = 'agent' | 'supervisor' | 'admin';
export type AgentStatus = 'online' | 'away' | 'offline';

export interface AgentRow {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  role: Role;
  skills: string[];
  status: AgentStatus;
  maxConcurrent: number;
  lastAssignedAt: Date | null;
  disabledAt: Date | null;
  /** set while the agent has no console open and the offline grace runs (core/agents/presence.ts) */
  disconnectedAt: Date | null;
  /** tokens signed at another epoch are refused (core/agents/accounts.ts) */
  sessionEpoch: number;
  passwordSetAt: Date | null;
  /** set by an admin (new account, reset): the console asks for a new one at sign-in */
  mustChangePassword: boolean;
  createdAt: Date;
}

/** The signed-in agent as requests and sockets see it. */
export interface Actor {
  id: string;
  role: Role;
  teamIds: string[];
}
