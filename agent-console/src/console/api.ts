const TOKEN_KEY = 'huike.token';

export const session = {
  get token() {
    return localStorage.getItem(TOKEN_KEY);
  },
  set(token: string) {
    localStorage.setItem(TOKEN_KEY, token);
  },
  clear() {
    localStorage.removeItem(TOKEN_KEY);
  },
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** JSON over fetch with the agent's token; a 401 sends the agent back to the login page. */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: init.method ?? 'GET',
      headers: {
        ...(init.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...(session.token ? { Authorization: `Bearer ${session.token}` } : {}),
      },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    });
  } catch {
    // no answer at all (offline, the node went away mid-request): the request may or may not have been done
    throw new ApiError(0, 'network', '网络异常，未收到服务器的答复，请稍后重试');
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    if (res.status === 401 && path !== '/api/v1/auth/login') {
      session.clear();
      window.location.reload();
    }
    throw new ApiError(res.status, data?.error?.code ?? 'error', data?.error?.message ?? `请求失败（${res.status}）`);
  }
  return data as T;
}

/** A file the API serves behind the agent's token (a link cannot send the header): fetched, then saved. */
export async function download(path: string, filename: string): Promise<void> {
  const res = await fetch(path, { headers: session.token ? { Authorization: `Bearer ${session.token}` } : {} }).catch(() => null);
  if (!res) throw new ApiError(0, 'network', '网络异常，未收到服务器的答复，请稍后重试');
  if (!res.ok) {
    const data = await res.json().catch(() => ({}));
    throw new ApiError(res.status, data?.error?.code ?? 'error', data?.error?.message ?? `请求失败（${res.status}）`);
  }
  const url = URL.createObjectURL(await res.blob());
  const a = Object.assign(document.createElement('a'), { href: url, download: filename });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
