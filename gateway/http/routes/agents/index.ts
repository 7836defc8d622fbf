import Router from '@koa/router';
import { z } from 'zod';
import { listAgents, setAgentStatus } from '../../../../core/agents/agents.ts';
import { presentAgent } from '../../../../core/agents/presenter.ts';
import { listTeams, presentTeam, teamSettings, updateTeam } from '../../../../core/agents/teams.ts';
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
  r.get('/', async (ctx) => {
    ctx.body = { agents: (await listAgents(app.deps.sql)).map(presentAgent) };
  });
  // admins only: role, capacity, teams, disable (audited; disabling ends the agent's sessions at once)
  r.put('/:id', async (ctx) => {
    const actor = actorOf(ctx);
    authorize(actor.role === 'admin', '只有管理员可以修改客服账号');
    const row = await updateAgent(app.deps, actor.id, ctx.params.id, await readJson(ctx, agentUpdate));
    ctx.body = { agent: presentAgent(row) };
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
  r.put('/:id', async (ctx) => {
    const actor = actorOf(ctx);
    authorize(isSupervisor(actor), '只有主管可以修改客服组设置');
    const team = await updateTeam(app.deps.sql, ctx.params.id, await readJson(ctx, teamBody));
    await audit(app.deps.sql, { actorId: actor.id, action: 'team.update', targetType: 'team', targetId: team.id });
    ctx.body = { team: presentTeam(team) };
  });
  return r;
}
