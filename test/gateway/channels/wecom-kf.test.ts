import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WechatEmulator } from '../../../gateway/channels/emulator/wechat-emulator.ts';
import type { Database } from '../../../core/db/client.ts';
import { sendOutbound } from '../../../core/conversations/outbound.ts';
import { testDatabase } from '../../support/db.ts';
import { buildAgent, buildKb, buildTeam } from '../../support/factories.ts';
import { nextEvent, startTestHuike, type TestHuike } from '../../support/huike.ts';
import { FAST_WORKERS, startWechat } from '../../support/wechat.ts';

let emulator: WechatEmulator;
let env: Record<string, string>;
let database: Database;
let huike: TestHuike;
const KF = 'wkSHOP0001';

async function boot(extra: Partial<Parameters<typeof startTestHuike>[0]> = {}) {
  const h = await startTestHuike({ database, env, workers: FAST_WORKERS, ...extra });
  emulator.callbackBase = h.url;
  return h;
}

beforeAll(async () => {
  ({ emulator, env } = await startWechat());
  database = await testDatabase();
  await buildKb(database.sql, [
    { id: 'ship', category: '物流', question: '多久发货', similar: ['什么时候发货', '几天能发货'], answer: '下单后 48 小时内发货。' },
    { id: 'return', category: '退换货', question: '怎么退货', similar: ['如何退货', '退货流程'], answer: '订单页点「申请售后」即可。' },
  ]);
  huike = await boot();
});
afterAll(async () => {
  await huike?.close();
  await database?.close();
  await emulator?.stop();
});
afterEach(() => {
  expect(emulator.unexpected).toEqual([]);
});

const customerMessages = (user: string) =>
  huike.deps.sql<{ text: string; type: string; customerId: string; senderType: string }[]>`
    select m.text, m.type, m.sender_type, c.customer_id from messages m
      join conversations c on c.id = m.conversation_id join identities i on i.id = c.identity_id
     where i.kind = 'wecom_external_userid' and i.value = ${user} order by m.seq`;

