import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimUnansweredByBot } from '../../core/conversations/bot-redrive.ts';
import { ingestInbound } from '../../core/conversations/ingest.ts';
import { EventBus } from '../../core/events.ts';
import { buildKb } from '../support/factories.ts';
import { emitAck, startTestHuike, type TestHuike } from '../support/huike.ts';

const AFTER_MS = 600;

describe('a customer message whose node died before the bot answered it', () => {
  let h: TestHuike;
  beforeAll(async () => {
    h = await startTestHuike({ workers: { botRedrive: { afterMs: AFTER_MS, everyMs: 100 } } });
    await buildKb(h.deps.sql, [{ id: 'ship', category: '物流', question: '多久发货', similar: ['几天发货'], answer: '下单后 48 小时内发货。' }]);
    await h.bot.reload();
  });
  afterAll(async () => {
    await h?.close();
  });

  const repliesTo = (visitor: string) =>
    h.deps.sql<{ text: string }[]>`
      select m.text from messages m join conversations c on c.id = m.conversation_id join identities i on i.id = c.identity_id
       where i.value = ${visitor} and m.sender_type = 'bot' order by m.seq`.then((r) => r.map((m) => m.text));

  /**
   * stored and acknowledged as its node would, but that node's bot never hears of it: the node died. Its answer
   * is not written with it either, as for a message the bot answers only after commit (an order question, a miss)
   */
  const storedByADeadNode = (visitor: string, text: string) =>
    ingestInbound({ ...h.deps, bus: new EventBus(), answerInline: undefined }, { channel: 'web', channelMsgId: `dead-${visitor}`, identity: { kind: 'web_visitor', value: visitor }, type: 'text', text });

  it('is answered by a live node once it is old enough, and only once', { timeout: 20_000 }, async () => {
    const stored = await storedByADeadNode('v-dead-1', '几天发货');
    expect(stored.duplicate).toBe(false);
    expect(await repliesTo('v-dead-1')).toEqual([]);
    await expect.poll(() => repliesTo('v-dead-1'), { timeout: 10_000, interval: 100 }).toEqual(['下单后 48 小时内发货。']);
    // more passes of the worker find nothing more to do
    await new Promise((r) => setTimeout(r, AFTER_MS + 500));
    await h.settle();
    expect(await repliesTo('v-dead-1')).toEqual(['下单后 48 小时内发货。']);
  });

  it('leaves alone a message the bot answered live', { timeout: 20_000 }, async () => {
    const { socket, visitorId } = await h.customerSocket('v-live-1');
    await emitAck(socket, 'message:send', { clientMsgId: 'live-1', text: '多久发货' });
    await expect.poll(() => repliesTo(visitorId), { timeout: 10_000 }).toEqual(['下单后 48 小时内发货。']);
    await new Promise((r) => setTimeout(r, AFTER_MS + 500));
    await h.settle();
    expect(await repliesTo(visitorId)).toEqual(['下单后 48 小时内发货。']);
  });

  it("is not answered twice when the late answer and its own node's answer both go ahead", { timeout: 20_000 }, async () => {
    // the redrive claimed the message while its node was still retrying its answer (the database was away for a
    // while), and both go on to answer it, in either order
    for (const [visitor, order] of [['v-race-1', ['own', 'late']], ['v-race-2', ['late', 'own']]] as const) {
      const { message, conversation } = await storedByADeadNode(visitor, '几天发货');
      for (const who of order) await (who === 'late' ? h.bot.answerLate(message) : h.bot.onEvent({ type: 'message.created', message, conversation }));
      await h.settle();
      expect(await repliesTo(visitor)).toEqual(['下单后 48 小时内发货。']);
    }
  });

  it('is claimed by one node only, however many look at once', async () => {
    await storedByADeadNode('v-dead-2', '多久发货');
    // the live node's own worker must not take it first: this claim is made as if much later
    const claims = await Promise.all(Array.from({ length: 5 }, () => claimUnansweredByBot(h.deps.sql, { afterMs: -60_000, limit: 100 })));
    const mine = claims.flat().filter((m) => m.channelMsgId === 'dead-v-dead-2');
    expect(mine).toHaveLength(1);
  });
});
