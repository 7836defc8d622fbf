import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SignJWT } from 'jose';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ingestInbound } from '../../core/conversations/ingest.ts';
import { EventBus } from '../../core/events.ts';
import { DEMO_PASSWORD } from '../../core/seed/demo.ts';
import { openConsole, textOf } from '../support/browser.ts';
import { ARTIFACTS, demoBrowserHooks } from '../support/e2e.ts';
import { buildAgent, TEST_PASSWORD } from '../support/factories.ts';
import { PNG_1X1 } from '../support/images.ts';

const text = textOf;
let n = 0;

describe('console journeys', () => {
  const demo = demoBrowserHooks();

  const customerSays = async (visitor: string, t: string) => {
    const r = await ingestInbound(demo.h.deps, { channel: 'web', channelMsgId: `${visitor}:${++n}`, identity: { kind: 'web_visitor', value: visitor }, type: 'text', text: t });
    await demo.h.settle();
    return r.conversation;
  };
  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });

  it('agent: takes a queued ticket, answers with a canned response and a KB suggestion, resolves', { timeout: 120_000 }, async () => {
    const page = await openConsole(demo.browser, demo.h.url, 'ajie@huike.demo', DEMO_PASSWORD);
    // 阿杰 steps away: the next customer waits in the queue for someone to take them
    await page.getByTestId('presence').click();
    await page.locator('.ant-select-item-option').filter({ hasText: '离开' }).click();
    await expect.poll(async () => (await demo.h.deps.sql`select status from agents where email = 'ajie@huike.demo'`)[0].status).toBe('away');

    const visitor = 'journey-agent-visitor';
    const c = await customerSays(visitor, '转人工，退货的事');
    await page.getByTestId('tab-queued').click();
    const item = page.locator(`[data-testid=inbox-item][data-conversation-id="${c.id}"]`);
    await expect.poll(() => item.count(), { timeout: 10_000 }).toBe(1);
    await item.click();
    await page.getByTestId('claim').click();
    await expect.poll(() => text(page.getByTestId('conversation-status'))).toBe('人工接待');

    // "/" opens the canned responses; Enter takes the first match with the variables filled in
    await page.getByTestId('reply-input').fill('/hi');
    await expect.poll(() => page.getByTestId('canned-item').count()).toBeGreaterThan(0);
    await page.getByTestId('reply-input').press('Enter');
    expect(await page.getByTestId('reply-input').inputValue()).toMatch(/^您好.*我是客服阿杰/);
    await page.getByTestId('reply-input').press('Enter');
    await expect.poll(() => text(page.locator('[data-testid=message][data-sender=agent]').last()), { timeout: 10_000 }).toContain('我是客服阿杰');

    // the customer asks a FAQ question: the KB answer is one click away
    await customerSays(visitor, '退货运费谁出');
    await expect.poll(() => page.getByTestId('suggestion').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await page.getByTestId('suggestion').first().click();
    const answer = await page.getByTestId('reply-input').inputValue();
    expect(answer.length).toBeGreaterThan(5);
    await page.getByTestId('reply-send').click();
    await expect.poll(async () => (await demo.h.deps.sql`select count(*)::int as n from messages where conversation_id = ${c.id} and sender_type = 'agent'`)[0].n).toBe(2);

    // the answer to a send is lost (its node died mid-request): the console says so and keeps the text; sent
    // again, it is the same reply on the server (the console's clientMsgId), and the customer gets it once
    const lostOnce = '已为您登记退货，请留意短信';
    let posts = 0;
    await page.route('**/api/v1/conversations/*/messages', async (route) => {
      if (route.request().method() !== 'POST' || posts++) return route.fallback();
      await route.fetch();
      await route.abort('failed');
    });
    await page.getByTestId('reply-input').fill(lostOnce);
    await page.getByTestId('reply-send').click();
    await expect.poll(() => page.getByText('网络异常，未收到服务器的答复').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await page.getByTestId('reply-input').inputValue()).toBe(lostOnce);
    await page.getByTestId('reply-send').click();
    await expect.poll(() => page.getByTestId('reply-input').inputValue(), { timeout: 10_000 }).toBe('');
    await page.unroute('**/api/v1/conversations/*/messages');
    expect(posts).toBe(2);
    const once = await demo.h.deps.sql`select count(*)::int as n from messages where conversation_id = ${c.id} and text = ${lostOnce}`;
    expect(once[0].n).toBe(1);

    // an internal note is visibly not a message
    await page.getByTestId('mode-note').click();
    await page.getByTestId('reply-input').fill('客户要求上门取件，已登记');
    await page.getByTestId('reply-input').press('Enter');
    await expect.poll(() => text(page.getByTestId('note'))).toContain('客户要求上门取件');
    await shot(page, 'journey-agent.png');

    await page.getByTestId('resolve').click();
    await expect.poll(() => text(page.getByTestId('conversation-status'))).toBe('已结束');
    const [t] = await demo.h.deps.sql`select status, assignee_id is not null as assigned from tickets where conversation_id = ${c.id}`;
    expect(t).toEqual({ status: 'solved', assigned: true });
  });

  it('a console whose session ended elsewhere (logout in another tab, disabled, expired) is back at the login page by itself', { timeout: 60_000 }, async () => {
    const page = await openConsole(demo.browser, demo.h.url, 'xiaomei@huike.demo', DEMO_PASSWORD);
    const token = await page.evaluate(() => localStorage.getItem('huike.token'));
    const out = await fetch(`${demo.h.url}/api/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(out.status).toBe(204);
    // no click, no request from the page: the socket's end is what tells it
    await expect.poll(() => page.getByTestId('login-email').isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await page.evaluate(() => localStorage.getItem('huike.token'))).toBeNull();
    await page.context().close();
  });

  it('a supervisor demoted by an admin loses the supervisor pages in the open console, without a reload', { timeout: 60_000 }, async () => {
    const sup = await buildAgent(demo.h.deps.sql, { role: 'supervisor' });
    const page = await openConsole(demo.browser, demo.h.url, sup.email, TEST_PASSWORD);
    await expect.poll(() => page.getByTestId('nav-dashboard').isVisible(), { timeout: 10_000 }).toBe(true);
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    const admin = await demo.h.login('admin@huike.demo', DEMO_PASSWORD);
    expect((await demo.h.api(admin, `/agents/${sup.id}`, { method: 'PUT', body: JSON.stringify({ role: 'agent' }) })).status).toBe(200);
    await expect.poll(() => page.getByTestId('nav-dashboard').isVisible(), { timeout: 10_000 }).toBe(false);
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await page.context().close();
  });

  it('supervisor: edits the KB and turns an unanswered question into knowledge, builds a playbook, reads the dashboard, switches to English', { timeout: 120_000 }, async () => {
    // a question the bot cannot answer lands in the unanswered inbox
    await customerSays('journey-sup-visitor', '你们支持以旧换新吗');
    const page = await openConsole(demo.browser, demo.h.url, 'lina@huike.demo', DEMO_PASSWORD);

    await page.getByTestId('nav-kb').click();
    await expect.poll(() => page.getByTestId('kb-table').locator('tbody tr').count(), { timeout: 10_000 }).toBeGreaterThan(5);
    await page.getByTestId('kb-new').click();
    await page.getByTestId('kb-category').fill('售前咨询');
    await page.getByTestId('kb-question').fill('支持以旧换新吗？');
    await page.getByTestId('kb-answer').fill('目前支持衣物以旧换新：寄回旧衣可抵 20 元，详见活动页。');
    await page.locator('.ant-modal-footer .ant-btn-primary').click();
    await expect.poll(async () => (await demo.h.deps.sql`select count(*)::int as n from kb_entries where question = '支持以旧换新吗？'`)[0].n).toBe(1);

    await page.getByTestId('kb-tab-unanswered').click();
    const q = page.getByTestId('kb-unanswered-item').filter({ hasText: '你们支持以旧换新吗' });
    await expect.poll(() => q.count(), { timeout: 10_000 }).toBe(1);
    await shot(page, 'journey-kb-unanswered.png');
    // one click: the question becomes a similar question of the entry the bot thought closest
    await q.getByTestId('kb-add-similar').click();
    await expect.poll(() => q.count(), { timeout: 10_000 }).toBe(0);
    expect((await demo.h.deps.sql`select status from kb_unanswered where text = '你们支持以旧换新吗'`)[0].status).toBe('added');
    await page.getByTestId('kb-tab-test').click();
    await page.getByTestId('kb-test-input').locator('input').fill('可以以旧换新吗');
    await page.getByTestId('kb-test-input').locator('input').press('Enter');
    await expect.poll(() => text(page.getByTestId('kb-test-result')), { timeout: 10_000 }).toContain('支持以旧换新吗');

    // a playbook: preview whom it reaches, then save it
    await page.getByTestId('nav-playbooks').click();
    await expect.poll(() => page.getByTestId('playbooks-table').locator('tbody tr').count(), { timeout: 10_000 }).toBeGreaterThan(5);
    await page.getByTestId('playbook-new').click();
    await page.getByTestId('playbook-name').fill('高价值客户加购提醒');
    await page.getByTestId('playbook-text-a').fill('{{name}}，您加购的「{{product}}」库存紧张，今天下单送运费险～');
    await page.getByTestId('playbook-preview').click();
    await expect.poll(() => text(page.getByTestId('playbook-preview-result')), { timeout: 10_000 }).toMatch(/将发送|转客服跟进|生成客服任务|当前没有/);
    await shot(page, 'journey-playbook.png');
    await page.getByTestId('playbook-save').click();
    await expect.poll(async () => (await demo.h.deps.sql`select count(*)::int as n from playbooks where name = '高价值客户加购提醒'`)[0].n, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => text(page.getByTestId('playbooks-table'))).toContain('高价值客户加购提醒');

    await page.getByTestId('nav-dashboard').click();
    await expect.poll(() => page.getByTestId('chart-volume').locator('canvas').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await expect.poll(() => text(page.getByTestId('workload')), { timeout: 10_000 }).toContain('阿杰');
    await shot(page, 'journey-dashboard.png');

    await page.getByTestId('lang').click();
    await page.locator('.ant-select-item-option').filter({ hasText: 'English' }).click();
    await expect.poll(() => text(page.getByTestId('nav-kb'))).toBe('Knowledge base');
    await expect.poll(() => text(page.getByTestId('nav'))).toContain('Dashboard');
  });
});

describe('the H5 chat page', () => {
  const demo = demoBrowserHooks();

  it('a customer on a phone sends a picture; the agent sees it in the console', { timeout: 90_000 }, async () => {
    const phone = await (await demo.browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true })).newPage();
    await phone.goto(`${demo.h.url}/chat`);
    await phone.getByTestId('chat-input').fill('转人工');
    await phone.getByTestId('chat-send').click();
    await phone.getByTestId('chat-image-input').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: PNG_1X1 });
    await expect.poll(() => phone.getByTestId('chat-image').count(), { timeout: 10_000 }).toBe(1);
    await phone.screenshot({ path: path.join(ARTIFACTS, 'chat-image.png') });
    const [m] = await demo.h.deps.sql<{ conversationId: string; payload: { url: string } }[]>`select conversation_id, payload from messages where type = 'image'`;
    expect(m.payload.url).toMatch(/^\/uploads\//);

    const page = await openConsole(demo.browser, demo.h.url, 'admin@huike.demo', DEMO_PASSWORD);
    await page.goto(`${demo.h.url}/#/inbox/${m.conversationId}`);
    await expect.poll(() => page.getByTestId('message-image').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.getByTestId('message-image').getAttribute('src')).toBe(m.payload.url);
  });
});

