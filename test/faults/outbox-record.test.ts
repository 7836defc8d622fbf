import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WechatEmulator } from '../../gateway/channels/emulator/wechat-emulator.ts';
import { claimDueDeliveries, type DueDelivery } from '../../core/conversations/delivery.ts';
import { ingestInbound } from '../../core/conversations/ingest.ts';
import { sendBotReply } from '../../core/conversations/outbound.ts';
import { depsFor } from '../support/db.ts';
import { databaseBehindRelay } from '../support/tcp-proxy.ts';
import { buildKb } from '../support/factories.ts';
import { failOnce } from '../support/fail-once.ts';
import { startTestHuike, type TestHuike } from '../support/huike.ts';
import { FAST_WORKERS, startWechat } from '../support/wechat.ts';

// WeChat accepted the answer, then recording that failed (the database restarting at that moment). It was taken
// for a failed send: sent again after the backoff, so the customer got the answer twice (a mini-program send
// carries no id WeChat could deduplicate by). Found by db-restart.test.ts.
describe('a send WeChat accepted whose record fails', () => {
  let h: TestHuike;
  let emulator: WechatEmulator;
  beforeAll(async () => {
    const wechat = await startWechat();
    emulator = wechat.emulator;
    h = await startTestHuike({ env: wechat.env, workers: FAST_WORKERS });
    emulator.callbackBase = h.url;
    await buildKb(h.deps.sql, [{ id: 'ship', category: '物流', question: '多久发货', similar: [], answer: '下单后 48 小时内发货。' }]);
    await h.bot.reload();
  });
  afterAll(async () => {
    await h?.close();
    await emulator?.stop();
  });

  it('is recorded once the database answers again, and is not sent a second time', { timeout: 20_000 }, async () => {
    const restore = await failOnce(h.deps.sql, 'outbox', `new.status = 'sent'`, 'update');
    try {
      expect(await emulator.mpCustomerSays('oRECORD1', '多久发货')).toBe(200);
      const answer = () =>
        h.deps.sql<{ status: string; attempts: number; outbox: string }[]>`
          select m.status, o.attempts, o.status as outbox from messages m join outbox o on o.message_id = m.id
            join conversations c on c.id = m.conversation_id join identities i on i.id = c.identity_id
           where i.value = 'oRECORD1' and m.sender_type = 'bot'`;
      await expect.poll(async () => (await answer())[0]?.outbox, { timeout: 10_000, interval: 50 }).toBe('sent');
      // time for the backoff that used to send it again (FAST_WORKERS: 20-200 ms), then everything due
      await new Promise((r) => setTimeout(r, 500));
      await h.settle();
      expect(await answer()).toEqual([{ status: 'sent', attempts: 1, outbox: 'sent' }]);
      expect(emulator.mpSent.filter((m) => m.touser === 'oRECORD1').map((m) => m.text?.content)).toEqual(['下单后 48 小时内发货。']);
    } finally {
      await restore();
    }
  });
});

// The claim of due sends was committed alone, before the reads of what to send. The database going away between
// them (a restart) left the rows leased with nothing sent: hidden from every node for the whole lease (30 s),
// so those customers waited 30 s more for an answer that was ready. Found by db-restart.test.ts.
describe.skipIf(!process.env.DATABASE_URL)('a claim of due sends cut off before its reads', () => {
  let env: Awaited<ReturnType<typeof databaseBehindRelay>>;
  let cutAtRead = false;
  beforeAll(async () => {
    env = await databaseBehindRelay({
      // at the moment the reads are handed to the driver, before they are written: the claim has been answered
      onQuery: (q) => {
        if (cutAtRead && q.includes('from messages where id = any')) {
          cutAtRead = false;
          void env.proxy.cut();
        }
      },
    });
  });
  afterAll(() => env?.close());

  it('leaves the rows due for the next pass, not hidden for the lease', { timeout: 20_000 }, async () => {
    const deps = depsFor(env.database);
    const { conversation } = await ingestInbound(deps, { channel: 'miniprogram', channelMsgId: 'cut-claim-1', identity: { kind: 'wx_openid', value: 'oCUTCLAIM' }, type: 'text', text: '在吗' });
    await sendBotReply(deps, { conversationId: conversation.id, text: '马上为您查询' });
    cutAtRead = true;
    await expect(claimDueDeliveries(deps, 10, 30_000)).rejects.toThrow();
    expect(cutAtRead).toBe(false);
    await env.proxy.restore();
    // the server ends the cut session (and its locks) within moments; the pool reconnects
    const due: DueDelivery[] = [];
    await expect
      .poll(async () => {
        due.push(...(await claimDueDeliveries(deps, 10, 30_000).catch(() => [])));
        return due.map((d) => d.message.text);
      }, { timeout: 5_000, interval: 100 })
      .toEqual(['马上为您查询']);
  });
});
