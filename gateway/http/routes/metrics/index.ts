import { timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import { unauthorized } from '../../../../core/errors.ts';
import { bearerToken } from '../../middleware/auth.ts';
import type { HttpContext } from '../../context.ts';

function sameSecret(given: string, expected: string): boolean {
  const [a, b] = [Buffer.from(given), Buffer.from(expected)];
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Prometheus text format. Open unless METRICS_TOKEN is set; then only for that bearer token. */
export function metricsRoutes(app: HttpContext): Router {
  const r = new Router();
  r.get('/metrics', async (ctx) => {
    const expected = app.config.METRICS_TOKEN;
    if (expected && !sameSecret(bearerToken(ctx.get('authorization')) ?? '', expected)) throw unauthorized('需要指标令牌（METRICS_TOKEN）');
    ctx.type = app.metrics.registry.contentType;
    ctx.body = await app.metrics.registry.metrics();
  });
  return r;
}
