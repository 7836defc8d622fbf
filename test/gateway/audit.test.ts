import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgent, buildCustomer, buildTeam } from '../support/factories.ts';
import { startTestHuike, type TestHuike } from '../support/huike.ts';

let h: TestHuike;
let admin = '';
let adminId = '';
beforeAll(async () => {
  h = await startTestHuike();
  const team = await buildTeam(h.deps.sql, { isDefault: true });
  const a = await buildAgent(h.deps.sql, { role: 'admin', name: '审计管理员', teamIds: [team.id] });
  adminId = a.id;
  admin = await h.login(a.email);
});
afterAll(() => h?.close());

const json = (method: string, body: unknown) => ({ method, body: JSON.stringify(body) });
type Entry = { id: number; at: string; actor: { id: string; name: string } | null; action: string; target: { type: string; id: string; label: string | null }; details: Record<string, unknown> };
const audit = async (query = '') => {
  const r = await h.api(admin, `/audit${query}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body as { entries: Entry[]; nextBefore: number | null };
};

// The audit log (issue 9): an admin reads who revealed, merged, exported and changed accounts, without SQL.
describe('GET /api/v1/audit', () => {
  it('shows what the API did, newest first, with who did it and what it was done to, by name', async () => {
    const supervisor = await buildAgent(h.deps.sql, { role: 'supervisor', name: '主管小王' });
    const sup = await h.login(supervisor.email);
    const customer = await buildCustomer(h.deps.sql, { name: '客户张三' });
    expect((await h.api(sup, `/customers/${customer.id}/profile?reveal=1`)).status).toBe(200);
    const agent = await buildAgent(h.deps.sql, { name: '坐席小赵' });
    expect((await h.api(admin, `/agents/${agent.id}`, json('PUT', { role: 'supervisor' }))).status).toBe(200);
    expect((await h.api(admin, `/agents/${agent.id}/password`, json('PUT', { password: 'chongzhi-2026' }))).status).toBe(200);

    const { entries } = await audit('?limit=3');
    expect(entries.map((e) => e.action)).toEqual(['agent.password_reset', 'agent.role_change', 'customer.reveal']);
    expect(entries[0]).toMatchObject({ actor: { id: adminId, name: '审计管理员' }, target: { type: 'agent', id: agent.id, label: '坐席小赵' } });
    expect(entries[1].details).toEqual({ from: 'agent', to: 'supervisor' });
    expect(entries[2]).toMatchObject({ actor: { name: '主管小王' }, target: { type: 'customer', id: customer.id, label: '客户张三' } });
    expect(Date.parse(entries[0].at)).toBeGreaterThanOrEqual(Date.parse(entries[2].at));
  });

  it('filters by action (exactly, or a prefix), actor and target; pages without repeating or skipping', async () => {
    const target = await buildAgent(h.deps.sql);
    for (const maxConcurrent of [3, 4, 5, 6, 7]) await h.api(admin, `/agents/${target.id}`, json('PUT', { role: maxConcurrent % 2 ? 'supervisor' : 'agent', maxConcurrent }));
    const all = (await audit(`?targetId=${target.id}&limit=200`)).entries;
    expect(all).toHaveLength(5);
    expect(new Set(all.map((e) => e.action))).toEqual(new Set(['agent.role_change']));

    const pages: number[][] = [];
    let before: number | null = null;
    do {
      const page = await audit(`?targetId=${target.id}&limit=2${before ? `&before=${before}` : ''}`);
      pages.push(page.entries.map((e) => e.id));
      before = page.nextBefore;
    } while (before !== null);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual(all.map((e) => e.id));

    expect((await audit('?action=agent.&limit=200')).entries.every((e) => e.action.startsWith('agent.'))).toBe(true);
    expect((await audit('?action=customer.reveal&limit=200')).entries.every((e) => e.action === 'customer.reveal')).toBe(true);
    expect((await audit(`?actorId=${adminId}&limit=200`)).entries.every((e) => e.actor?.id === adminId)).toBe(true);
    expect((await audit('?targetType=team&limit=200')).entries).toEqual([]);
  });

  it('is for admins only, and refuses a malformed filter with a reason', async () => {
    for (const role of ['agent', 'supervisor'] as const) {
      const r = await h.api(await h.login((await buildAgent(h.deps.sql, { role })).email), '/audit');
      expect([r.status, r.body.error.code]).toEqual([403, 'forbidden']);
    }
    for (const q of ['?action=DROP%20TABLE', '?actorId=me', '?targetType=everything', '?limit=0', '?limit=201', '?before=-1', '?before=abc']) {
      const r = await h.api(admin, `/audit${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error.message, q).toMatch(/请求参数有误/);
    }
  });
});
