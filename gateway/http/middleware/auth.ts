import type { Context, Next } from 'koa';
import { loadActor } from '../../../core/agents/agents.ts';
import type { Actor } from '../../../core/agents/rows.ts';
import { unauthorized } from '../../../core/errors.ts';
import type { HttpContext } from '../context.ts';

export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m ? m[1] : null;
}

/** Every /api/v1 route but login passes through here: a valid token of an enabled agent, or 401. */
export function requireAgent(app: HttpContext) {
  return async (ctx: Context, next: Next) => {
    const token = bearerToken(ctx.get('authorization'));
    if (!token) throw unauthorized();
    const claims = await app.tokens.verify(token);
    ctx.state.actor = await loadActor(app.deps.sql, claims.sub, claims);
    ctx.state.token = claims;
    await next();
  };
}

export const actorOf = (ctx: Context): Actor => ctx.state.actor as Actor;
