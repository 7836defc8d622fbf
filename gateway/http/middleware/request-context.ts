import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import type { Metrics } from '../../metrics.ts';

const SAFE_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The caller's X-Request-Id when it is sane, a new one otherwise. */
export const requestIdOf = (incoming: string | undefined): string => (incoming && SAFE_ID.test(incoming) ? incoming : randomUUID());

/** The request's figures on /metrics and its access log line. */
export function recordRequest(metrics: Metrics, log: Logger, r: { method: string; route: string; path: string; status: number; seconds: number }): void {
  metrics.httpRequests.inc({ method: r.method, route: r.route, status: String(r.status) });
  metrics.httpDuration.observe({ method: r.method, route: r.route }, r.seconds);
  log.info({ method: r.method, path: r.path, status: r.status, ms: Math.round(r.seconds * 1000) }, 'request');
}

/** Request id, a child logger, one access log line and HTTP metrics. */
export function requestContext(log: Logger, metrics: Metrics) {
  return async (ctx: Context, next: Next) => {
    const id = requestIdOf(ctx.get('x-request-id'));
    ctx.set('X-Request-Id', id);
    ctx.state.log = log.child({ reqId: id });
    const start = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? (ctx.status === 404 ? 'unmatched' : ctx.path.split('/').slice(0, 2).join('/'));
      recordRequest(metrics, ctx.state.log, { method: ctx.method, route, path: ctx.path, status: ctx.status, seconds });
    }
  };
}
