import Router from '@koa/router';
import type { HttpContext } from '../../context.ts';

export function healthRoutes(app: HttpContext): Router {
  const r = new Router();
  r.get('/healthz', async (ctx) => {
    try {
      await Promise.race([
        app.deps.sql`select 1`,
        new Promise((_, reject) => setTimeout(() => reject(new Error('database timeout')), 2000).unref()),
      ]);
      ctx.body = { ok: true };
    } catch (err) {
      ctx.state.log.warn({ err }, 'health check failed');
      ctx.status = 503;
      ctx.body = { ok: false, error: { code: 'database_unavailable', message: '数据库无响应' } };
    }
  });
  return r;
}