describe('WeCom kf: a customer message end to end', () => {
  it('is announced, synced, stored once with the nickname, and the bot answers through send_msg', async () => {
    emulator.registerKfCustomer('wmALICE', { nickname: '爱丽丝', avatar: 'https://img/alice.png' });
    emulator.kfText(KF, 'wmALICE', '几天能发货');
    expect(await emulator.notifyKf(KF)).toBe(200);
    await huike.settle();

    const rows = await customerMessages('wmALICE');
    expect(rows.map((r) => [r.senderType, r.text])).toEqual([
      ['customer', '几天能发货'],
      ['bot', '下单后 48 小时内发货。'],
    ]);
    const [customer] = await huike.deps.sql`select display_name, avatar_url from customers where id = ${rows[0].customerId}`;
    expect(customer).toEqual({ displayName: '爱丽丝', avatarUrl: 'https://img/alice.png' });

    const sent = emulator.kfSent.filter((s) => s.touser === 'wmALICE');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ open_kfid: KF, msgtype: 'text', text: { content: '下单后 48 小时内发货。' } });
    const [bot] = await huike.deps.sql`select status, channel_msg_id from messages where sender_type = 'bot' and text = '下单后 48 小时内发货。'`;
    expect(bot).toEqual({ status: 'sent', channelMsgId: sent[0].msgid });
  });

  it('callback retries and replays of the same page store nothing twice', async () => {
    emulator.kfText(KF, 'wmBOB', '怎么退货');
    for (let i = 0; i < 4; i++) expect(await emulator.notifyKf(KF)).toBe(200);
    await huike.settle();
    // and a full replay from the beginning (as after a lost cursor) changes nothing
    await huike.deps.sql`update kf_accounts set cursor = null`;
    await emulator.notifyKf(KF);
    await huike.settle();
    const rows = await customerMessages('wmBOB');
    expect(rows.filter((r) => r.senderType === 'customer')).toHaveLength(1);
    expect(emulator.kfSent.filter((s) => s.touser === 'wmBOB')).toHaveLength(1);
    const [pending] = await huike.deps.sql`select count(*)::int as n from kf_sync_requests where done_at is null`;
    expect(pending.n).toBe(0);
  });

  it('maps media, location, link and mini-program messages; quick replies go out as a msgmenu', async () => {
    emulator.kfMessage(KF, { externalUserId: 'wmCAROL', msgtype: 'image', image: { media_id: 'MEDIA_1' } });
    emulator.kfMessage(KF, { externalUserId: 'wmCAROL', msgtype: 'location', location: { latitude: 23.1, longitude: 113.3, name: '广州塔', address: '海珠区' } });
    emulator.kfMessage(KF, { externalUserId: 'wmCAROL', msgtype: 'miniprogram', miniprogram: { title: '商品页', appid: 'wxapp', pagepath: 'pages/a' } });
    emulator.kfText(KF, 'wmCAROL', '发货');
    await emulator.notifyKf(KF);
    await huike.settle();
    const rows = await huike.deps.sql<{ type: string; text: string; payload: Record<string, unknown> }[]>`
      select m.type, m.text, m.payload from messages m join conversations c on c.id = m.conversation_id join identities i on i.id = c.identity_id
       where i.value = 'wmCAROL' and m.sender_type = 'customer' order by m.seq`;
    expect(rows.map((r) => r.type)).toEqual(['image', 'location', 'miniprogram', 'text']);
    expect(rows[0].payload).toEqual({ mediaId: 'MEDIA_1' });
    expect(rows[1].text).toBe('[位置] 广州塔 海珠区');
    expect(rows[2].payload).toMatchObject({ appId: 'wxapp', pagePath: 'pages/a' });
    const menu = emulator.kfSent.find((s) => s.touser === 'wmCAROL' && s.msgtype === 'msgmenu');
    expect(menu?.msgmenu.list.length).toBeGreaterThan(0);
    expect(menu?.msgmenu.list[0]).toMatchObject({ type: 'click', click: { content: expect.any(String) } });
  });

  it('a servicer writing from the WeCom app (origin 5) is history, not a question for the bot', async () => {
    emulator.kfText(KF, 'wmDAVE', '多久发货');
    emulator.kfMessage(KF, { externalUserId: 'wmDAVE', origin: 5, msgtype: 'text', text: { content: '今天就给您发' }, servicer_userid: 'zhangsan' });
    await emulator.notifyKf(KF);
    await huike.settle();
    const rows = await customerMessages('wmDAVE');
    const echo = rows.find((r) => r.text === '今天就给您发');
    expect(echo?.senderType).toBe('agent');
    // the bot answered the customer once, and not the servicer's line
    expect(rows.filter((r) => r.senderType === 'bot')).toHaveLength(1);
  });

  it('enter_session sends the welcome with its one-time code', async () => {
    emulator.kfEvent(KF, { event_type: 'enter_session', external_userid: 'wmERIN', scene: 'shop' });
    await emulator.notifyKf(KF);
    await huike.settle();
    expect(emulator.kfEventSent).toHaveLength(1);
    expect(emulator.kfEventSent[0]).toMatchObject({ msgtype: 'text', text: { content: expect.stringContaining('欢迎') } });
    // a replay of the event does not fail the sync (the used code is refused, harmlessly)
    await huike.deps.sql`update kf_accounts set cursor = null`;
    await emulator.notifyKf(KF);
    await huike.settle();
    expect(emulator.kfEventSent).toHaveLength(1);
  });

  it('msg_send_fail marks our message failed with the reason the agent reads', async () => {
    const [bot] = await huike.deps.sql<{ id: string; channelMsgId: string }[]>`
      select id, channel_msg_id from messages where sender_type = 'bot' and status = 'sent' and channel = 'wecom_kf' limit 1`;
    emulator.kfEvent(KF, { event_type: 'msg_send_fail', external_userid: 'wmALICE', fail_msgid: bot.channelMsgId, fail_type: 10 });
    await emulator.notifyKf(KF);
    await huike.settle();
    const [row] = await huike.deps.sql`select status, error, error_code from messages where id = ${bot.id}`;
    expect(row).toEqual({ status: 'failed', error: '客户拒收了消息', errorCode: 'user_refused' });
  });

  it('session_status_change to ended (change_type 3) resolves our conversation', async () => {
    emulator.kfText(KF, 'wmFRANK', '你好');
    await emulator.notifyKf(KF);
    await huike.settle();
    emulator.kfEvent(KF, { event_type: 'session_status_change', external_userid: 'wmFRANK', change_type: 3, old_servicer_userid: 'zhangsan' });
    await emulator.notifyKf(KF);
    await huike.settle();
    const [c] = await huike.deps.sql`
      select c.status from conversations c join identities i on i.id = c.identity_id where i.value = 'wmFRANK'`;
    expect(c.status).toBe('resolved');
  });

  it('a unionid already known from another WeChat surface joins this kf customer to that person', async () => {
    const [known] = await huike.deps.sql<{ id: string }[]>`insert into customers (display_name) values ('老顾客王女士') returning id`;
    await huike.deps.sql`insert into identities (customer_id, kind, value) values (${known.id}, 'wx_unionid', 'oUNION-wang')`;
    emulator.registerKfCustomer('wmWANG', { nickname: '王女士', unionid: 'oUNION-wang' });
    emulator.kfText(KF, 'wmWANG', '你好');
    await emulator.notifyKf(KF);
    await huike.settle();
    const rows = await customerMessages('wmWANG');
    expect(rows[0].customerId).toBe(known.id);
  });
});

