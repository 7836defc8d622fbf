import type { ConversationRow } from '../conversations/rows.ts';
import { forbidden } from '../errors.ts';
import type { Actor } from './rows.ts';

// Small allow-rules. Every route names the rule it needs; nothing is allowed by default.

export const isSupervisor = (actor: Pick<Actor, 'role'>) => actor.role === 'supervisor' || actor.role === 'admin';

export function canViewConversation(actor: Actor, c: Pick<ConversationRow, 'assigneeId' | 'teamId'>): boolean {
  if (isSupervisor(actor)) return true;
  return c.assigneeId === actor.id || (c.teamId !== null && actor.teamIds.includes(c.teamId));
}

/** Agents reply only in conversations assigned to them; supervisors may step in anywhere. */
export function canReply(actor: Actor, c: Pick<ConversationRow, 'assigneeId' | 'teamId'>): boolean {
  return isSupervisor(actor) || c.assigneeId === actor.id;
}

/** Profiles are visible to anyone who can see one of the customer's conversations; checked by the caller. */
export function authorize(allowed: boolean, message?: string): void {
  if (!allowed) throw forbidden(message);
}
