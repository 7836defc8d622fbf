import path from 'node:path';
import type { Browser, Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WechatEmulator } from '../../gateway/channels/emulator/wechat-emulator.ts';
import { DEMO_PASSWORD } from '../../core/seed/demo.ts';
import { openConsole, textOf } from '../support/browser.ts';
import { ARTIFACTS, demoWithBrowser } from '../support/e2e.ts';
import type { TestHuike } from '../support/huike.ts';
import { FAST_WORKERS, startWechat } from '../support/wechat.ts';

const text = textOf;

describe('a WeCom 微信客服 customer in the console', () => {
  let h: TestHuike;
  let emulator: WechatEmulator;
  let browser: Browser;
  let close: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const wechat = await startWechat();
    emulator = wechat.emulator;
    ({ h, browser, close } = await demoWithBrowser({ env: wechat.env, workers: FAST_WORKERS }));
    emulator.callbackBase = h.url;
  });
  afterAll(async () => {
    await close();
    await emulator?.stop();
  });

  it('arrives from WeChat, reaches the agent, gets replies through send_msg, and a refused send shows its reason live', { timeout: 90_000 }, async () => {
    const page = await openConsole(browser, h.url, 'ajie@huike.demo', DEMO_PASSWORD);

    // the customer writes in WeChat: the bot answers there, then a person is asked for
    emulator.registerKfCustomer('wmE2E01', { nickname: '微信小李' });
    emulator.kfText('wkSHOP', 'wmE2E01', '怎么申请退货');
    await emulator.notifyKf('wkSHOP');
    await expect.poll(() => emulator.kfSent.filter((s) => s.touser === 'wmE2E01').length, { timeout: 10_000 }).toBeGreaterThan(0);
    emulator.kfText('wkSHOP', 'wmE2E01', '转人工');
    await emulator.notifyKf('wkSHOP');

    const item = page.getByTestId('inbox-item').filter({ hasText: '微信小李' });
    await expect.poll(() => item.count(), { timeout: 10_000 }).toBe(1);
    await item.click();
    await expect.poll(() => text(page.getByTestId('messages'))).toContain('转人工');
    // WeChat's rule is visible before typing: the bot used some of the 5 messages
    await expect.poll(() => text(page.getByTestId('reply-window'))).toMatch(/还可发送 [1-4] 条/);

    await page.getByTestId('reply-input').fill('您好，我是阿杰，退货申请已帮您登记');
    await page.getByTestId('reply-input').press('Enter');
    await expect
      .poll(() => emulator.kfSent.some((s) => s.touser === 'wmE2E01' && s.text?.content === '您好，我是阿杰，退货申请已帮您登记'), { timeout: 10_000 })
      .toBe(true);

    // WeChat refuses the next one (5-message limit on its side): the reason appears on the message, live
    emulator.fail('cgi-bin/kf/send_msg', { times: 1, errcode: 95001 });
    await page.getByTestId('reply-input').fill('还有别的问题吗？');
    await page.getByTestId('reply-input').press('Enter');
    const failed = page.locator('[data-testid=message][data-sender=agent]').filter({ hasText: '还有别的问题吗' });
    await expect.poll(() => text(failed), { timeout: 10_000 }).toContain('发送失败');
    expect(await text(failed)).toContain('5 条');
    // and the reply box now says why nothing more can be sent until the customer writes
    await expect.poll(() => text(page.getByTestId('reply-window')), { timeout: 10_000 }).toContain('达到微信上限');

    await page.screenshot({ path: path.join(ARTIFACTS, 'console-wecom.png'), fullPage: true });
    expect(emulator.unexpected).toEqual([]);
  });
});
