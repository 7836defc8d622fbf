import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

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
 * Kept-alive connections to each API host: a busy outbox sends hundreds of messages a second, and fetch() costs a
 * millisecond of CPU each where node:http costs a tenth of that. The outbox keeps at most this many calls going
 * (OUTBOX_DEFAULTS.inFlight), so its calls do not queue for a connection while their timeout runs.
 */
export const API_SOCKETS = 128;
const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: API_SOCKETS }), https: new HttpsAgent({ keepAlive: true, maxSockets: API_SOCKETS }) };

function send(url: string, body: string | undefined, timeoutMs: number, retried = false): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(
      u,
      {
        method: body === undefined ? 'GET' : 'POST',
        agent: secure ? agents.https : agents.http,
        headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', fail);
      },
    );
    // from the start, a wait for a connection included: the outbox's lease (at least twice the timeout) must outlast
    // a token fetch and then the send
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    function fail(err: NodeJS.ErrnoException) {
      clearTimeout(timer);
      // the server closed an idle kept-alive connection just as we reused it: the request never arrived
      if (!retried && req.reusedSocket && err.code === 'ECONNRESET') send(url, body, timeoutMs, true).then(resolve, reject);
      else reject(err);
    }
    req.on('error', fail);
    req.end(body);
  });
}

export function apiUrl(base: string, path: string, query: Record<string, string>): string {
  const url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return url.toString();
}
