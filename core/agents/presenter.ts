import type { AgentRow } from './rows.ts';

export function presentAgent(a: AgentRow & { teamIds?: string[]; load?: number }) {
  return {
    id: a.id,
    email: a.email,
    name: a.name,
    role: a.role,
    skills: a.skills,
    status: a.status,
    // all their consoles closed, still online for the offline grace (core/agents/presence.ts)
    disconnectedAt: a.disconnectedAt ? a.disconnectedAt.toISOString() : null,
    maxConcurrent: a.maxConcurrent,
    ...(a.teamIds ? { teamIds: a.teamIds } : {}),
    ...(a.load !== undefined ? { load: a.load } : {}),
  };
}

/** The signed-in agent about themselves (login, `auth/me`): also whether they must choose a new password. */
export function presentSelf(a: AgentRow & { teamIds?: string[] }) {
  return { ...presentAgent(a), mustChangePassword: a.mustChangePassword };
}

/** What admins also see of an account: disabled, locked out (until when), and when its password was last set. */
export function presentAccount(a: AgentRow & { teamIds?: string[]; load?: number }, lockedUntil: Date | undefined) {
  return {
    ...presentAgent(a),
    disabled: !!a.disabledAt,
    lockedUntil: lockedUntil ? lockedUntil.toISOString() : null,
    passwordSetAt: a.passwordSetAt ? a.passwordSetAt.toISOString() : null,
    mustChangePassword: a.mustChangePassword,
  };
}

/** An agent's presence as it changed (the `agent:status` event): their status, and since when all their consoles are closed. */
export function presentPresence(p: { agentId: string; status: string; disconnectedAt: Date | null }) {
  return { agentId: p.agentId, status: p.status, disconnectedAt: p.disconnectedAt ? p.disconnectedAt.toISOString() : null };
}
