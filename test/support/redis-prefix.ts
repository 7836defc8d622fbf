import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** A workspace's space in the test Redis of its own. */
export const testRedisPrefix = () => `huike:test:${randomBytes(4).toString('hex')}:`;

/** Deletes every key under `prefix`: what the nodes of a test workspace left in Redis. */
export async function dropRedisPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } catch {
    // Redis away (the fault tests stop it): nothing of ours to clean there
  } finally {
    redis.disconnect();
  }
}
