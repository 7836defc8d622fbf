import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WechatEmulator } from '../../../gateway/channels/emulator/wechat-emulator.ts';
import { sendOutbound } from '../../../core/conversations/outbound.ts';
import { startHuikeOnWechat, type TestHuike } from '../../support/huike.ts';
import { FAST_WORKERS } from '../../support/wechat.ts';

let emulator: WechatEmulator;
let huike: TestHuike;

beforeAll(async () => {
  ({ emulator, huike } = await startHuikeOnWechat({ workers: FAST_WORKERS, kb: [{ id: 'ship', category: '物流', question: '多久发货', similar: ['几天发货'], answer: '下单后 48 小时内发货。' }] }));
});
afterAll(async () => {
  await huike?.close();
  await emulator?.stop();
});
afterEach(() => expect(emulator.unexpected).toEqual([]));

describe('mini-program 客服消息', () => {
  it('a safe-mode push is stored, and the bot answers through custom/send', async () => {
    expect(await emulator.mpCustomerSays('oMINI01', '多久发货')).toBe(200);
    await huike.settle();
    expect(emulator.mpSent).toEqual([{ touser: 'oMINI01', msgtype: 'text', text: { content: '下单后 48 小时内发货。' } }]);
    const rows = await huike.deps.sql`
      select m.sender_type, m.status from messages m join conversations c on c.id = m.conversation_id
       where c.channel = 'miniprogram' order by m.seq`;
    expect(rows).toEqual([
      { senderType: 'customer', status: 'received' },
      { senderType: 'bot', status: 'sent' },
    ]);
  });

  it('entering the chat (user_enter_tempsession) opens the window and gets a welcome, not a "did not understand"', async () => {
    expect(await emulator.mpPush('oENTER01', { MsgType: 'event', Event: 'user_enter_tempsession', SessionFrom: 'goods-123' })).toBe(200);
    await huike.settle();
    const sent = emulator.mpSent.filter((m) => m.touser === 'oENTER01');
    expect(sent).toHaveLength(1);
    expect(sent[0].text.content).toContain('欢迎');
    const [m] = await huike.deps.sql`select type, payload from messages where sender_type = 'customer' and channel_msg_id like ${'%oENTER01%'}`;
    expect(m).toEqual({ type: 'event', payload: { event: 'user_enter_tempsession', sessionFrom: 'goods-123' } });
  });

  it('45015 (window over on WeChat’s side) fails the message with window_closed', async () => {
    const [c] = await huike.deps.sql<{ id: string }[]>`select id from conversations where channel = 'miniprogram'`;
    emulator.clockOffsetMs = 49 * 3600 * 1000;
    try {
      await sendOutbound(huike.deps, { conversationId: c.id, senderType: 'agent', text: '小程序窗口已过' });
      await huike.settle();
    } finally {
      emulator.clockOffsetMs = 0;
    }
    const [m] = await huike.deps.sql`select status, error_code from messages where text = '小程序窗口已过'`;
    expect(m).toEqual({ status: 'failed', errorCode: 'window_closed' });
  });
});
