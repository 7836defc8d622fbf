import Router from '@koa/router';
import { z } from 'zod';
import { authenticate, getAgent } from '../../../../core/agents/agents.ts';
import { presentSelf } from '../../../../core/agents/presenter.ts';
import { assertLoginAllowed, clearLoginFailures, recordLoginFailure } from '../../../../core/agents/login-guard.ts';
import type { VerifiedToken } from '../../../../core/agents/tokens.ts';
import { audit } from '../../../../core/audit.ts';
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
    const email = body.email.toLowerCase();
    await assertLoginAllowed(app.deps.sql, email, ctx.ip);
    let agent;
    try {
      agent = await authenticate(app.deps.sql, email, body.password);
    } catch (err) {
      await recordLoginFailure(app.deps.sql, email, ctx.ip);
      throw err;
    }
    await clearLoginFailures(app.deps.sql, email);
    // the login history (登录日志): who signed in, when, from where
    await audit(app.deps.sql, {
      actorId: agent.id,
      action: 'agent.login',
      targetType: 'agent',
      targetId: agent.id,
      details: { ip: ctx.ip, userAgent: (ctx.get('user-agent') ?? '').slice(0, 200) },
    });
    const token = await app.tokens.sign({ sub: agent.id, role: agent.role, sv: agent.sessionEpoch });
    ctx.body = { token, agent: presentSelf(agent) };
  });
  // the token stops working everywhere at once, and its console sockets are closed
  r.post('/logout', requireAgent(app), async (ctx) => {
    const token = ctx.state.token as VerifiedToken;
    await app.deps.sql`insert into revoked_tokens (jti, agent_id, expires_at) values (${token.jti}, ${token.sub}, ${token.exp}) on conflict do nothing`;
    await app.deps.sql`delete from revoked_tokens where expires_at < now()`;
    app.deps.bus.publish([{ type: 'agent.revoked', agentId: token.sub, jti: token.jti }]);
    ctx.status = 204;
  });
  r.get('/me', requireAgent(app), async (ctx) => {
    ctx.body = { agent: presentSelf({ ...(await getAgent(app.deps.sql, actorOf(ctx).id)), teamIds: actorOf(ctx).teamIds }) };
  });
  return r;
}