describe('the H5 chat page for a shop’s signed-in user', () => {
  const secret = 'journey-web-chat-secret-0123456789ab';
  const demo = demoBrowserHooks({ env: { WEB_CHAT_SECRET: secret } });
  const token = (sub: string, expS = 600) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt(now).setExpirationTime(now + expS).sign(new TextEncoder().encode(secret));
  };

  it('opened with an identity token: the token leaves the address, the history follows the user to another phone; a stale token is told so', { timeout: 90_000 }, async () => {
    const phone = await (await demo.browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true })).newPage();
    await phone.goto(`${demo.h.url}/chat?identityToken=${await token('member-8848')}`);
    await expect.poll(() => phone.url(), { timeout: 10_000 }).toBe(`${demo.h.url}/chat`);
    await phone.getByTestId('chat-input').fill('会员积分怎么用');
    await phone.getByTestId('chat-send').click();
    await expect.poll(() => text(phone.locator('body')), { timeout: 10_000 }).toContain('会员积分怎么用');

    const tablet = await (await demo.browser.newContext({ viewport: { width: 820, height: 1180 } })).newPage();
    await tablet.goto(`${demo.h.url}/chat?identityToken=${await token('member-8848')}`);
    await expect.poll(() => text(tablet.locator('body')), { timeout: 10_000 }).toContain('会员积分怎么用');

    const stale = await (await demo.browser.newContext()).newPage();
    await stale.goto(`${demo.h.url}/chat?identityToken=${await token('member-8848', -60)}`);
    await expect.poll(() => text(stale.getByTestId('chat-status')), { timeout: 10_000 }).toContain('身份令牌无效或已过期');
    expect(await text(stale.locator('body'))).not.toContain('会员积分怎么用');
  });
});

