import type Koa from 'koa';
import { TokenService } from '../../core/agents/tokens.ts';
import { createHttpApp } from '../../gateway/http/app.ts';
import { CONSOLE_DIST } from '../../gateway/huike.ts';
import { createMetrics } from '../../gateway/metrics.ts';
import type { TestHuike } from './huike.ts';

export interface Route {
  method: string;
  /** as registered, with the router's prefix and `:params` */
  path: string;
}

/**
 * Every route the node's HTTP app serves, read off its routers: a route-by-route test that compares its table
 * with this list cannot miss a route added later.
 */
export function appRoutes(h: TestHuike): Route[] {
  const koa: Koa = createHttpApp(
    { deps: h.deps, tokens: new TokenService(h.config.JWT_SECRET!), metrics: createMetrics(), config: h.config, bot: h.bot, kb: h.kb },
    { log: h.deps.log, consoleDir: CONSOLE_DIST },
  );
  // the channels' callbacks are served ahead of the Koa app
  const routes: Route[] = h.channels.callbacks.map((r) => ({ method: r.method, path: r.path }));
  for (const mw of koa.middleware as unknown as { router?: { stack: { methods: string[]; path: string }[] } }[]) {
    // a layer without methods is the router's own middleware (requireAgent...), not a route
    for (const layer of mw.router?.stack ?? []) for (const method of layer.methods) if (method !== 'HEAD') routes.push({ method, path: layer.path });
  }
  return routes;
}

/** `METHOD /path` of a route, the key the route-by-route tables use. */
export const routeKey = (r: Route) => `${r.method} ${r.path}`;
