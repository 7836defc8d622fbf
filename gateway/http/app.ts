import Koa from 'koa';
import type { Logger } from 'pino';
import type { HttpContext } from './context.ts';
import { errorHandler } from './middleware/errors.ts';
import { requestContext } from './middleware/request-context.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { agentRoutes, teamRoutes } from './routes/agents/index.ts';
import { auditRoutes } from './routes/audit/index.ts';
import { authRoutes } from './routes/auth/index.ts';
import { conversationRoutes } from './routes/conversations/index.ts';
import { commerceRoutes } from './routes/commerce/index.ts';
import { customerRoutes } from './routes/customers/index.ts';
import { kbRoutes } from './routes/kb/index.ts';
import { webUploadRoutes } from '../channels/web/uploads.ts';
import { consoleRoutes } from './routes/console/index.ts';
import { recoveryRoutes } from './routes/recovery/index.ts';
import { ticketRoutes } from './routes/tickets/index.ts';
import { healthRoutes } from './routes/health/index.ts';
import { metricsRoutes } from './routes/metrics/index.ts';
import { serveConsole } from './static.ts';

export function createHttpApp(app: HttpContext, opts: { log: Logger; consoleDir: string }): Koa {
  const koa = new Koa({ proxy: true, maxIpsCount: app.config.PROXY_HOPS });
  koa.silent = true; // errors are logged by the error middleware with the request id
  koa.use(requestContext(opts.log, app.metrics));
  koa.use(errorHandler);
  koa.use(securityHeaders);
  // the channels' callbacks are not here: they are served ahead of this app (gateway/http/callbacks.ts)
  for (const router of [
    healthRoutes(app),
    metricsRoutes(app),
    authRoutes(app),
    agentRoutes(app),
    teamRoutes(app),
    conversationRoutes(app),
    customerRoutes(app),
    commerceRoutes(app),
    kbRoutes(app),
    ticketRoutes(app),
    recoveryRoutes(app),
    consoleRoutes(app),
    auditRoutes(app),
    webUploadRoutes(app),
  ]) {
    koa.use(router.routes());
    koa.use(router.allowedMethods({ throw: false }));
  }
  koa.use(serveConsole(opts.consoleDir));
  return koa;
}
