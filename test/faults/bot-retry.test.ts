import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOT_RETRY } from '../../bot/engine.ts';
import { buildKb } from '../support/factories.ts';
import { emitAck, startTestHuike, type TestHuike } from '../support/huike.ts';
import { databaseBehindRelay, type TcpProxy } from '../support/tcp-proxy.ts';

const url = process.env.DATABASE_URL;

describe.skipIf(!url)('the database goes away right after a customer message is stored', () => {
  let relayed: Awaited<ReturnType<typeof databaseBehindRelay>>;
  let proxy: TcpProxy;
  let h: TestHuike;
  const saved = { ...BOT_RETRY };
  beforeAll(async () => {
    relayed = await databaseBehindRelay();
    ({ proxy } = relayed);
    h = await startTestHuike({ database: relayed.database });
    await buildKb(h.deps.sql, [{ id: 'ship', category: '物流', question: '多久发货', similar: ['几天发货'], answer: '下单后 48 小时内发货。' }]);
    await h.bot.reload();
    BOT_RETRY.baseMs = 100;
  });
  afterAll(async () => {
    Object.assign(BOT_RETRY, saved);
    await proxy?.restore().catch(() => {});
    await h?.close();
    await relayed?.close();
  });

  it('the bot answers it once the database is back, and only once', { timeout: 30_000 }, async () => {
    // cut the moment the message is committed: the bot's work for it starts with the database away
    const unsubscribe = h.deps.bus.subscribe((e) => {
      if (e.type !== 'message.created' || e.message.senderType !== 'customer') return;
      unsubscribe();
      void proxy.cut().then(() => setTimeout(() => void proxy.restore(), 800));
    });
    const { socket } = await h.customerSocket();
    const ack = await emitAck<{ message: { id: string } }>(socket, 'message:send', { clientMsgId: 'away-1', text: '多久发货' });
    expect(ack.message.id).toBeTruthy();
    const bot = () => h.deps.sql<{ text: string }[]>`select text from messages where sender_type = 'bot'`.then((r) => r.map((m) => m.text), () => null);
    await expect.poll(bot, { timeout: 20_000, interval: 200 }).toEqual(['下单后 48 小时内发货。']);
    await h.settle();
    expect(await bot()).toEqual(['下单后 48 小时内发货。']);
  });
});
