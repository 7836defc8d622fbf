import type { Redis } from 'ioredis';

/**
 * Calls per minute to one WeChat API for one credential, counted across every gateway node. WeCom allows a corp
 * 10,000 calls a minute to a single API (and 150,000 an hour); past that every node gets 45009 and every send
 * fails at once. Counting here keeps the fleet under the limit: an over-limit call is not made, and the outbox
 * retries it when the window turns.
 *
 * Fixed one-minute windows: cheap (one INCR), shared through Redis when it is set, in memory on a single node.
 * A window edge can let up to twice the limit through within a few seconds, so the default stays below
 * WeChat's figure. If Redis does not answer, this node counts alone rather than stopping every send. Keys are
 * relative: the client's `keyPrefix` (REDIS_PREFIX) puts them in the workspace's space.
 */
export class WxRateLimiter {
  private memory = new Map<string, { window: number; n: number }>();

  constructor(
    readonly perMinute: number,
    private readonly redis: Redis | null = null,
    private readonly onRedisError: (err: unknown) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one call; throws WxRateLimited (with the wait until the next window) when this minute is used up. */
  async take(credential: string, api: string): Promise<void> {
    const window = Math.floor(this.now() / 60_000);
    const waitMs = (window + 1) * 60_000 - this.now();
    const n = await this.count(`wxrate:${credential}:${api}:${window}`, waitMs);
    if (n > this.perMinute) throw new WxRateLimited(api, waitMs);
  }

  private async count(key: string, ttlMs: number): Promise<number> {
    if (this.redis) {
      try {
        const [[, n]] = (await this.redis.multi().incr(key).pexpire(key, ttlMs + 5_000).exec()) as [[null, number], [null, number]];
        return n;
      } catch (err) {
        this.onRedisError(err);
      }
    }
    const window = Number(key.slice(key.lastIndexOf(':') + 1));
    const entry = this.memory.get(key);
    if (!entry || entry.window !== window) {
      for (const [k, e] of this.memory) if (e.window < window) this.memory.delete(k);
      this.memory.set(key, { window, n: 1 });
      return 1;
    }
    return ++entry.n;
  }
}

/** A call not made: this minute's calls to the API are used up across the nodes. Retry after `retryAfterMs`. */
export class WxRateLimited extends Error {
  constructor(
    readonly api: string,
    readonly retryAfterMs: number,
  ) {
    super(`${api}: this minute's calls are used up`);
    this.name = 'WxRateLimited';
  }
}
