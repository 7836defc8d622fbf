import Router from '@koa/router';
import type { HttpContext } from '../../context.ts';

export function metricsRoutes(app: HttpContext): Router {
  const r = new Router();
  r.get('/metrics', async (ctx) => {
    ctx.type = app.metrics.registry.contentType;
    ctx.body = await app.metrics.registry.metrics();
  });
  return r;
}
