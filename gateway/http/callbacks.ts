import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { AppError, badRequest } from '../../core/errors.ts';
import type { Metrics } from '../metrics.ts';
import { readBody } from './body.ts';
import { errorReply } from './error-reply.ts';
import { recordRequest, requestIdOf } from './middleware/request-context.ts';
import { SECURITY_HEADERS } from './middleware/security-headers.ts';

/** What a channel callback sees of its request. */
export interface CallbackRequest {
  /** a query parameter, '' when absent; one given twice is a bad request */
  query(name: string): string;
  /** the body, refused past `limit` bytes (413) */
  body(limit: number): Promise<Buffer>;
  log: Logger;
}

/** A channel's push endpoint (WeChat and WeCom call it): answered 200 text/plain, or an error the usual way. */
export interface CallbackRoute {
  method: 'GET' | 'POST';
  path: string;
  handle(req: CallbackRequest): Promise<{ body: string }>;
}

const BASE_HEADERS = Object.fromEntries(SECURITY_HEADERS);

/**
 * Serves the channels' callbacks before Koa: each customer message arrives through one, and Koa's context,
 * middleware and routers cost a callback about a sixth of the gateway's CPU for a message (the bench, README
 * "Scale, faults and security"). What the Koa app gives every answer, these get too: the request id, the security
 * headers, the error body of `errorReply`, /metrics figures by route and the access log line. Paths as the router
 * matched them: any case, a trailing slash allowed. Every other request goes on to `next` (the Koa app).
 */
export function serveCallbacks(routes: CallbackRoute[], opts: { log: Logger; metrics: Metrics }, next: RequestListener): RequestListener {
  const byPath = new Map<string, { path: string; methods: Map<string, CallbackRoute> }>();
  for (const r of routes) {
    const key = normalize(r.path);
    const entry = byPath.get(key) ?? { path: r.path, methods: new Map() };
    entry.methods.set(r.method, r);
    byPath.set(key, entry);
  }
  return (req, res) => {
    const url = originForm(req.url ?? '/');
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const entry = byPath.get(normalize(path));
    if (!entry) return next(req, res);
    serve(req, res, entry, { path, search: q < 0 ? '' : url.slice(q + 1) }, opts).catch((err) => {
      // past the answer (the figures, the log line): nothing the caller can be told, and no reason to stop the node
      opts.log.error({ err }, 'channel callback bookkeeping failed');
    });
  };
}

/** `/path?query` of a request line, also when a client sent the absolute form (`POST http://host/path`) */
function originForm(url: string): string {
  if (url.startsWith('/')) return url;
  try {
    const u = new URL(url);
    return u.pathname + u.search;
  } catch {
    return url;
  }
}

const normalize = (path: string) => (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path).toLowerCase();

async function serve(req: IncomingMessage, res: ServerResponse, entry: { path: string; methods: Map<string, CallbackRoute> }, asked: { path: string; search: string }, opts: { log: Logger; metrics: Metrics }) {
  const start = process.hrtime.bigint();
  const id = requestIdOf(req.headers['x-request-id'] as string | undefined);
  // a child logger only when something is logged: creating one is a measurable part of a callback
  let child: Logger | undefined;
  const log = () => (child ??= opts.log.child({ reqId: id }));
  let params: URLSearchParams | undefined;
  let status = 200;
  try {
    const route = entry.methods.get(req.method ?? '');
    if (!route) throw new AppError(405, 'method_not_allowed', `此地址只接受 ${[...entry.methods.keys()].join('、')} 请求`);
    const reply = await route.handle({
      query(name) {
        const all = (params ??= new URLSearchParams(asked.search)).getAll(name);
        if (all.length > 1) throw badRequest('invalid_query', `回调参数 ${name} 出现了多次`);
        return all[0] ?? '';
      },
      body: (limit) => readBody(req, limit),
      get log() {
        return log();
      },
    });
    send(res, 200, id, 'text/plain; charset=utf-8', reply.body);
  } catch (err) {
    const e = errorReply(err, log());
    status = e.status;
    const allow: Record<string, string> = status === 405 ? { Allow: [...entry.methods.keys()].join(', ') } : {};
    send(res, status, id, 'application/json; charset=utf-8', JSON.stringify(e.body), { ...e.headers, ...allow });
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  recordRequest(opts.metrics, opts.log.isLevelEnabled('info') ? log() : opts.log, { method: req.method ?? '', route: entry.path, path: asked.path, status, seconds });
}

function send(res: ServerResponse, status: number, id: string, type: string, body: string, extra: Record<string, string> = {}) {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...BASE_HEADERS, ...extra, 'X-Request-Id': id, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
