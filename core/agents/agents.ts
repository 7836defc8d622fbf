import type { Queryable } from '../db/client.ts';
import type { Deps } from '../deps.ts';
import { requeueUnanswered } from '../tickets/actions.ts';
import { inTransaction } from '../events.ts';
import { notFound, unauthorized } from '../errors.ts';
import { isUuid } from '../ids.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import type { Actor, AgentRow, AgentStatus, Role } from './rows.ts';

export interface NewAgent {
  email: string;
  name: string;
  password: string;
  role: Role;
  skills?: string[];
  maxConcurrent?: number;
  teamIds?: string[];
}

export async function createAgent(q: Queryable, a: NewAgent): Promise<AgentRow> {
  const passwordHash = await hashPassword(a.password);
  const [row] = await q<AgentRow[]>`
    insert into agents (email, name, password_hash, role, skills, max_concurrent)
    values (${a.email.toLowerCase()}, ${a.name}, ${passwordHash}, ${a.role}, ${a.skills ?? []}, ${a.maxConcurrent ?? 8})
    returning *`;
  for (const teamId of a.teamIds ?? []) await q`insert into agent_teams (agent_id, team_id) values (${row.id}, ${teamId})`;
  return row;
}

// Compared against when the email is unknown, so a login takes the same time whether or not the account exists.
let dummyHash: Promise<string> | undefined;

export async function authenticate(q: Queryable, email: string, password: string): Promise<AgentRow> {
  const [row] = await q<AgentRow[]>`select * from agents where email = ${email.toLowerCase()} and disabled_at is null`;
  if (!row) {
    await verifyPassword(await (dummyHash ??= hashPassword('not-a-real-password')), password);
    throw unauthorized('邮箱或密码错误');
  }
  if (!(await verifyPassword(row.passwordHash, password))) throw unauthorized('邮箱或密码错误');
  return row;
}

export async function getAgent(q: Queryable, id: string): Promise<AgentRow> {
  if (!isUuid(id)) throw notFound('客服');
  const [row] = await q<AgentRow[]>`select * from agents where id = ${id}`;
  if (!row) throw notFound('客服');
  return row;
}

/** Which session a request or socket belongs to: its token's id, and the epoch it was signed at. */
export interface Session {
  jti: string;
  sv: number;
}

/**
 * The actor for an authenticated request, in one query: disabled accounts, logged-out tokens and tokens of an
 * older session epoch (the password changed since) lose access at once, and the role is the current one, not
 * the one in the token.
 */
export async function loadActor(q: Queryable, id: string, session: Session | null = null): Promise<Actor> {
  const current = session
    ? q`and a.session_epoch = ${session.sv} and not exists (select 1 from revoked_tokens r where r.jti = ${session.jti})`
    : q``;
  const [row] = await q<{ id: string; role: Role; teamIds: string[] }[]>`
    select a.id, a.role, coalesce(array_agg(t.team_id) filter (where t.team_id is not null), '{}') as team_ids
      from agents a left join agent_teams t on t.agent_id = a.id
     where a.id = ${id} and a.disabled_at is null ${current}
     group by a.id`;
  if (!row) throw unauthorized('登录已失效（已退出、密码已修改或账号已停用），请重新登录');
  return row;
}

/** The agents, enabled ones only unless `includeDisabled` (an admin's team page, to enable one again). */
export async function listAgents(q: Queryable, opts: { includeDisabled?: boolean } = {}): Promise<(AgentRow & { teamIds: string[]; load: number })[]> {
  const enabled = opts.includeDisabled ? q`` : q`where a.disabled_at is null`;
  return q`
    select a.*, coalesce(array_agg(distinct t.team_id) filter (where t.team_id is not null), '{}') as team_ids,
           (select count(*)::int from tickets k where k.assignee_id = a.id and k.status in ('assigned', 'pending')) as load
      from agents a left join agent_teams t on t.agent_id = a.id
     ${enabled}
     group by a.id order by a.disabled_at is not null, a.name`;
}

/**
 * `goneForMs`: the presence sweep's offline, which lands only if the agent's consoles have stayed closed that long
 * (a console that came back since the sweep looked cleared `disconnected_at`, and the agent stays as they are).
 */
export async function setAgentStatus(deps: Deps, agentId: string, status: AgentStatus, opts: { goneForMs?: number } = {}): Promise<boolean> {
  const changed = await inTransaction(deps.sql, deps.bus, async (tx, emit) => {
    const gone = opts.goneForMs === undefined ? tx`` : tx`and disconnected_at <= now() - ${opts.goneForMs} * interval '1 millisecond'`;
    const [row] = await tx`
      update agents set status = ${status}, disconnected_at = null
       where id = ${agentId} and status <> ${status} ${gone} returning id`;
    if (row) emit({ type: 'agent.status', agentId, status, disconnectedAt: null });
    return !!row;
  });
  // nobody should wait for a first reply from someone who left
  if (changed && status === 'offline') await requeueUnanswered(deps, agentId);
  return changed;
}
