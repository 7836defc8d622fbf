import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestInbound } from '../../core/conversations/ingest.ts';
import { runDueRecovery } from '../../core/recovery/execute.ts';
import { DEFAULT_PLAYBOOKS, seedDefaultPlaybooks } from '../../core/recovery/defaults.ts';
import { transaction } from '../../core/db/client.ts';
import { commerceSignature } from '../../gateway/http/routes/commerce/index.ts';
import { buildAgent, buildTeam } from '../support/factories.ts';
import { nextEvent, startTestHuike, type TestHuike } from '../support/huike.ts';

const SECRET = 'recovery-secret';
let h: TestHuike;
let tokens: Record<string, string> = {};
let n = 0;

const api = (token: string, path: string, init: RequestInit = {}) => h.api(token, path, init);

async function commerce(events: unknown[]) {
  const raw = JSON.stringify({ events });
  const res = await fetch(`${h.url}/api/v1/commerce/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-huike-signature': commerceSignature(SECRET, raw) },
    body: raw,
  });
  expect(res.status).toBe(200);
}

const draft = {
  name: '加购提醒（测试）',
  trigger: { type: 'cart_abandoned', delayMinutes: 0 },
  actions: [{ type: 'suggest' }],
  variants: [{ id: 'A', text: '您的「{{product}}」还在购物车～' }],
};

beforeAll(async () => {
  h = await startTestHuike({ env: { COMMERCE_WEBHOOK_SECRET: SECRET } });
  const team = await buildTeam(h.deps.sql, { name: '挽回组', isDefault: true });
  const agent = await buildAgent(h.deps.sql, { teamIds: [team.id], status: 'online' });
  const sup = await buildAgent(h.deps.sql, { role: 'supervisor' });
  tokens = { agent: await h.login(agent.email), sup: await h.login(sup.email) };
});
afterAll(() => h?.close());

describe('playbooks over HTTP', () => {
  it('the defaults seed once, with Chinese names and valid templates', async () => {
    await transaction(h.deps.sql, (tx) => seedDefaultPlaybooks(tx));
    await transaction(h.deps.sql, (tx) => seedDefaultPlaybooks(tx));
    const r = await api(tokens.agent, '/playbooks');
    expect(r.status).toBe(200);
    expect(r.body.playbooks.filter((p: any) => p.key)).toHaveLength(DEFAULT_PLAYBOOKS.length);
    expect(r.body.playbooks.find((p: any) => p.key === 'payment-failed-5m')).toMatchObject({ name: '支付失败 · 黄金 5 分钟', trigger: { type: 'payment_failed', delayMinutes: 5 } });
    expect(r.body.triggers.cart_abandoned).toBe('加购未下单');
    // the tests below use their own playbook
    await h.deps.sql`update playbooks set enabled = false`;
  });

  it('supervisors create, edit and switch off; agents read only; bad input is refused and changes nothing', async () => {
    expect((await api(tokens.agent, '/playbooks', { method: 'POST', body: JSON.stringify(draft) })).status).toBe(403);
    const before = (await api(tokens.sup, '/playbooks')).body.playbooks.length;
    const bad = await api(tokens.sup, '/playbooks', { method: 'POST', body: JSON.stringify({ ...draft, variants: [{ id: 'A', text: '{{nick}}' }] }) });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_playbook', details: [expect.objectContaining({ path: 'variants.0.text' })] });
    expect((await api(tokens.sup, '/playbooks', { method: 'POST', body: '{"name":' })).status).toBe(400);
    expect((await api(tokens.sup, '/playbooks')).body.playbooks.length).toBe(before);

    const created = await api(tokens.sup, '/playbooks', { method: 'POST', body: JSON.stringify(draft) });
    expect(created.status).toBe(201);
    const id = created.body.playbook.id;
    const edited = await api(tokens.sup, `/playbooks/${id}`, { method: 'PUT', body: JSON.stringify({ ...draft, name: '加购提醒 v2' }) });
    expect(edited.body.playbook).toMatchObject({ name: '加购提醒 v2', enabled: true });
    expect((await api(tokens.sup, '/playbooks/00000000-0000-0000-0000-000000000000', { method: 'PUT', body: JSON.stringify(draft) })).status).toBe(404);
    expect((await api(tokens.agent, '/playbooks/not-a-uuid')).status).toBe(404);
    const [audited] = await h.deps.sql`select count(*)::int as n from audit_log where target_type = 'playbook' and target_id = ${id}`;
    expect(audited.n).toBe(2);
  });

  it('guard-rail settings: validated, supervisors only', async () => {
    expect((await api(tokens.agent, '/recovery/settings', { method: 'PUT', body: JSON.stringify({ maxPerDay: 2 }) })).status).toBe(403);
    expect((await api(tokens.sup, '/recovery/settings', { method: 'PUT', body: JSON.stringify({ quietHours: { start: '25:00', end: '08:00' } }) })).status).toBe(400);
    const ok = await api(tokens.sup, '/recovery/settings', { method: 'PUT', body: JSON.stringify({ quietHours: null, maxPerDay: 2 }) });
    expect(ok.body.settings).toMatchObject({ maxPerDay: 2, maxPerWeek: 3, quietHours: null, optOutKeywords: expect.arrayContaining(['退订', 'TD']) });
  });
});

describe('the agent’s side', () => {
  it('a script reaches the agent’s console live and in the suggestions, one click marks it used; preview and report agree', async () => {
    const { body } = await api(tokens.sup, '/playbooks');
    const p = body.playbooks.find((x: any) => x.name === '加购提醒 v2');
    // a customer chats, is handed to the agent, and leaves a cart meanwhile
    const visitor = `rv-${++n}`;
    const r = await ingestInbound(h.deps, { channel: 'web', channelMsgId: `${visitor}:1`, identity: { kind: 'web_visitor', value: visitor }, type: 'text', text: '转人工' });
    await h.settle();
    const socket = await h.agentSocket(tokens.agent);
    const live = nextEvent(socket, 'recovery:script');

    const preview = await api(tokens.sup, `/playbooks/${p.id}/preview`);
    expect(preview.status).toBe(200);
    expect((await api(tokens.agent, `/playbooks/${p.id}/preview`)).status).toBe(403);

    await commerce([
      { id: `rc-${n}`, platform: 'taobao', type: 'cart.abandoned', occurredAt: new Date().toISOString(), customer: { identities: [{ kind: 'web_visitor', value: visitor }] }, cart: { id: `CART-${n}`, totalFen: 9_900, items: [{ name: '真丝衬衫', priceFen: 9_900 }] } },
    ]);
    await runDueRecovery(h.deps);
    await h.settle();
    expect(await live).toMatchObject({ conversationId: r.conversation.id, run: { status: 'suggested', script: '您的「真丝衬衫」还在购物车～' } });

    const s = await api(tokens.agent, `/conversations/${r.conversation.id}/suggestions`);
    expect(s.body.scripts).toEqual([expect.objectContaining({ playbookName: '加购提醒 v2', script: '您的「真丝衬衫」还在购物车～', trigger: 'cart_abandoned' })]);
    const runId = s.body.scripts[0].runId;
    expect((await api(tokens.agent, `/recovery/runs/${runId}/used`, { method: 'POST' })).status).toBe(204);
    expect((await api(tokens.agent, `/conversations/${r.conversation.id}/suggestions`)).body.scripts).toEqual([]);
    expect((await api(tokens.agent, `/recovery/runs/00000000-0000-0000-0000-000000000000/used`, { method: 'POST' })).status).toBe(404);

    const runs = await api(tokens.sup, `/recovery/runs?playbookId=${p.id}`);
    expect(runs.body.runs).toEqual([expect.objectContaining({ id: runId, playbookName: '加购提醒 v2', status: 'suggested' })]);
    expect((await api(tokens.agent, '/recovery/runs')).status).toBe(403);
    expect((await api(tokens.sup, '/recovery/runs?status=bogus')).status).toBe(400);

    const report = await api(tokens.agent, '/playbooks/report?days=7');
    expect(report.body.playbooks.find((x: any) => x.playbookId === p.id).total).toMatchObject({ triggered: 1, suggested: 1, recovered: 0 });
    socket.disconnect();
  });

  it('退订 through the web chat: confirmed by recovery, not answered by the FAQ bot', async () => {
    const visitor = `rv-${++n}`;
    const r = await ingestInbound(h.deps, { channel: 'web', channelMsgId: `${visitor}:1`, identity: { kind: 'web_visitor', value: visitor }, type: 'text', text: 'TD' });
    await h.settle();
    const replies = await h.deps.sql<{ text: string; senderType: string }[]>`
      select text, sender_type from messages where conversation_id = ${r.conversation.id} and sender_type <> 'customer'`;
    expect(replies).toEqual([{ text: expect.stringContaining('已为您退订'), senderType: 'system' }]);
    expect(await h.deps.sql`select 1 from recovery_optouts where customer_id = ${r.conversation.customerId}`).toHaveLength(1);
  });
});
