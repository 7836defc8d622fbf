import Router from '@koa/router';
import { z } from 'zod';
import { listAgents, setAgentStatus } from '../../../../core/agents/agents.ts';
import { addAgent, changeOwnPassword, newAgent, passwordChange, passwordReset, resetPassword, unlockAgent } from '../../../../core/agents/accounts.ts';
import { lockedAccounts } from '../../../../core/agents/login-guard.ts';
import { presentAccount, presentAgent } from '../../../../core/agents/presenter.ts';
import type { VerifiedToken } from '../../../../core/agents/tokens.ts';
import { createTeam, listTeams, newTeam, presentTeam, teamSettings, updateTeam } from '../../../../core/agents/teams.ts';
import { authorize, isSupervisor } from '../../../../core/agents/policies.ts';
import { audit } from '../../../../core/audit.ts';
import { agentUpdate, updateAgent } from '../../../../core/agents/admin.ts';
import { drainQueue } from '../../../../core/tickets/routing.ts';
import { readJson } from '../../body.ts';
import type { HttpContext } from '../../context.ts';
import { actorOf, requireAgent } from '../../middleware/auth.ts';

const statusSchema = z.object({ status: z.enum(['online', 'away', 'offline']) });

export function agentRoutes(app: HttpContext): Router {
  const r = new Router({ prefix: '/api/v1/agents' });
  r.use(requireAgent(app));
  // admins also see who is disabled (with ?include=disabled), locked out, and when each password was set
  r.get('/', async (ctx) => {
    const actor = actorOf(ctx);
    const includeDisabled = ctx.query.include === 'disabled';
    authorize(!includeDisabled || actor.role === 'admin', '只有管理员可以查看已停用的账号');
    const rows = await listAgents(app.deps.sql, { includeDisabled });
    if (actor.role !== 'admin') {
      ctx.body = { agents: rows.map(presentAgent) };
      return;
    }
    const locked = await lockedAccounts(app.deps.sql);
    ctx.body = { agents: rows.map((a) => presentAccount(a, locked.get(a.email))) };
  });
  // admins only: a new account with a first password to hand over (audited)
  r.post('/', async (ctx) => {
    const actor = actorOf(ctx);
    authorize(actor.role === 'admin', '只有管理员可以新建客服账号');
    const row = await addAgent(app.deps, actor.id, await readJson(ctx, newAgent));
    ctx.status = 201;
    ctx.body = { agent: presentAccount(row, undefined) };
  });
  // anyone, their own: the current password, then every other session of theirs ends; this one gets a new token
  r.put('/me/password', async (ctx) => {
    const actor = actorOf(ctx);
    const body = await readJson(ctx, passwordChange);
    const session = ctx.state.token as VerifiedToken;
    const { sessionEpoch, role } = await changeOwnPassword(app.deps, actor.id, session, body, ctx.ip);
    ctx.body = { token: await app.tokens.sign({ sub: actor.id, role, sv: sessionEpoch }) };
  });
  // admins only: a new password for a colleague, which also lifts a lockout and ends their sessions (audited)
  r.put('/:id/password', async (ctx) => {
    const actor = actorOf(ctx);
    authorize(actor.role === 'admin', '只有管理员可以重置密码');
    const row = await resetPassword(app.deps, actor.id, ctx.params.id, await readJson(ctx, passwordReset));
    ctx.body = { agent: presentAccount(row, undefined) };
  });
  r.post('/:id/unlock', async (ctx) => {
    const actor = actorOf(ctx);
    authorize(actor.role === 'admin', '只有管理员可以解锁账号');
    ctx.body = { agent: presentAccount(await unlockAgent(app.deps, actor.id, ctx.params.id), undefined) };
  });
  // admins only: name, role, skills, capacity, teams, disable (audited; disabling ends the agent's sessions at once)
  r.put('/:id', async (ctx) => {
    const actor = actorOf(ctx);
    authorize(actor.role === 'admin', '只有管理员可以修改客服账号');
    const row = await updateAgent(app.deps, actor.id, ctx.params.id, await readJson(ctx, agentUpdate));
    const locked = await lockedAccounts(app.deps.sql);
    ctx.body = { agent: presentAccount(row, locked.get(row.email)) };
  });
  r.put('/me/status', async (ctx) => {
    const { status } = await readJson(ctx, statusSchema);
    const actor = actorOf(ctx);
    await setAgentStatus(app.deps, actor.id, status);
    if (status === 'online') await drainQueue(app.deps, actor.id);
    ctx.body = { status };
  });
  return r;
}

const teamBody = teamSettings;

/** `/api/v1/teams`: everyone reads; supervisors change SLA targets, business hours and the routing policy. */
export function teamRoutes(app: HttpContext): Router {
  const r = new Router({ prefix: '/api/v1/teams' });
  r.use(requireAgent(app));
  r.get('/', async (ctx) => {
    ctx.body = { teams: (await listTeams(app.deps.sql)).map(presentTeam) };
  });
  // admins only: the teams are how the shop is organised (supervisors tune each team's settings)
  r.post('/', async (ctx) => {
    const actor = actorOf(ctx);
    authorize(actor.role === 'admin', '只有管理员可以新建客服组');
    const team = await createTeam(app.deps.sql, await readJson(ctx, newTeam));
    await audit(app.deps.sql, { actorId: actor.id, action: 'team.create', targetType: 'team', targetId: team.id, details: { name: team.name } });
    ctx.status = 201;
    ctx.body = { team: presentTeam(team) };
  });
  r.put('/:id', async (ctx) => {
    const actor = actorOf(ctx);
    authorize(isSupervisor(actor), '只有主管可以修改客服组设置');
    const team = await updateTeam(app.deps.sql, ctx.params.id, await readJson(ctx, teamBody));
    await audit(app.deps.sql, { actorId: actor.id, action: 'team.update', targetType: 'team', targetId: team.id });
    ctx.body = { team: presentTeam(team) };
  });
  return r;
}
