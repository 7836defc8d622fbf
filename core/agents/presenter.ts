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
