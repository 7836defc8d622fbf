import { z } from 'zod';
import { audit } from '../audit.ts';
import { transaction } from '../db/client.ts';
import type { Deps } from '../deps.ts';
import { conflict, notFound } from '../errors.ts';
import { assertTeamsExist } from './accounts.ts';
import { isUuid } from '../ids.ts';
import { requeueUnanswered } from '../tickets/actions.ts';
import type { AgentRow } from './rows.ts';

export const agentUpdate = z
  .object({
    name: z.string().trim().min(1, '请填写姓名').max(40).optional(),
    role: z.enum(['agent', 'supervisor', 'admin']).optional(),
    skills: z.array(z.string().trim().min(1).max(20)).max(20).optional(),
    disabled: z.boolean().optional(),
    maxConcurrent: z.number().int().min(1).max(100).optional(),
    teamIds: z.array(z.string().uuid()).max(20).optional(),
  })
  .strict()
  .refine((u) => Object.keys(u).length > 0, '至少修改一项');

/**
 * An admin changes an agent's name, role, skills, capacity, teams, or disables the account. Role changes and disabling are
 * audit-logged; a disabled agent's sessions end at once (the caller disconnects their sockets) and their
 * unanswered tickets go back to the queue. An admin cannot disable or demote themselves, nor the last other admin.
 */
export async function updateAgent(deps: Deps, actorId: string, id: string, u: z.infer<typeof agentUpdate>): Promise<AgentRow & { teamIds: string[] }> {
  if (!isUuid(id)) throw notFound('客服');
  if (id === actorId && (u.disabled || (u.role && u.role !== 'admin'))) throw conflict('self_lockout', '不能停用自己或降低自己的权限');
  const row = await transaction(deps.sql, async (tx) => {
    // Taking an admin away: the enabled admins are locked first, in id order, so two admins demoting each other
    // at once are served one after the other and the second finds the first already gone: never zero admins.
    const demotes = u.disabled || (u.role !== undefined && u.role !== 'admin');
    const admins = demotes ? await tx<{ id: string }[]>`select id from agents where role = 'admin' and disabled_at is null order by id for update` : [];
    const [before] = await tx<AgentRow[]>`select * from agents where id = ${id} for update`;
    if (!before) throw notFound('客服');
    if (demotes && admins.some((a) => a.id === id) && !admins.some((a) => a.id !== id))
      throw conflict('last_admin', '至少要保留一位启用中的管理员');
    const teamsBefore = (await tx<{ teamId: string }[]>`select team_id from agent_teams where agent_id = ${id}`).map((t) => t.teamId);
    if (u.teamIds) {
      u.teamIds = [...new Set(u.teamIds)];
      await assertTeamsExist(tx, u.teamIds);
      await tx`delete from agent_teams where agent_id = ${id}`;
      if (u.teamIds.length) await tx`insert into agent_teams ${tx(u.teamIds.map((teamId) => ({ agentId: id, teamId })), 'agentId', 'teamId')}`;
    }
    // disabling moves the session epoch on: the account's tokens stay dead when it is enabled again
    const [after] = await tx<AgentRow[]>`
      update agents set role = ${u.role ?? before.role}, max_concurrent = ${u.maxConcurrent ?? before.maxConcurrent},
             name = ${u.name ?? before.name}, skills = ${u.skills ?? before.skills},
             disabled_at = ${u.disabled === undefined ? before.disabledAt : u.disabled ? new Date() : null},
             status = ${u.disabled ? 'offline' : before.status},
             session_epoch = session_epoch + ${u.disabled && !before.disabledAt ? 1 : 0}
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
  return { ...row.after, teamIds: row.access.after.teamIds };
}
