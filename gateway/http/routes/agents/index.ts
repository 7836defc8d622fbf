import Router from '@koa/router';
import { z } from 'zod';
import { listAgents, setAgentStatus } from '../../../../core/agents/agents.ts';
import { presentAgent } from '../../../../core/agents/presenter.ts';
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
  r.put('/me/status', async (ctx) => {
    const { status } = await readJson(ctx, statusSchema);
    const actor = actorOf(ctx);
    await setAgentStatus(app.deps, actor.id, status);
    if (status === 'online') await drainQueue(app.deps, actor.id);
    ctx.body = { status };
  });
  return r;
}
