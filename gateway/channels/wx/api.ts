import { Agent } from 'undici';

/**
 * The JSON-over-HTTPS calling convention shared by WeCom and WeChat: `errcode` 0 is success, anything else is
 * a WxApiError; network trouble, timeouts and 5xx are WxTransportError and always worth retrying.
 */
export class WxApiError extends Error {
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
  ) {
    super(`WeChat API error ${errcode}: ${errmsg}`);
    this.name = 'WxApiError';
  }
}

export class WxTransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WxTransportError';
  }
}

export interface WxReply {
  errcode?: number;
  errmsg?: string;
  [key: string]: unknown;
}

export const TIMEOUT_MS = 10_000;

export async function wxRequest<T extends WxReply>(url: string, body?: unknown, timeoutMs = TIMEOUT_MS): Promise<T> {
  const path = new URL(url).pathname;
  let res: { status: number; text: string };
  try {
    res = await send(url, body === undefined ? undefined : JSON.stringify(body), timeoutMs);
  } catch (err) {
    throw new WxTransportError(`request to ${path} failed: ${(err as Error).message}`);
  }
  if (res.status >= 500 || res.status === 429) throw new WxTransportError(`${path} answered HTTP ${res.status}`);
  let data: T;
  try {
    data = JSON.parse(res.text) as T;
  } catch {
    throw new WxTransportError(`${path} answered HTTP ${res.status} without JSON`);
  }
  if (data.errcode && data.errcode !== 0) throw new WxApiError(data.errcode, data.errmsg ?? '');
  return data;
}

/**
 * Kept-alive connections to each API host, through undici: a busy outbox sends hundreds of messages a second, and
 * fetch() cost a millisecond of CPU a call where node:http cost 45–55 µs and undici's `request` 21–26 µs (the same
 * POST to a local server, 2026-12-07). The outbox keeps at most this many calls going (OUTBOX_DEFAULTS.inFlight),
 * so its calls do not queue for a connection while their timeout runs.
 */
export const API_SOCKETS = 128;
const dispatcher = new Agent({ connections: API_SOCKETS });

async function send(url: string, body: string | undefined, timeoutMs: number, retry?: { deadline: number }): Promise<{ status: number; text: string }> {
  const deadline = retry?.deadline ?? performance.now() + timeoutMs;
  const u = new URL(url);
  // from the start, a wait for a connection and a second try included: the outbox's lease (at least twice the
  // timeout) must outlast a token fetch and then the send
  const abort = new AbortController();
  const expired = new Error(`no answer within ${timeoutMs} ms`);
  const timer = setTimeout(() => abort.abort(expired), Math.max(0, deadline - performance.now()));
  try {
    const res = await dispatcher.request({
      origin: u.origin,
      path: u.pathname + u.search,
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body,
      signal: abort.signal,
    });
    return { status: res.statusCode, text: await res.body.text() };
  } catch (err) {
    if (abort.signal.aborted) throw expired;
    // the server closed a kept-alive connection just as the call went out on it, before any answer: once more
    if (!retry && (err as { code?: string }).code === 'UND_ERR_SOCKET') {
      clearTimeout(timer);
      return send(url, body, timeoutMs, { deadline });
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

export function apiUrl(base: string, path: string, query: Record<string, string>): string {
  const url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return url.toString();
}
