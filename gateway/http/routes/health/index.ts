import Router from '@koa/router';
import type { HttpContext } from '../../context.ts';

export function healthRoutes(app: HttpContext): Router {
  const r = new Router();
  r.get('/healthz', async (ctx) => {
    let readOnly: boolean;
    try {
      const [row] = (await Promise.race([
        app.deps.sql<{ readOnly: string }[]>`select current_setting('transaction_read_only') as read_only`,
        new Promise((_, reject) => setTimeout(() => reject(new Error('database timeout')), 2000).unref()),
      ])) as { readOnly: string }[];
      readOnly = row.readOnly === 'on';
    } catch (err) {
      ctx.state.log.warn({ err }, 'health check failed');
      ctx.status = 503;
      ctx.body = { ok: false, error: { code: 'database_unavailable', message: '数据库无响应' } };
      return;
    }
    // answering is not enough: a node left on a standby by a failover answers, but cannot store a message
    if (readOnly) {
      ctx.state.log.warn('health check: the database is read-only');
      ctx.status = 503;
      ctx.body = { ok: false, error: { code: 'database_read_only', message: '数据库只读（可能正在主备切换），暂时无法保存消息' } };
      return;
    }
    ctx.body = { ok: true };
  });
  return r;
}
