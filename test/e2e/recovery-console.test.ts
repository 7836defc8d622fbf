import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingestInbound } from '../../core/conversations/ingest.ts';
import { DEMO_PASSWORD } from '../../core/seed/demo.ts';
import { commerceSignature } from '../../gateway/http/routes/commerce/index.ts';
import { openConsole, textOf } from '../support/browser.ts';
import { ARTIFACTS, demoBrowserHooks } from '../support/e2e.ts';
const SECRET = 'e2e-recovery';

describe('a recovery script in the agent console', () => {
  const demo = demoBrowserHooks({ env: { COMMERCE_WEBHOOK_SECRET: SECRET }, workers: { idleMs: 50, recoveryIdleMs: 50 } });

  it('a failed payment during a chat puts the 黄金 5 分钟 script beside the conversation; one click inserts it', { timeout: 90_000 }, async () => {
    const { h, browser } = demo;
    // 小美 of 售前组 (payments are theirs) opens the console, which puts her online
    const page = await openConsole(browser, h.url, 'xiaomei@huike.demo', DEMO_PASSWORD);
    const visitor = 'e2e-recovery-visitor';
    const r = await ingestInbound(h.deps, { channel: 'web', channelMsgId: `${visitor}:1`, identity: { kind: 'web_visitor', value: visitor }, type: 'text', text: '转人工，付款一直失败' });
    await h.settle();
    await h.deps.sql`update customers set display_name = '付款失败的小周' where id = ${r.conversation.customerId}`;
    const [t] = await h.deps.sql<{ assigneeId: string | null }[]>`select assignee_id from tickets where conversation_id = ${r.conversation.id}`;
    expect(t.assigneeId).not.toBeNull();

    const item = page.locator(`[data-testid=inbox-item][data-conversation-id="${r.conversation.id}"]`);
    await expect.poll(() => item.count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await item.first().click();

    // the shop's system reports the failed payment 6 minutes ago: the 5-minute playbook is due now
    const raw = JSON.stringify({
      events: [
        {
          id: 'e2e-pay-1',
          platform: 'taobao',
          type: 'payment.failed',
          occurredAt: new Date(Date.now() - 6 * 60_000).toISOString(),
          customer: { identities: [{ kind: 'web_visitor', value: visitor }] },
          payment: { orderId: 'TB-E2E-1', amountFen: 32_900, reason: '银行卡余额不足' },
        },
      ],
    });
    const res = await fetch(`${h.url}/api/v1/commerce/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-huike-signature': commerceSignature(SECRET, raw) }, body: raw });
    expect(res.status).toBe(200);

    // the customer is talking to a person: no automatic message, the script goes to the agent, live
    const script = page.getByTestId('recovery-script');
    await expect.poll(() => textOf(script), { timeout: 15_000 }).toContain('¥329');
    expect(await textOf(script)).toContain('支付失败 · 黄金 5 分钟');
    expect(await textOf(script)).toContain('客户正在与您对话');
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-recovery-script.png'), fullPage: true });

    await page.getByTestId('recovery-script-insert').click();
    expect(await page.getByTestId('reply-input').inputValue()).toContain('¥329 的订单付款没有成功');
    await expect.poll(() => script.count()).toBe(0);
    await page.getByTestId('reply-input').press('Enter');
    await expect.poll(() => textOf(page.locator('[data-testid=message][data-sender=agent]').last()), { timeout: 10_000 }).toContain('¥329 的订单付款没有成功');
    const [used] = await h.deps.sql`select script_used_at from recovery_runs where customer_id = ${r.conversation.customerId}`;
    expect(used.scriptUsedAt).not.toBeNull();
  });
});
