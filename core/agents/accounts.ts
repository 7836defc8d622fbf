import { z } from 'zod';
import { audit } from '../audit.ts';
import { transaction, type Queryable } from '../db/client.ts';
import type { Deps } from '../deps.ts';
import { AppError, badRequest, conflict, notFound } from '../errors.ts';
import { isUuid } from '../ids.ts';
import type { Session } from './agents.ts';
import { assertLoginAllowed, clearLoginFailures, recordLoginFailure } from './login-guard.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import type { AgentRow } from './rows.ts';

/**
 * A password a person chose: long enough, and not one kind of character only (`12345678`, `abcdefgh`). No list of
 * leaked passwords ships here; the lockout and the address throttle bound guessing.
 */
export const newPassword = z
  .string()
  .min(8, '密码至少 8 位')
  .max(128, '密码最多 128 位')
  .refine((p) => [/[A-Za-z]/, /\d/, /[^A-Za-z\d]/].filter((re) => re.test(p)).length >= 2, '密码需包含字母、数字、符号中的至少两种');

export const newAgent = z
  .object({
    email: z.string().trim().toLowerCase().email('邮箱格式不正确').max(254),
    name: z.string().trim().min(1, '请填写姓名').max(40),
    role: z.enum(['agent', 'supervisor', 'admin']).default('agent'),
    teamIds: z.array(z.string().uuid()).max(20).default([]),
    skills: z.array(z.string().trim().min(1).max(20)).max(20).default([]),
    maxConcurrent: z.number().int().min(1).max(100).default(8),
    password: newPassword,
  })
  .strict();

export const passwordChange = z.object({ currentPassword: z.string().min(1).max(256), newPassword }).strict();
export const passwordReset = z.object({ password: newPassword }).strict();

export async function assertTeamsExist(q: Queryable, teamIds: string[]): Promise<void> {
  if (!teamIds.length) return;
  const found = await q`select id from teams where id = any(${teamIds}::uuid[])`;
  if (found.length !== new Set(teamIds).size) throw badRequest('unknown_team', '客服组不存在');
}

/**
 * An admin opens an account for a new colleague, with a first password to hand over (audited); its owner is asked
 * for a new one at their first sign-in. `actorId` null: `huike agent add`, where the password was typed on the server.
 */
export async function addAgent(deps: Deps, actorId: string | null, a: z.infer<typeof newAgent>): Promise<AgentRow & { teamIds: string[] }> {
  const passwordHash = await hashPassword(a.password);
  const teamIds = [...new Set(a.teamIds)];
  try {
    return await transaction(deps.sql, async (tx) => {
      await assertTeamsExist(tx, teamIds);
      const [row] = await tx<AgentRow[]>`
        insert into agents (email, name, password_hash, role, skills, max_concurrent, password_set_at, must_change_password)
        values (${a.email}, ${a.name}, ${passwordHash}, ${a.role}, ${a.skills}, ${a.maxConcurrent}, now(), ${actorId !== null})
        returning *`;
      if (teamIds.length) await tx`insert into agent_teams ${tx(teamIds.map((teamId) => ({ agentId: row.id, teamId })), 'agentId', 'teamId')}`;
      await audit(tx, { actorId, action: 'agent.create', targetType: 'agent', targetId: row.id, details: { email: a.email, role: a.role, teamIds, ...(actorId ? {} : { by: 'cli' }) } });
      return { ...row, teamIds };
    });
  } catch (err) {
    // a disabled account keeps its address: enable it again instead of opening a second one
    if ((err as { code?: string }).code === '23505') throw conflict('email_taken', '该邮箱已有客服账号（含已停用的账号）');
    throw err;
  }
}

/**
 * The agent changes their own password. The current one is checked like a login (a wrong one counts towards the
 * lockout, so this is no way around it), and every other session of theirs ends: the caller signs a new token at
 * the returned epoch for the session that asked.
 */
export async function changeOwnPassword(
  deps: Deps,
  agentId: string,
  session: Session,
  input: z.infer<typeof passwordChange>,
  ip: string,
): Promise<{ sessionEpoch: number; role: AgentRow['role'] }> {
  const [agent] = await deps.sql<AgentRow[]>`select * from agents where id = ${agentId} and disabled_at is null`;
  if (!agent) throw notFound('客服');
  await assertLoginAllowed(deps.sql, agent.email, ip);
  if (!(await verifyPassword(agent.passwordHash, input.currentPassword))) {
    await recordLoginFailure(deps.sql, agent.email, ip);
    // not 401: the session is fine, only the password typed is wrong, and a 401 would sign the console out
    throw new AppError(403, 'wrong_password', '当前密码不正确');
  }
  if (input.newPassword === input.currentPassword) throw badRequest('same_password', '新密码不能与当前密码相同');
  const passwordHash = await hashPassword(input.newPassword);
  const row = await transaction(deps.sql, async (tx) => {
    // the epoch it was read at: a reset by an admin in between wins, and this change is refused
    const [r] = await tx<{ sessionEpoch: number; role: AgentRow['role'] }[]>`
      update agents set password_hash = ${passwordHash}, password_set_at = now(), session_epoch = session_epoch + 1,
             must_change_password = false
       where id = ${agentId} and session_epoch = ${session.sv} returning session_epoch, role`;
    if (!r) throw new AppError(401, 'unauthorized', '登录已失效，请重新登录');
    await audit(tx, { actorId: agentId, action: 'agent.password_change', targetType: 'agent', targetId: agentId });
    return r;
  });
  await clearLoginFailures(deps.sql, agent.email);
  deps.bus.publish([{ type: 'agent.revoked', agentId, jti: null, exceptJti: session.jti }]);
  return row;
}

/**
 * An admin sets a new password for a colleague who forgot theirs (or whose account may be known to others): it
 * also lifts a lockout, ends every session they have, and the owner is asked for a new one at sign-in.
 * `actorId` null: `huike agent passwd` on the server, by the owner themselves as a rule: not asked again.
 */
export async function resetPassword(deps: Deps, actorId: string | null, id: string, input: z.infer<typeof passwordReset>): Promise<AgentRow> {
  if (!isUuid(id)) throw notFound('客服');
  if (id === actorId) throw conflict('own_password', '修改自己的密码请用「修改密码」，需要输入当前密码');
  const passwordHash = await hashPassword(input.password);
  const row = await transaction(deps.sql, async (tx) => {
    const [r] = await tx<AgentRow[]>`
      update agents set password_hash = ${passwordHash}, password_set_at = now(), session_epoch = session_epoch + 1,
             must_change_password = ${actorId !== null}
       where id = ${id} returning *`;
    if (!r) throw notFound('客服');
    await clearLoginFailures(tx, r.email);
    await audit(tx, { actorId, action: 'agent.password_reset', targetType: 'agent', targetId: id, details: actorId ? {} : { by: 'cli' } });
    return r;
  });
  deps.bus.publish([{ type: 'agent.revoked', agentId: id, jti: null }]);
  return row;
}

/** An admin lifts a lockout (too many wrong passwords, perhaps not the agent's own) without changing the password. */
export async function unlockAgent(deps: Deps, actorId: string, id: string): Promise<AgentRow> {
  if (!isUuid(id)) throw notFound('客服');
  return transaction(deps.sql, async (tx) => {
    const [r] = await tx<AgentRow[]>`select * from agents where id = ${id}`;
    if (!r) throw notFound('客服');
    await clearLoginFailures(tx, r.email);
    await audit(tx, { actorId, action: 'agent.unlock', targetType: 'agent', targetId: id });
    return r;
  });
}
