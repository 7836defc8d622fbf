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
  let res: Response;
  try {
    res = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new WxTransportError(`request to ${new URL(url).pathname} failed: ${(err as Error).message}`);
  }
  const text = await res.text().catch(() => '');
  if (res.status >= 500 || res.status === 429) throw new WxTransportError(`${new URL(url).pathname} answered HTTP ${res.status}`);
  let data: T;
  try {
    data = JSON.parse(text) as T;
  } catch {
    throw new WxTransportError(`${new URL(url).pathname} answered HTTP ${res.status} without JSON`);
  }
  if (data.errcode && data.errcode !== 0) throw new WxApiError(data.errcode, data.errmsg ?? '');
  return data;
}

export function apiUrl(base: string, path: string, query: Record<string, string>): string {
  const url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return url.toString();
}
