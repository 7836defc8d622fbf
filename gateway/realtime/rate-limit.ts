import { AppError } from '../../core/errors.ts';

/** Token bucket per connection: enough for a person typing, not for a script flooding the shop. */
export function tokenBucket(capacity: number, refillPerSecond: number) {
  let tokens = capacity;
  let last = Date.now();
  return () => {
    const now = Date.now();
    tokens = Math.min(capacity, tokens + ((now - last) / 1000) * refillPerSecond);
    last = now;
    if (tokens < 1) throw new AppError(429, 'rate_limited', '发送太频繁，请稍后再试');
    tokens -= 1;
  };
}