describe('a long conversation', () => {
  const demo = demoBrowserHooks();

  it('5,000 messages: opens at the latest, keeps only a window in the DOM, pages back on scroll', { timeout: 120_000 }, async () => {
    const r = await ingestInbound(demo.h.deps, { channel: 'web', channelMsgId: 'long:0', identity: { kind: 'web_visitor', value: 'long-history' }, type: 'text', text: '第1条' });
    await demo.h.settle(); // the bot's answer comes first
    const [admin] = await demo.h.deps.sql<{ id: string }[]>`select id from agents where email = 'admin@huike.demo'`;
    const [{ lastSeq }] = await demo.h.deps.sql<{ lastSeq: number }[]>`select last_seq from conversations where id = ${r.conversation.id}`;
    // the rest up to 5,000, written straight in: the seq order is what the console relies on
    await demo.h.deps.sql`
      insert into messages (conversation_id, seq, sender_type, type, text, channel, status, created_at)
      select ${r.conversation.id}, g, case when g % 2 = 0 then 'agent' else 'customer' end, 'text', '第' || g || '条', 'web', 'sent', now() - ((5000 - g) || ' seconds')::interval
        from generate_series(${lastSeq + 1}::int, 5000) g`;
    await demo.h.deps.sql`update conversations set last_seq = 5000, last_message_at = now(), status = 'open', assignee_id = ${admin.id} where id = ${r.conversation.id}`;

    const page = await openConsole(demo.browser, demo.h.url, 'admin@huike.demo', DEMO_PASSWORD);
    const started = Date.now();
    await page.goto(`${demo.h.url}/#/inbox/${r.conversation.id}`);
    await expect.poll(() => text(page.locator('[data-testid=message]').last()), { timeout: 15_000 }).toContain('第5000条');
    const openMs = Date.now() - started;
    const inDom = await page.locator('[data-testid=message]').count();
    expect(inDom).toBeLessThan(60);

    // scrolling up pages back through the history, still with a small DOM
    const scroller = page.getByTestId('messages').locator('[data-testid=virtuoso-scroller]');
    for (let i = 0; i < 12; i++) {
      await scroller.evaluate((el) => el.scrollTo({ top: 0 }));
      await page.waitForTimeout(150);
    }
    const firstSeq = Number(await page.locator('[data-testid=message]').first().getAttribute('data-seq'));
    expect(firstSeq).toBeLessThan(4800);
    expect(await page.locator('[data-testid=message]').count()).toBeLessThan(60);
    console.log(`5,000-message conversation: opened in ${openMs} ms with ${inDom} messages in the DOM; scrolled back to seq ${firstSeq}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-long-history.png') });
  });
});

describe('the team page, live, and an agent’s own status', () => {
  const demo = demoBrowserHooks({ env: { AGENT_OFFLINE_GRACE_S: '60' } });

  it('the supervisor’s open team page follows an agent coming, closing their console (已断开), coming back and going 离开; the agent’s reloaded console keeps 离开', { timeout: 90_000 }, async () => {
    const agent = await buildAgent(demo.h.deps.sql, { name: '断线的阿明' });
    const page = await openConsole(demo.browser, demo.h.url, 'lina@huike.demo', DEMO_PASSWORD);
    const row = () => page.getByTestId('page-team').locator('tr').filter({ hasText: '断线的阿明' });
    await page.getByTestId('nav-team').click();
    await expect.poll(() => text(row()), { timeout: 10_000 }).toContain('离线');

    // from here on the supervisor's page is never reloaded or opened again
    const console1 = await openConsole(demo.browser, demo.h.url, agent.email, TEST_PASSWORD);
    await expect.poll(() => text(row()), { timeout: 10_000 }).toContain('在线');
    await console1.context().close();
    await expect.poll(() => text(row()), { timeout: 10_000 }).toContain('已断开');
    expect(await text(row())).toContain('在线');

    const console2 = await openConsole(demo.browser, demo.h.url, agent.email, TEST_PASSWORD);
    await expect.poll(() => text(row()), { timeout: 10_000 }).not.toContain('已断开');
    expect(await text(row())).toContain('在线');

    await console2.getByTestId('presence').click();
    await console2.locator('.ant-select-item-option').filter({ hasText: '离开' }).click();
    await expect.poll(() => text(row()), { timeout: 10_000 }).toContain('离开');
    // the agent reloads: their console says 离开, as the server has it (it used to say 在线 and route nothing)
    await console2.reload();
    await expect.poll(() => text(console2.getByTestId('connection')), { timeout: 10_000 }).toContain('已连接');
    await expect.poll(() => text(console2.getByTestId('presence')), { timeout: 10_000 }).toContain('离开');
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-team-live.png') });
  });

  it('a console told to resync (its node lost Redis) shows what it was never sent', { timeout: 60_000 }, async () => {
    const page = await openConsole(demo.browser, demo.h.url, 'lina@huike.demo', DEMO_PASSWORD);
    await page.getByTestId('tab-all').click();
    // a customer writes while the node's link to Redis is down: stored, and published where nobody hears it
    const unheard = { ...demo.h.deps, bus: new EventBus() };
    const { conversation } = await ingestInbound(unheard, { channel: 'web', channelMsgId: 'resync-journey:1', identity: { kind: 'web_visitor', value: 'resync-journey' }, type: 'text', text: '断线期间的留言' });
    const item = page.locator(`[data-testid=inbox-item][data-conversation-id="${conversation.id}"]`);
    await new Promise((r) => setTimeout(r, 500));
    expect(await item.count()).toBe(0);
    // Redis is back: the node tells its own consoles (gateway/realtime/server.ts)
    demo.h.realtime.io.of('/agent').local.emit('resync');
    await expect.poll(() => item.count(), { timeout: 10_000 }).toBe(1);
  });

  it('the transfer dialog shows colleagues as they are when it opens, not as they were when the console opened', { timeout: 60_000 }, async () => {
    const colleague = await buildAgent(demo.h.deps.sql, { name: '同事小周', status: 'online' });
    const page = await openConsole(demo.browser, demo.h.url, 'lina@huike.demo', DEMO_PASSWORD);
    const { conversation } = await ingestInbound(demo.h.deps, { channel: 'web', channelMsgId: 'transfer-journey:1', identity: { kind: 'web_visitor', value: 'transfer-journey' }, type: 'text', text: '转人工，发票的事' });
    await demo.h.settle();
    await page.goto(`${demo.h.url}/#/inbox/${conversation.id}`);
    await expect.poll(() => page.getByTestId('transfer').isEnabled(), { timeout: 10_000 }).toBe(true);

    // the colleague steps away after the console opened
    const login = await fetch(`${demo.h.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: colleague.email, password: TEST_PASSWORD }) });
    const { token } = (await login.json()) as { token: string };
    const away = await fetch(`${demo.h.url}/api/v1/agents/me/status`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ status: 'away' }) });
    expect(away.status).toBe(200);

    await page.getByTestId('transfer').click();
    await page.getByTestId('transfer-to').click();
    const option = page.locator('.ant-select-item-option').filter({ hasText: '同事小周' });
    await expect.poll(() => text(option), { timeout: 10_000 }).toContain('离开');
  });
});

describe('accounts: an admin opens one, its owner changes the password', () => {
  const demo = demoBrowserHooks();

  it('the admin creates an agent on the team page; the agent signs in, changes the password and stays in; the other console is signed out; a lockout shows and is lifted', { timeout: 120_000 }, async () => {
    const admin = await openConsole(demo.browser, demo.h.url, 'admin@huike.demo', DEMO_PASSWORD);
    await admin.getByTestId('nav-team').click();
    await admin.getByTestId('new-agent').click();
    const form = admin.getByTestId('agent-form');
    await form.getByLabel('邮箱').fill('xiaoli@shop.test');
    await form.getByLabel('姓名').fill('新同事小李');
    await form.getByLabel('初始密码').fill('12345678');
    await admin.locator('.ant-modal').getByRole('button', { name: /保\s*存/ }).click();
    // the console checks the password rule before sending
    await expect.poll(() => text(form), { timeout: 5000 }).toContain('密码需包含字母、数字、符号中的至少两种');
    await form.getByLabel('初始密码').fill('kaishi-2026');
    await admin.locator('.ant-modal').getByRole('button', { name: /保\s*存/ }).click();
    const row = () => admin.getByTestId('page-team').locator('tr').filter({ hasText: '新同事小李' });
    await expect.poll(() => text(row()), { timeout: 10_000 }).toContain('xiaoli@shop.test');

    const other = await openConsole(demo.browser, demo.h.url, 'xiaoli@shop.test', 'kaishi-2026');
    const mine = await openConsole(demo.browser, demo.h.url, 'xiaoli@shop.test', 'kaishi-2026');
    // a password the admin chose: the console asks for the agent's own before anything else, and cannot be dismissed
    await expect.poll(() => text(mine.locator('.ant-modal')), { timeout: 10_000 }).toContain('请先修改初始密码');
    expect(await mine.locator('.ant-modal').getByRole('button', { name: /取\s*消/ }).isVisible()).toBe(false);
    await mine.waitForTimeout(400); // the modal's opening animation, for the screenshot
    await mine.screenshot({ path: path.join(ARTIFACTS, 'console-first-password.png') });
    await mine.keyboard.press('Escape');
    const pw = mine.getByTestId('password-form');
    expect(await pw.isVisible()).toBe(true);
    await pw.getByLabel('当前密码').fill('kaishi-2026');
    await pw.getByLabel('新密码', { exact: true }).fill('xin-mima-2026');
    await pw.getByLabel('确认新密码').fill('xin-mima-2026');
    await mine.locator('.ant-modal').getByRole('button', { name: /保\s*存/ }).click();
    // the other console is back at the login page by itself; this one goes on, connected, with its new token
    await expect.poll(() => other.getByTestId('login-email').isVisible(), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => text(mine.getByTestId('connection')), { timeout: 10_000 }).toContain('已连接');
    await mine.getByTestId('nav-team').click();
    await expect.poll(() => text(mine.getByTestId('page-team')), { timeout: 10_000 }).toContain('新同事小李');
    expect(await mine.getByTestId('login-email').count()).toBe(0);
    expect(await mine.getByTestId('password-form').count()).toBe(0);
    // the header's 修改密码 opens the same form, which can be closed this time
    await mine.getByTestId('change-password').click();
    await mine.locator('.ant-modal').getByRole('button', { name: /取\s*消/ }).click();
    await expect.poll(() => mine.getByTestId('password-form').count(), { timeout: 5000 }).toBe(0);
    await other.context().close();

    // someone guesses at the account: the admin's team page shows it locked, and one click lifts it
    for (let i = 0; i < 5; i++)
      await fetch(`${demo.h.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'xiaoli@shop.test', password: 'guess-1' }) });
    await admin.reload();
    await expect.poll(() => text(row()), { timeout: 10_000 }).toContain('已锁定');
    await admin.screenshot({ path: path.join(ARTIFACTS, 'console-team-accounts.png'), fullPage: true });
    await row().getByRole('button', { name: /解\s*锁/ }).click();
    await expect.poll(() => text(row()), { timeout: 10_000 }).not.toContain('已锁定');
    expect((await demo.h.login('xiaoli@shop.test', 'xin-mima-2026')).length).toBeGreaterThan(20);

    // the audit log says who did what to the account, newest first, in Chinese
    await admin.getByTestId('nav-audit').click();
    const rows = admin.getByTestId('page-audit').locator('tbody tr');
    await expect.poll(async () => (await rows.allTextContents()).join('\n'), { timeout: 10_000 }).toContain('解锁账号');
    const about = await rows.filter({ hasText: '新同事小李' }).allTextContents();
    // with its sign-ins (登录日志): two consoles, then the API login after the unlock
    expect(about.map((r) => (r.match(/解锁账号|修改自己的密码|新建客服|登录/) ?? [''])[0])).toEqual(['登录', '解锁账号', '修改自己的密码', '登录', '登录', '新建客服']);
    expect(about[1]).toContain('店长 王芳');
    expect(about[0]).toMatch(/IP \d+\.\d+\.\d+\.\d+/);
    // the details in words: the new account's role and email, not JSON
    expect(about.at(-1)).toContain('角色：坐席');
    expect(about.at(-1)).toContain('xiaoli@shop.test');
    expect(about.at(-1)).not.toContain('{');
    await admin.getByTestId('audit-action').click();
    await admin.keyboard.type('新建客服');
    await admin.locator('.ant-select-item-option').filter({ hasText: /^新建客服$/ }).click();
    await expect.poll(async () => (await rows.allTextContents()).every((r) => r.includes('新建客服')), { timeout: 10_000 }).toBe(true);
    // a day long before any of it: nothing; the day's range cleared, the entries are back
    await admin.getByTestId('audit-to').fill('2000-01-01');
    await expect.poll(() => text(rows), { timeout: 10_000 }).not.toContain('新建客服');
    await admin.getByTestId('audit-to').fill('');
    await expect.poll(() => text(rows), { timeout: 10_000 }).toContain('新建客服');
    await admin.screenshot({ path: path.join(ARTIFACTS, 'console-audit.png'), fullPage: true });
    // the same filter, as a file for whoever audits the shop
    const [file] = await Promise.all([admin.waitForEvent('download'), admin.getByTestId('audit-export').click()]);
    expect(file.suggestedFilename()).toMatch(/^huike-audit-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = (await readFile((await file.path())!, 'utf8')).split('\n').filter(Boolean);
    expect(csv.slice(1).every((line) => line.includes(',agent.create,'))).toBe(true);
    expect(csv.some((line) => line.includes('xiaoli@shop.test'))).toBe(true);
    await admin.context().close();
    await mine.context().close();
  });
});
