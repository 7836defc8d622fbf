import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { DEMO_PASSWORD, DEMO_VISITOR_ID } from '../../core/seed/demo.ts';
import { openConsole, textOf } from '../support/browser.ts';
import { ARTIFACTS, demoBrowserHooks } from '../support/e2e.ts';

const text = textOf;

describe('the whole loop in two browser pages', () => {
  const demo = demoBrowserHooks();

  it('customer asks, bot answers, 转人工 reaches the after-sales agent live with the profile, reply reaches the customer', { timeout: 90_000 }, async () => {
    const { h, browser } = demo;
    // The after-sales agent (阿杰) opens the console first: logging in puts them online.
    const agentPage = await openConsole(browser, h.url, 'ajie@huike.demo', DEMO_PASSWORD);
    await expect.poll(() => text(agentPage.getByTestId('me')), { timeout: 10_000 }).toBe('阿杰');

    // A returning customer (张晓婷, orders on several platforms) opens the H5 chat page on a phone-sized screen.
    const customerPage = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true })).newPage();
    await customerPage.goto(`${h.url}/chat?visitorId=${DEMO_VISITOR_ID}`);
    await customerPage.getByTestId('chat-input').fill('快递到哪了');
    await customerPage.getByTestId('chat-send').click();
    const botAnswer = customerPage.locator('[data-testid=chat-message][data-sender=bot]').first();
    await expect.poll(() => text(botAnswer), { timeout: 10_000 }).toContain('物流轨迹');

    // The customer asks for a person; the ticket goes to the least-loaded online agent of 售后组.
    await customerPage.getByTestId('chat-input').fill('转人工');
    await customerPage.getByTestId('chat-input').press('Enter');
    await expect.poll(() => text(customerPage.getByTestId('chat-status')), { timeout: 10_000 }).toBe('人工客服为您服务');

    // It appears live in the agent's inbox under 我的, without a reload.
    const item = agentPage.getByTestId('inbox-item').filter({ hasText: '张晓婷' });
    await expect.poll(() => item.count(), { timeout: 10_000 }).toBe(1);
    // the inbox shows the first-response clock of the ticket
    expect(await text(item.getByTestId('sla-badge'))).toMatch(/首响剩 \d+ 分/);
    await item.click();
    await expect.poll(() => text(agentPage.getByTestId('messages'))).toContain('转人工');
    await expect.poll(() => text(agentPage.getByTestId('profile-name'))).toBe('张晓婷');
    const identities = await agentPage.getByTestId('profile-identities').textContent();
    expect(identities).toContain('淘宝');
    expect(identities).toContain('网页访客');
    expect(await agentPage.getByTestId('profile-orders').locator('.ant-list-item').count()).toBeGreaterThan(0);
    const [{ spent }] = await h.deps.sql<{ spent: number }[]>`
      select coalesce(sum(o.total_fen), 0)::bigint as spent from orders o join identities i on i.customer_id = o.customer_id
       where i.value = ${DEMO_VISITOR_ID} and o.status in ('paid', 'shipped', 'delivered', 'completed')`;
    expect(await agentPage.getByTestId('profile-spent').textContent()).toContain((spent / 100).toFixed(2));
    // who she is in one glance: tier, RFM segment, LTV; and the agent tags her
    expect(await text(agentPage.getByTestId('profile-tier'))).toMatch(/会员/);
    expect(await text(agentPage.getByTestId('profile-segment'))).not.toBe('');
    expect(await text(agentPage.getByTestId('profile-ltv'))).toContain('¥');
    await agentPage.getByTestId('profile-tag-input').fill('物流投诉');
    await agentPage.getByTestId('profile-tag-input').press('Enter');
    await expect.poll(() => text(agentPage.getByTestId('profile-tags'))).toContain('物流投诉');

    // The customer writes again: the agent sees it live.
    await customerPage.getByTestId('chat-input').fill('我的裙子三天没更新物流了');
    await customerPage.getByTestId('chat-send').click();
    await expect.poll(() => text(agentPage.getByTestId('messages')), { timeout: 10_000 }).toContain('三天没更新物流');

    // Agent assist offers the KB answer for the customer's message; one click puts it in the reply box.
    await expect.poll(() => agentPage.getByTestId('suggestion').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await agentPage.getByTestId('suggestion').first().click();
    expect(await agentPage.getByTestId('reply-input').inputValue()).not.toBe('');

    // The agent replies with Enter; the customer sees it live.
    await agentPage.getByTestId('reply-input').fill('您好，我是阿杰，马上帮您查询物流～');
    await agentPage.getByTestId('reply-input').press('Enter');
    const agentReply = customerPage.locator('[data-testid=chat-message][data-sender=agent]');
    await expect.poll(() => text(agentReply), { timeout: 10_000 }).toContain('马上帮您查询物流');

    await agentPage.screenshot({ path: path.join(ARTIFACTS, 'console-loop.png'), fullPage: true });

    // The agent resolves; the customer is asked to rate and taps 5.
    await agentPage.getByTestId('resolve').click();
    const five = customerPage.getByTestId('quick-reply').filter({ hasText: /^5$/ });
    await expect.poll(() => five.count(), { timeout: 10_000 }).toBe(1);
    await five.click();
    await expect.poll(() => text(customerPage.locator('[data-testid=chat-message][data-sender=bot]').last()), { timeout: 10_000 }).toContain('感谢您的评价');
    await customerPage.screenshot({ path: path.join(ARTIFACTS, 'chat-loop.png') });
    const [rated] = await h.deps.sql<{ csatScore: number }[]>`
      select t.csat_score from tickets t join identities i on i.customer_id = t.customer_id where i.value = ${DEMO_VISITOR_ID}`;
    expect(rated.csatScore).toBe(5);

    // Stored once each, in order, with no gaps.
    const rows = await h.deps.sql<{ seq: number; senderType: string; text: string }[]>`
      select m.seq, m.sender_type, m.text from messages m
       where m.conversation_id = (select c.id from conversations c join identities i on i.id = c.identity_id
                                   where i.value = ${DEMO_VISITOR_ID} order by c.created_at limit 1)
       order by m.seq`;
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    expect(rows.filter((r) => r.text === '转人工')).toHaveLength(1);
    expect(rows.filter((r) => r.senderType === 'agent').at(-1)).toMatchObject({ text: '您好，我是阿杰，马上帮您查询物流～' });
    expect(rows.at(-1)).toMatchObject({ senderType: 'system', text: expect.stringContaining('1-5') }); // the CSAT question
  });
});
