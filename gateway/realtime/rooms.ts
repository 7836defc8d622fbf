import { isSupervisor } from '../../core/agents/policies.ts';
import type { Actor } from '../../core/agents/rows.ts';
import type { ConversationRow } from '../../core/conversations/rows.ts';

// Room names in one place: the emitter and the namespaces must agree on them.
export const rooms = {
  agent: (id: string) => `agent:${id}`,
  /** one login session (token id), so a logout can end exactly its sockets on every node */
  session: (jti: string) => `session:${jti}`,
  team: (id: string) => `team:${id}`,
  supervisors: 'supervisors',
  visitor: (visitorId: string) => `visitor:${visitorId}`,
  /** What an agent hears beyond their own conversations: their teams', and every one if supervisor. */
  forAccess(a: Pick<Actor, 'role' | 'teamIds'>): string[] {
    return [...a.teamIds.map(rooms.team), ...(isSupervisor(a) ? [rooms.supervisors] : [])];
  },
  /** Agents who see this conversation: its assignee, its team, and every supervisor. */
  forConversation(c: Pick<ConversationRow, 'assigneeId' | 'teamId'>): string[] {
    const r = [rooms.supervisors];
    if (c.teamId) r.push(rooms.team(c.teamId));
    if (c.assigneeId) r.push(rooms.agent(c.assigneeId));
    return r;
  },
};
