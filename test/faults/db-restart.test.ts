import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOT_RETRY } from '../../bot/engine.ts';
import { announceKbChange } from '../../bot/kb-sync.ts';
import type { WechatEmulator } from '../../gateway/channels/emulator/wechat-emulator.ts';
import { openDatabase, type Database } from '../../core/db/client.ts';
import { sessionLost } from '../../core/db/unavailable.ts';
import { streamCallbacks } from '../support/callback-stream.ts';
import { buildKb } from '../support/factories.ts';
import { startTestHuike, type TestHuike } from '../support/huike.ts';
import { postgresBinaries, privatePostgres, type PrivatePostgres } from '../support/private-postgres.ts';
import { FAST_WORKERS, startWechat } from '../support/wechat.ts';

const ANSWER = '下单后 48 小时内发货。';

/**
 * The test's own reads, after the restart, may be handed a pooled connection the server ended before the pool
 * noticed (the node's own writes try again by themselves, see core/db/unavailable.ts): read again.
 */
async function readAgainIfEnded<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      if (attempt >= 3 || !sessionLost(err)) throw err;
    }
  }
}
const QUESTIONS = ['多久发货', '几天发货', '什么时候发货'];

// The server itself restarted, not a cut relay (db-outage.test.ts): sessions end with "terminating connection
// due to administrator command" (57P01) or are killed outright, connections are refused while it is down, and
// after a crash the server answers "the database system is starting up" (57P03) while it replays its WAL. It is a
// server of this file's own, so the one every other test file uses keeps serving.
describe.skipIf(!process.env.DATABASE_URL || !postgresBinaries())('the PostgreSQL server restarts during a stream of WeChat callbacks', () => {
  let pg: PrivatePostgres;
  let database: Database;
  let h: TestHuike;
  let emulator: WechatEmulator;
  const saved = { ...BOT_RETRY };
  beforeAll(async () => {
    pg = await privatePostgres();
    database = await openDatabase({ databaseUrl: pg.url });
    const wechat = await startWechat();
    emulator = wechat.emulator;
    h = await startTestHuike({ database, env: wechat.env, workers: FAST_WORKERS });
    emulator.callbackBase = h.url;
    await buildKb(h.deps.sql, [{ id: 'ship', category: '物流', question: QUESTIONS[0], similar: QUESTIONS.slice(1), answer: ANSWER }]);
    await h.bot.reload();
    BOT_RETRY.baseMs = 100;
  }, 60_000);
  afterAll(async () => {
    Object.assign(BOT_RETRY, saved);
    await h?.close();
    await emulator?.stop();
    await database?.close();
    await pg?.close();
  });

  for (const mode of ['fast', 'immediate'] as const) {
    it(`${mode === 'fast' ? 'restarted by an operator' : 'crashed and recovered'}: every message stored once, answered once, the answer sent once`, { timeout: 90_000 }, async () => {
      const N = 60;
      const prefix = mode === 'fast' ? 'oFAST' : 'oCRASH';
      const restart = (async () => {
        await new Promise((r) => setTimeout(r, 500));
        await pg.stop(mode);
        await new Promise((r) => setTimeout(r, 1500));
        await pg.start();
      })();
      const stream = await streamCallbacks(emulator, { n: N, customers: 20, openidPrefix: prefix, msgIdPrefix: mode === 'fast' ? '71' : '72', content: (i) => QUESTIONS[i % 3] });
      await restart;

      const all = stream.all();
      const explain = async () => `statuses: ${JSON.stringify(Object.fromEntries(stream.statuses))}\n${(await pg.log()).slice(-3000)}`;
      // the restart was felt, and only as "try again": 503, or an answer WeChat stopped waiting for
      expect(all.filter((s) => s !== 200).length, await explain()).toBeGreaterThan(0);
      expect(all.filter((s) => s !== 200 && s !== 503 && s !== -1), await explain()).toEqual([]);
      expect(stream.acked.size).toBe(N);

      const ofThisStream = (sender: string) =>
        readAgainIfEnded(() =>
          h.deps.sql<{ n: number; distinct: number }[]>`
            select count(*)::int as n, count(distinct coalesce(m.channel_msg_id, m.id::text))::int as distinct
              from messages m join conversations c on c.id = m.conversation_id join identities i on i.id = c.identity_id
             where i.value like ${prefix + '%'} and m.sender_type = ${sender}`.then((r) => r[0]),
        );
      expect(await ofThisStream('customer')).toEqual({ n: N, distinct: N });
      // the bot answers every message, including those whose answer the restart interrupted (it tries again)
      await expect.poll(() => ofThisStream('bot').then((r) => r.n), { timeout: 30_000, interval: 200 }).toBe(N);
      const sent = () => emulator.mpSent.filter((m) => String(m.touser).startsWith(prefix));
      // well within the outbox's 30-s lease: a claim the restart cut off used to hide its answers that long
      await expect.poll(() => sent().length, { timeout: 15_000, interval: 200 }).toBeGreaterThanOrEqual(N);
      await h.settle();
      expect((await ofThisStream('bot')).n).toBe(N);
      expect(sent().every((m) => m.text?.content === ANSWER)).toBe(true);
      // each answer reaches the customer once: a send WeChat accepted is not sent again because recording it failed
      expect(sent()).toHaveLength(N);
      const [outbox] = await readAgainIfEnded(() => h.deps.sql<{ pending: number }[]>`select count(*) filter (where status <> 'sent')::int as pending from outbox`);
      expect(outbox.pending).toBe(0);
      console.log(`DB ${mode} restart: ${all.length} callbacks for ${N} messages, ${all.filter((s) => s === 503).length} answered 503, ${all.filter((s) => s === -1).length} timed out; ${N} stored, answered and sent once each`);
    });
  }

  it('after the restarts, the node still hears another node announce a KB change (its LISTEN came back)', { timeout: 30_000 }, async () => {
    const before = h.bot.entries;
    await buildKb(h.deps.sql, [{ id: 'invoice', category: '发票', question: '怎么开发票', similar: [], answer: '订单完成后在“我的订单”里申请电子发票。' }]);
    // as another node does after an edit: the row is stored, then announced
    await announceKbChange(h.deps.sql, 'another-node');
    await expect.poll(() => h.bot.entries, { timeout: 10_000, interval: 100 }).toBe(before + 1);
    expect(await emulator.mpCustomerSays('oKBAFTER', '怎么开发票')).toBe(200);
    await expect.poll(() => emulator.mpSent.filter((m) => m.touser === 'oKBAFTER').map((m) => m.text?.content), { timeout: 10_000, interval: 100 }).toEqual(['订单完成后在“我的订单”里申请电子发票。']);
  });
});
