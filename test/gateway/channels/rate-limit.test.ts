import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../core/db/client.ts';
import { WxRateLimited, WxRateLimiter } from '../../../gateway/channels/wx/rate-limit.ts';
import { testDatabase } from '../../support/db.ts';
import { buildKb } from '../../support/factories.ts';
import { startTestHuike, type TestHuike, dropRedisPrefix, testRedisPrefix } from '../../support/huike.ts';
import { FAST_WORKERS, startWechat } from '../../support/wechat.ts';

const redisUrl = process.env.REDIS_URL;
const outcome = (p: Promise<void>) => p.then(() => 'made', (e) => (e instanceof WxRateLimited ? 'held' : `error ${e}`));

describe('WeChat API calls per minute, counted across nodes', () => {
  const clients: Redis[] = [];
  afterAll(() => clients.forEach((c) => c.disconnect()));

  it('on one node: the limit per API and credential, then the next minute', async () => {
    let now = Date.UTC(2026, 11, 3, 10, 0, 10);
    const limits = new WxRateLimiter(3, null, undefined, () => now);
    const calls = await Promise.all(Array.from({ length: 5 }, () => outcome(limits.take('mp:a', 'cgi-bin/message/custom/send'))));
    expect(calls.filter((c) => c === 'made')).toHaveLength(3);
    expect(calls.filter((c) => c === 'held')).toHaveLength(2);
    // another API and another credential have their own counts
    expect(await outcome(limits.take('mp:a', 'cgi-bin/kf/sync_msg'))).toBe('made');
    expect(await outcome(limits.take('mp:b', 'cgi-bin/message/custom/send'))).toBe('made');
    const held = await limits.take('mp:a', 'cgi-bin/message/custom/send').catch((e: WxRateLimited) => e);
    expect((held as WxRateLimited).retryAfterMs).toBe(50_000);
    now += 50_000;
    expect(await outcome(limits.take('mp:a', 'cgi-bin/message/custom/send'))).toBe('made');
  });

  it.skipIf(!redisUrl)('two nodes share one budget through Redis; without Redis a node counts alone instead of stopping', async () => {
    const credential = `mp:test:${randomBytes(6).toString('hex')}`;
    // as the gateway makes them: every key in the workspace's space
    const prefix = testRedisPrefix();
    const [r1, r2] = [new Redis(redisUrl!, { keyPrefix: prefix }), new Redis(redisUrl!, { keyPrefix: prefix })];
    clients.push(r1, r2);
    const a = new WxRateLimiter(4, r1);
    const b = new WxRateLimiter(4, r2);
    const calls = await Promise.all(Array.from({ length: 10 }, (_, i) => outcome((i % 2 ? a : b).take(credential, 'cgi-bin/message/custom/send'))));
    expect(calls.filter((c) => c === 'made')).toHaveLength(4);
    expect(calls.filter((c) => c === 'held')).toHaveLength(6);
    expect(await r1.keys(`${prefix}wxrate:${credential}:*`).then((ks) => ks.length)).toBe(1);
    await dropRedisPrefix(redisUrl!, prefix);

    const errors: unknown[] = [];
    const down = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
    down.on('error', () => {});
    clients.push(down);
    const alone = new WxRateLimiter(2, down, (e) => errors.push(e));
    const local = await Promise.all(Array.from({ length: 3 }, () => outcome(alone.take(credential, 'cgi-bin/kf/send_msg'))));
    expect(local).toEqual(['made', 'made', 'held']);
    expect(errors.length).toBeGreaterThan(0);
  });
});

describe.skipIf(!redisUrl)('two gateway nodes sending through the outbox under a shared limit', () => {
  let db: Database;
  const nodes: TestHuike[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.close();
    await db?.close();
  });

  it('only the minute’s budget reaches WeChat; the rest wait in the outbox without using up attempts, and none fails', { timeout: 50_000 }, async () => {
    // the budget is per clock minute: a run that crossed into the next one would rightly send three more
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 40_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 200));
    const { emulator, env } = await startWechat();
    try {
      db = await testDatabase();
      const redisPrefix = testRedisPrefix();
      for (let i = 0; i < 2; i++) nodes.push(await startTestHuike({ database: db, redisPrefix, env: { ...env, WX_API_LIMIT_PER_MIN: '3' }, workers: FAST_WORKERS }));
      await buildKb(db.sql, [{ id: 'ship', category: '物流', question: '多久发货', similar: ['几天发货'], answer: '下单后 48 小时内发货。' }]);
      for (const n of nodes) await n.bot.reload();
      // eight customers ask, their callbacks spread over both nodes as a load balancer would
      for (let i = 0; i < 8; i++) {
        emulator.callbackBase = nodes[i % 2].url;
        expect(await emulator.mpCustomerSays(`oLIMIT${i}`, '多久发货')).toBe(200);
      }
      await Promise.all(nodes.map((n) => n.settle()));
      await new Promise((r) => setTimeout(r, 600)); // several more outbox passes on both nodes
      expect(emulator.mpSent).toHaveLength(3);
      expect(emulator.unexpected).toEqual([]);
      const rows = await db.sql<{ status: string; attempts: number; lastError: string | null; message: string }[]>`
        select o.status, o.attempts, o.last_error, m.status as message from outbox o join messages m on m.id = o.message_id order by o.id`;
      expect(rows).toHaveLength(8);
      const waiting = rows.filter((r) => r.message !== 'sent');
      expect(waiting).toHaveLength(5);
      for (const w of waiting) expect(w).toMatchObject({ attempts: 0, message: 'pending', lastError: expect.stringContaining('各节点共享') });
    } finally {
      await emulator.stop();
    }
  });
});