describe('WeCom kf: takeover', () => {
  it('a handoff assigned to an agent with a WeCom account moves the session to 人工接待 (service_state 3)', async () => {
    const team = await buildTeam(huike.deps.sql, { name: '企微组', isDefault: true });
    const agent = await buildAgent(huike.deps.sql, { teamIds: [team.id], status: 'online' });
    await huike.deps.sql`update agents set wecom_userid = 'lisi' where id = ${agent.id}`;
    emulator.kfText(KF, 'wmTAKE', '转人工');
    await emulator.notifyKf(KF);
    await huike.settle();
    const [ticket] = await huike.deps.sql`select t.assignee_id from tickets t join conversations c on c.id = t.conversation_id
      join identities i on i.id = c.identity_id where i.value = 'wmTAKE'`;
    expect(ticket.assigneeId).toBe(agent.id);
    expect(emulator.kfTrans).toEqual([{ open_kfid: KF, external_userid: 'wmTAKE', service_state: 3, servicer_userid: 'lisi' }]);
    // agents stay busy with this conversation: take them offline so later tests are not routed here
    await huike.deps.sql`update agents set status = 'offline' where id = ${agent.id}`;
  });
});

describe('WeCom kf: sending', () => {
  async function conversationOf(user: string) {
    const [c] = await huike.deps.sql<{ id: string }[]>`
      select c.id from conversations c join identities i on i.id = c.identity_id where i.value = ${user} and c.status <> 'resolved'`;
    return c.id;
  }

  async function freshCustomer(user: string) {
    emulator.kfText(KF, user, '在吗');
    await emulator.notifyKf(KF);
    await huike.settle();
    return conversationOf(user);
  }

  const agentSays = (conversationId: string, text: string) => sendOutbound(huike.deps, { conversationId, senderType: 'agent', text });
  const statusOf = async (text: string) =>
    (await huike.deps.sql`select status, error_code, error from messages where text = ${text}`)[0];

  it('retries with backoff through 5xx and timeouts, and delivers exactly once', async () => {
    const id = await freshCustomer('wmRETRY');
    emulator.fail('cgi-bin/kf/send_msg', { times: 2, status: 502 });
    await agentSays(id, '重试也只到一次');
    await huike.settle();
    for (let i = 0; i < 50 && (await statusOf('重试也只到一次')).status !== 'sent'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      await huike.settle();
    }
    expect(await statusOf('重试也只到一次')).toMatchObject({ status: 'sent' });
    expect(emulator.kfSent.filter((s) => s.text?.content === '重试也只到一次')).toHaveLength(1);
    const [o] = await huike.deps.sql`select o.attempts from outbox o join messages m on m.id = o.message_id where m.text = '重试也只到一次'`;
    expect(o.attempts).toBe(3);
  });

  it('a send WeChat answers only after our timeout is retried with the same msgid and reaches the customer once', async () => {
    const id = await freshCustomer('wmSLOW');
    await huike.close();
    huike = await boot({ env: { ...env, WX_API_TIMEOUT_MS: '300' } });
    try {
      // WeChat takes the message but answers after we stopped waiting: we must retry, and must not deliver twice
      emulator.fail('cgi-bin/kf/send_msg', { times: 1, delayMs: 700 });
      await agentSays(id, '慢接口也只到一次');
      for (let i = 0; i < 60 && (await statusOf('慢接口也只到一次')).status !== 'sent'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        await huike.settle();
      }
      expect(await statusOf('慢接口也只到一次')).toMatchObject({ status: 'sent' });
      const sent = emulator.kfSent.filter((s) => s.text?.content === '慢接口也只到一次');
      expect(sent).toHaveLength(1);
      const calls = emulator.calls.filter((c) => c.path === 'cgi-bin/kf/send_msg' && c.body?.text?.content === '慢接口也只到一次');
      expect(calls.length).toBeGreaterThanOrEqual(2);
      expect(new Set(calls.map((c) => c.body.msgid)).size).toBe(1);
    } finally {
      await huike.close();
      huike = await boot();
    }
  });

  it('refreshes an expired access token once and retries the call', async () => {
    const id = await freshCustomer('wmTOKEN');
    const before = emulator.callCount('cgi-bin/gettoken');
    emulator.expireTokens();
    await agentSays(id, '令牌过期后照样发出');
    await huike.settle();
    expect(await statusOf('令牌过期后照样发出')).toMatchObject({ status: 'sent' });
    expect(emulator.callCount('cgi-bin/gettoken')).toBe(before + 1);
  });

  it('enforces the 5-message rule before queueing, and reopens when the customer writes again', async () => {
    const id = await freshCustomer('wmQUOTA'); // the bot used 1 of the 5
    for (let i = 1; i <= 4; i++) await agentSays(id, `第${i}条`);
    await expect(agentSays(id, '第5条')).rejects.toMatchObject({ status: 409, code: 'quota_exhausted' });
    // the customer answers what reached them: the four replies have left (the outbox may pause 25 ms between passes)
    await huike.settle();
    emulator.kfText(KF, 'wmQUOTA', '好的');
    await emulator.notifyKf(KF);
    await huike.settle();
    const window = (await huike.deps.sql`select replies_since_customer from conversations where id = ${id}`)[0];
    expect(window.repliesSinceCustomer).toBeLessThan(5); // only the bot's answers to the new message count
    await expect(agentSays(id, '客户回复后可以再发')).resolves.toBeTruthy();
  });

  it('enforces the 48 h window before queueing', async () => {
    const id = await freshCustomer('wmLATE');
    await huike.deps.sql`update conversations set last_customer_message_at = now() - interval '49 hours' where id = ${id}`;
    await expect(agentSays(id, '太晚了')).rejects.toMatchObject({ status: 409, code: 'window_closed' });
    const [n] = await huike.deps.sql`select count(*)::int as n from messages where text = '太晚了'`;
    expect(n.n).toBe(0);
  });

  it('maps WeChat errcodes to statuses the agent sees (95002 window, 95018 taken over)', async () => {
    const id = await freshCustomer('wmERR');
    emulator.fail('cgi-bin/kf/send_msg', { times: 1, errcode: 95018 });
    await agentSays(id, '被企业微信接待');
    await huike.settle();
    expect(await statusOf('被企业微信接待')).toMatchObject({ status: 'failed', errorCode: 'taken_by_wecom' });
    emulator.clockOffsetMs = 49 * 3600 * 1000; // WeChat's clock says the window is gone, ours did not know yet
    try {
      await agentSays(id, '窗口已过');
      await huike.settle();
    } finally {
      emulator.clockOffsetMs = 0;
    }
    expect(await statusOf('窗口已过')).toEqual({ status: 'failed', errorCode: 'window_closed', error: expect.stringContaining('48 小时') });
  });

  it('the console hears about a failed delivery live, with the reason, and sees the reply window', async () => {
    const id = await freshCustomer('wmLIVE');
    const sup = await buildAgent(huike.deps.sql, { role: 'supervisor' });
    const socket = await huike.agentSocket(await huike.login(sup.email));
    emulator.fail('cgi-bin/kf/send_msg', { times: 1, errcode: 95001 });
    const updated = nextEvent(socket, 'message:updated', (e: any) => e.conversationId === id);
    await agentSays(id, '实时失败通知');
    await huike.settle();
    const e = await updated;
    expect(e.message).toMatchObject({ text: '实时失败通知', status: 'failed', errorCode: 'quota_exhausted', error: expect.stringContaining('5 条') });
    // WeChat said the quota is used up: our window closes too, so the next reply is refused up front
    expect(e.conversation.replyWindow).toMatchObject({ limited: true, open: false, remaining: 0 });
  });

  it('an outbox row survives a restart: queued while WeChat is down, sent once by the next node', async () => {
    const id = await freshCustomer('wmRESTART');
    emulator.fail('cgi-bin/kf/send_msg', { times: 1000, status: 503 });
    await agentSays(id, '重启后送达');
    // wait for a failed attempt, not for settle(): with fast test backoff, a busy machine could burn all retries
    for (let i = 0; i < 100; i++) {
      const [o] = await huike.deps.sql`select o.attempts from outbox o join messages m on m.id = o.message_id where m.text = '重启后送达'`;
      if (o?.attempts >= 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await statusOf('重启后送达')).toMatchObject({ status: 'pending' });
    await huike.close();
    emulator.clearFaults();
    huike = await boot();
    await huike.deps.sql`update outbox set next_attempt_at = now() where status = 'pending'`;
    huike.workers!.outbox.nudge();
    await huike.settle();
    expect(await statusOf('重启后送达')).toMatchObject({ status: 'sent' });
    expect(emulator.kfSent.filter((s) => s.text?.content === '重启后送达')).toHaveLength(1);
  });
});

describe('WeCom kf: sync_msg paging', () => {
  const PAGED = 'wkPAGED';
  const stored = async () =>
    (await huike.deps.sql`select count(*)::int as n, count(distinct channel_msg_id)::int as d from messages where text like '分页消息%'`)[0];
  const paged = { workers: { ...FAST_WORKERS, kfSync: { pageLimit: 10 } } };

  it('a sync interrupted after two pages resumes on the next node: nothing lost, nothing twice', async () => {
    for (let i = 1; i <= 25; i++) emulator.kfText(PAGED, `wmPAGE${i % 5}`, `分页消息${i}`);
    await huike.close();
    emulator.fail('cgi-bin/kf/sync_msg', { after: 2, times: 1000, status: 500 });
    huike = await boot(paged);
    await emulator.notifyKf(PAGED);
    await huike.settle();
    expect(await stored()).toEqual({ n: 20, d: 20 });
    const [account] = await huike.deps.sql<{ cursor: string }[]>`select cursor from kf_accounts where open_kfid = ${PAGED}`;
    expect(Buffer.from(account.cursor, 'base64url').toString()).toBe('20');
    const [open] = await huike.deps.sql`select count(*)::int as n from kf_sync_requests where open_kfid = ${PAGED} and done_at is null`;
    expect(open.n).toBe(1);

    await huike.close();
    emulator.clearFaults();
    const before = emulator.calls.length;
    huike = await boot(paged); // no new callback: the pending request is enough
    await huike.settle();
    expect(await stored()).toEqual({ n: 25, d: 25 });
    const resumed = emulator.calls.slice(before).find((c) => c.path === 'cgi-bin/kf/sync_msg');
    expect(Buffer.from(resumed!.body.cursor, 'base64url').toString()).toBe('20');
    const [left] = await huike.deps.sql`select count(*)::int as n from kf_sync_requests where done_at is null`;
    expect(left.n).toBe(0);
    // customers are handled in parallel, but each one's messages keep their order
    const ordered = await huike.deps.sql<{ text: string }[]>`
      select m.text from messages m join conversations c on c.id = m.conversation_id join identities i on i.id = c.identity_id
       where i.value = 'wmPAGE1' and m.sender_type = 'customer' order by m.seq`;
    expect(ordered.map((r) => r.text)).toEqual(['分页消息1', '分页消息6', '分页消息11', '分页消息16', '分页消息21']);
  });

  it('two nodes never page one account at the same time', async () => {
    const other = await boot(paged);
    try {
      for (let i = 1; i <= 30; i++) emulator.kfText('wkTWO', `wmTWO${i % 3}`, `双节点${i}`);
      emulator.maxConcurrentSync = 0;
      emulator.fail('cgi-bin/kf/sync_msg', { times: 1000, delayMs: 30 });
      await Promise.all([emulator.notifyKf('wkTWO'), fetchTwice(other.url)]);
      await Promise.all([huike.settle(), other.settle()]);
      await huike.settle();
      const [r] = await huike.deps.sql`select count(*)::int as n, count(distinct channel_msg_id)::int as d from messages where text like '双节点%'`;
      expect(r).toEqual({ n: 30, d: 30 });
      expect(emulator.maxConcurrentSync).toBe(1);
    } finally {
      emulator.clearFaults();
      await other.close();
    }
  });

  /** announces the same news to the second node, so both race for the account */
  async function fetchTwice(url: string) {
    const base = emulator.callbackBase;
    emulator.callbackBase = url;
    try {
      await emulator.notifyKf('wkTWO');
    } finally {
      emulator.callbackBase = base;
    }
  }
});
