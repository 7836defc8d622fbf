import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { WxApiError, wxRequest, type WxReply } from './api.ts';

export interface TokenSource {
  /** Unique per credential, e.g. `wecom:<corpid>` or `mp:<appid>`. */
  key: string;
  fetch(): Promise<{ token: string; expiresIn: number }>;
}

/** A token source that GETs `url` and reads WeChat's `{access_token, expires_in}`. */
export function tokenEndpoint(key: string, url: string): TokenSource {
  return {
    key,
    fetch: async () => {
      const r = await wxRequest<WxReply & { access_token: string; expires_in: number }>(url);
      return { token: r.access_token, expiresIn: r.expires_in };
    },
  };
}

interface Cached {
  token: string;
  expiresAt: number;
}

/** errcodes that mean "this access_token is no good": refresh once and retry. */
export const TOKEN_INVALID = new Set([40001, 40014, 42001]);

const EARLY_S = 300; // refresh 5 minutes before WeChat's expiry, so a token never dies mid-call
const LOCK_MS = 10_000;

/**
 * Access tokens per credential. WeChat rate-limits gettoken and invalidates older tokens on refresh in some
 * setups, so exactly one refresh runs at a time: per process by sharing the in-flight promise, across nodes by
 * a Redis lock (when REDIS_URL is set) while the other nodes wait for the token it stores. Keys are relative:
 * the client's `keyPrefix` (REDIS_PREFIX) puts them in the workspace's space.
 */
export class AccessTokens {
  private memory = new Map<string, Cached>();
  private inflight = new Map<string, Promise<string>>();
  private readonly owner = randomUUID();

  constructor(private readonly redis: Redis | null = null) {}

  /**
   * A valid token. `stale` is a token the platform just rejected: it is never returned again, and only the
   * first caller to report it triggers the refresh.
   */
  async get(src: TokenSource, stale?: string): Promise<string> {
    const now = Date.now();
    const mine = this.memory.get(src.key);
    if (mine && mine.expiresAt > now && mine.token !== stale) return mine.token;
    const shared = await this.readShared(src.key);
    if (shared && shared.expiresAt > now && shared.token !== stale) {
      this.memory.set(src.key, shared);
      return shared.token;
    }
    let p = this.inflight.get(src.key);
    if (!p) {
      p = this.refresh(src, stale).finally(() => this.inflight.delete(src.key));
      this.inflight.set(src.key, p);
    }
    return p;
  }

  /** Runs `call` with a token; on an invalid/expired-token error refreshes once and runs it again. */
  async withToken<T>(src: TokenSource, call: (token: string) => Promise<T>): Promise<T> {
    const token = await this.get(src);
    try {
      return await call(token);
    } catch (err) {
      if (!(err instanceof WxApiError) || !TOKEN_INVALID.has(err.errcode)) throw err;
      return call(await this.get(src, token));
    }
  }

  private async refresh(src: TokenSource, stale?: string): Promise<string> {
    if (!this.redis) return this.fetchAndStore(src);
    const lockKey = `token-lock:${src.key}`;
    const deadline = Date.now() + LOCK_MS * 2;
    while (Date.now() < deadline) {
      if (await this.redis.set(lockKey, this.owner, 'PX', LOCK_MS, 'NX')) {
        try {
          // another node may have refreshed between our read and our lock
          const shared = await this.readShared(src.key);
          if (shared && shared.expiresAt > Date.now() && shared.token !== stale) {
            this.memory.set(src.key, shared);
            return shared.token;
          }
          return await this.fetchAndStore(src);
        } finally {
          if ((await this.redis.get(lockKey)) === this.owner) await this.redis.del(lockKey);
        }
      }
      await new Promise((r) => setTimeout(r, 50));
      const shared = await this.readShared(src.key);
      if (shared && shared.expiresAt > Date.now() && shared.token !== stale) {
        this.memory.set(src.key, shared);
        return shared.token;
      }
    }
    throw new Error(`timed out waiting for the access token refresh of ${src.key}`);
  }

  private async fetchAndStore(src: TokenSource): Promise<string> {
    const { token, expiresIn } = await src.fetch();
    const ttlS = Math.max(60, expiresIn - EARLY_S);
    const cached = { token, expiresAt: Date.now() + ttlS * 1000 };
    this.memory.set(src.key, cached);
    await this.redis?.set(`token:${src.key}`, JSON.stringify(cached), 'PX', ttlS * 1000);
    return token;
  }

  private async readShared(key: string): Promise<Cached | null> {
    if (!this.redis) return null;
    const raw = await this.redis.get(`token:${key}`);
    return raw ? (JSON.parse(raw) as Cached) : null;
  }
}
