import Router from '@koa/router';
import { z } from 'zod';
import { authenticate, getAgent } from '../../../../core/agents/agents.ts';
import { presentAgent } from '../../../../core/agents/presenter.ts';
import { readJson } from '../../body.ts';
import type { HttpContext } from '../../context.ts';
import { actorOf, requireAgent } from '../../middleware/auth.ts';

const loginSchema = z.object({
  email: z.string().trim().email().max(254),
  password: z.string().min(1).max(256),
});

export function authRoutes(app: HttpContext): Router {
  const r = new Router({ prefix: '/api/v1/auth' });
  r.post('/login', async (ctx) => {
    const body = await readJson(ctx, loginSchema);
    const agent = await authenticate(app.deps.sql, body.email, body.password);
    const token = await app.tokens.sign({ sub: agent.id, role: agent.role });
    ctx.body = { token, agent: presentAgent(agent) };
  });
  r.get('/me', requireAgent(app), async (ctx) => {
    ctx.body = { agent: presentAgent({ ...(await getAgent(app.deps.sql, actorOf(ctx).id)), teamIds: actorOf(ctx).teamIds }) };
  });
  return r;
}
