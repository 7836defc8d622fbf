import { z } from 'zod';
import { audit } from '../audit.ts';
import { transaction } from '../db/client.ts';
import type { Deps } from '../deps.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import { isUuid } from '../ids.ts';
import { requeueUnanswered } from '../tickets/actions.ts';
import type { AgentRow } from './rows.ts';

export const agentUpdate = z
  .object({
    role: z.enum(['agent', 'supervisor', 'admin']).optional(),
    disabled: z.boolean().optional(),
    maxConcurrent: z.number().int().min(1).max(100).optional(),
    teamIds: z.array(z.string().uuid()).max(20).optional(),
  })
  .strict()
  .refine((u) => Object.keys(u).length > 0, '至少修改一项');

/**
 * An admin changes an agent's role, capacity, teams, or disables the account. Role changes and disabling are
 * audit-logged; a disabled agent's sessions end at once (the caller disconnects their sockets) and their
 * unanswered tickets go back to the queue. An admin cannot disable or demote themselves.
 */
export async function updateAgent(deps: Deps, actorId: string, id: string, u: z.infer<typeof agentUpdate>): Promise<AgentRow> {
  if (!isUuid(id)) throw notFound('客服');
  if (id === actorId && (u.disabled || (u.role && u.role !== 'admin'))) throw conflict('self_lockout', '不能停用自己或降低自己的权限');
  const row = await transaction(deps.sql, async (tx) => {
    const [before] = await tx<AgentRow[]>`select * from agents where id = ${id} for update`;
    if (!before) throw notFound('客服');
    const teamsBefore = (await tx<{ teamId: string }[]>`select team_id from agent_teams where agent_id = ${id}`).map((t) => t.teamId);
    if (u.teamIds) {
      const found = await tx`select id from teams where id = any(${u.teamIds}::uuid[])`;
      if (found.length !== u.teamIds.length) throw badRequest('unknown_team', '客服组不存在');
      await tx`delete from agent_teams where agent_id = ${id}`;
      if (u.teamIds.length) await tx`insert into agent_teams ${tx(u.teamIds.map((teamId) => ({ agentId: id, teamId })), 'agentId', 'teamId')}`;
    }
    const [after] = await tx<AgentRow[]>`
      update agents set role = ${u.role ?? before.role}, max_concurrent = ${u.maxConcurrent ?? before.maxConcurrent},
             disabled_at = ${u.disabled === undefined ? before.disabledAt : u.disabled ? new Date() : null},
             status = ${u.disabled ? 'offline' : before.status}
       where id = ${id} returning *`;
    if (u.role && u.role !== before.role) await audit(tx, { actorId, action: 'agent.role_change', targetType: 'agent', targetId: id, details: { from: before.role, to: u.role } });
    if (u.disabled !== undefined && u.disabled !== !!before.disabledAt)
      await audit(tx, { actorId, action: u.disabled ? 'agent.disable' : 'agent.enable', targetType: 'agent', targetId: id });
    if (u.teamIds) await audit(tx, { actorId, action: 'agent.teams', targetType: 'agent', targetId: id, details: { teamIds: u.teamIds } });
    return { after, access: { before: { role: before.role, teamIds: teamsBefore }, after: { role: after.role, teamIds: u.teamIds ?? teamsBefore } } };
  });
  if (u.disabled) {
    await requeueUnanswered(deps, id);
    deps.bus.publish([{ type: 'agent.revoked', agentId: id, jti: null }]);
  } else if (row.access.before.role !== row.access.after.role || u.teamIds) {
    deps.bus.publish([{ type: 'agent.access', agentId: id, ...row.access }]);
  }
  return row.after;
}
