import type { AgentRow } from './rows.ts';

export function presentAgent(a: AgentRow & { teamIds?: string[]; load?: number }) {
  return {
    id: a.id,
    email: a.email,
    name: a.name,
    role: a.role,
    skills: a.skills,
    status: a.status,
    maxConcurrent: a.maxConcurrent,
    ...(a.teamIds ? { teamIds: a.teamIds } : {}),
    ...(a.load !== undefined ? { load: a.load } : {}),
  };
}
