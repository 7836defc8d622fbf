import { HttpThread } from './http-thread.ts';

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
 * (OUTBOX_DEFAULTS.inFlight), so its calls do not queue for a connection while their timeout runs. The connections
 * and the client live on a thread of their own (http-thread.ts), one for the process.
 */
export const API_SOCKETS = 128;
const http = new HttpThread(API_SOCKETS);
const send = (url: string, body: string | undefined, timeoutMs: number) => http.request(url, body, timeoutMs);

export function apiUrl(base: string, path: string, query: Record<string, string>): string {
  const url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return url.toString();
}
