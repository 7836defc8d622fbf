import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WechatEmulator } from '../../../gateway/channels/emulator/wechat-emulator.ts';
import { ingestInbound } from '../../../core/conversations/ingest.ts';
import { EventBus } from '../../../core/events.ts';
import { buildKb } from '../../support/factories.ts';
import { startTestHuike, type TestHuike } from '../../support/huike.ts';
import { startWechat } from '../../support/wechat.ts';

// The bot's answer written with its question goes out with its outbox row leased to the node that wrote it, and
// that node sends it at once, without a claim. A node gone before sending leaves the row to the claims.
const LEASE_MS = 400;
const ANSWER = '下单后 48 小时内发货。';
let emulator: WechatEmulator;
let huike: TestHuike;
let n = 0;

beforeAll(async () => {
  const started = await startWechat();
  emulator = started.emulator;
  // the outbox polls rarely: a send that waited for a claim would come late or not at all within a test
  huike = await startTestHuike({ env: started.env, workers: { idleMs: 60_000, outbox: { leaseMs: LEASE_MS, baseDelayMs: 20, maxDelayMs: 200 } } });
  emulator.callbackBase = huike.url;
  await buildKb(huike.deps.sql, [{ id: 'ship', category: '物流', question: '多久发货', similar: ['几天发货'], answer: ANSWER }]);
  await huike.bot.reload();
});
afterAll(async () => {
  await huike?.close();
  await emulator?.stop();
});
afterEach(() => expect(emulator.unexpected).toEqual([]));

const ask = (deps: TestHuike['deps'], openid: string, text: string) =>
  ingestInbound(deps, { channel: 'miniprogram', channelMsgId: `${openid}:${++n}`, identity: { kind: 'wx_openid', value: openid }, type: 'text', text });
const outboxOf = (conversationId: string) =>
  huike.deps.sql<{ status: string; attempts: number; leased: boolean }[]>`
    select o.status, o.attempts, o.lease_until is not null as leased from outbox o join messages m on m.id = o.message_id
     where m.conversation_id = ${conversationId}`;
const sentTo = (openid: string) => emulator.mpSent.filter((m) => m.touser === openid).map((m) => m.text.content);
/** WeChat lets a mini-program write to a customer who wrote in the last 48 h: one who wrote through the emulator */
const customerWrote = async (openid: string) => {
  expect(await emulator.mpCustomerSays(openid, '在吗')).toBe(200);
  await huike.settle();
  emulator.mpSent.length = 0;
};

describe('an answer written with its question', () => {
  it('is sent by its node at once, with the outbox poll stopped', async () => {
    await customerWrote('oSEND01');
    // no claim runs from now on (the tests below claim through settle(), which drains the outbox by hand)
    await huike.workers!.outbox.stop();
    const q = await ask(huike.deps, 'oSEND01', '几天发货');
    await expect.poll(() => sentTo('oSEND01'), { timeout: 5000 }).toEqual([ANSWER]);
    await huike.settle();
    expect(await outboxOf(q.conversation.id)).toEqual([{ status: 'sent', attempts: 1, leased: false }]);
    const [answer] = await huike.deps.sql`select status from messages where conversation_id = ${q.conversation.id} and sender_type = 'bot'`;
    expect(answer.status).toBe('sent');
  });

  it('is sent once by a claim when its node went away before sending it, after the lease', async () => {
    await customerWrote('oSEND02');
    // stored by a node that died right after the commit: its worker never hears of the answer
    const q = await ask({ ...huike.deps, bus: new EventBus() }, 'oSEND02', '几天发货');
    // written claimed, as a claim would have (one attempt, a lease), by the transaction that stored the question
    expect(await outboxOf(q.conversation.id)).toEqual([{ status: 'pending', attempts: 1, leased: true }]);
    // leased: no claim takes it meanwhile
    await huike.settle();
    expect(sentTo('oSEND02')).toEqual([]);
    await new Promise((r) => setTimeout(r, LEASE_MS + 100));
    await huike.settle();
    expect(sentTo('oSEND02')).toEqual([ANSWER]);
    expect(await outboxOf(q.conversation.id)).toEqual([{ status: 'sent', attempts: 2, leased: false }]);
    await new Promise((r) => setTimeout(r, LEASE_MS + 100));
    await huike.settle();
    expect(sentTo('oSEND02')).toHaveLength(1);
  });

  it('comes back through the claims, with backoff, when its send fails', async () => {
    await customerWrote('oSEND03');
    emulator.fail('cgi-bin/message/custom/send', { times: 2, status: 502 });
    const q = await ask(huike.deps, 'oSEND03', '几天发货');
    // the direct send and the first retry fail; the second retry goes through
    await expect
      .poll(
        async () => {
          await huike.settle();
          return sentTo('oSEND03');
        },
        { timeout: 5000, interval: 100 },
      )
      .toEqual([ANSWER]);
    expect(await outboxOf(q.conversation.id)).toEqual([{ status: 'sent', attempts: 3, leased: false }]);
  });
});
