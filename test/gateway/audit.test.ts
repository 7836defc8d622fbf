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

    // a time window: [since, until)
    const [mid] = await h.deps.sql<{ at: Date }[]>`
      update audit_log set created_at = '2026-11-15T12:00:00+08:00' where id = ${all[2].id} returning created_at as at`;
    await h.deps.sql`update audit_log set created_at = '2026-10-01T00:00:00Z' where id = any(${all.slice(3).map((e) => e.id)}::bigint[])`;
    const window = async (q: string) => (await audit(`?targetId=${target.id}&limit=200&${q}`)).entries.map((e) => e.id);
    expect(await window('since=2026-11-01T00:00:00%2B08:00&until=2026-12-01T00:00:00%2B08:00')).toEqual([all[2].id]);
    expect(await window(`until=${encodeURIComponent(mid.at.toISOString())}`)).toEqual(all.slice(3).map((e) => e.id));
    expect(await window(`since=${encodeURIComponent(mid.at.toISOString())}`)).toEqual(all.slice(0, 3).map((e) => e.id));
  });

  it('is for admins only, and refuses a malformed filter with a reason', async () => {
    for (const role of ['agent', 'supervisor'] as const) {
      const r = await h.api(await h.login((await buildAgent(h.deps.sql, { role })).email), '/audit');
      expect([r.status, r.body.error.code]).toEqual([403, 'forbidden']);
    }
    for (const q of ['?action=DROP%20TABLE', '?actorId=me', '?targetType=everything', '?limit=0', '?limit=201', '?before=-1', '?before=abc', '?since=yesterday', '?since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z']) {
      const r = await h.api(admin, `/audit${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error.message, q).toMatch(/请求参数有误/);
    }
  });
});

describe('GET /api/v1/audit/export', () => {
  const exportCsv = (token: string, query = '') => fetch(`${h.url}/api/v1/audit/export${query}`, { headers: { authorization: `Bearer ${token}` } });
  // the bytes as Excel reads them: a BOM first, then UTF-8
  const lines = async (res: Response) => {
    const bytes = Buffer.from(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    return bytes.subarray(3).toString('utf8').split('\n').filter(Boolean);
  };

  it('every match as CSV for Excel, newest first across its internal pages; a formula in a name made inert; the export audited', async () => {
    const target = await buildAgent(h.deps.sql, { name: '=HYPERLINK("http://evil.test","点我")' });
    await h.deps.sql`
      insert into audit_log (actor_id, action, target_type, target_id, details)
      select ${adminId}, 'agent.teams', 'agent', ${target.id}, jsonb_build_object('n', g) from generate_series(1, 2500) g`;
    const res = await exportCsv(admin, `?targetId=${target.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="huike-audit-\d{4}-\d{2}-\d{2}\.csv"$/);
    const [header, ...rows] = await lines(res);
    expect(header.startsWith('时间 at,操作人 actor')).toBe(true);
    expect(rows).toHaveLength(2500);
    // newest first, none twice, none skipped
    const n = rows.map((r) => Number(/""n"":(\d+)/.exec(r)![1]));
    expect(n).toEqual(Array.from({ length: 2500 }, (_, i) => 2500 - i));
    expect(rows[0]).toContain(`,"'=HYPERLINK(""http://evil.test"",""点我"")",`);
    expect(rows[0]).toContain(',审计管理员,');

    const [exported] = await h.deps.sql`select actor_id, action, details from audit_log where action = 'audit.export' order by id desc limit 1`;
    expect(exported).toMatchObject({ actorId: adminId, details: { filter: { targetId: target.id } } });
  });

  it('says where it stopped when there is more than it may hold', async () => {
    const { auditCsv } = await import('../../core/audit-export.ts');
    let text = '';
    for await (const chunk of auditCsv(h.deps.sql, { action: 'agent.' }, 5)) text += chunk;
    const body = text.split('\n').filter(Boolean);
    expect(body).toHaveLength(1 + 5 + 1);
    expect(body.at(-1)).toMatch(/^# 仅导出最新的 5 条/);
  });

  it('is for admins only; a malformed filter is refused before anything is recorded', async () => {
    const count = async () => (await h.deps.sql`select count(*)::int as n from audit_log where action = 'audit.export'`)[0].n;
    const before = await count();
    const sup = await h.login((await buildAgent(h.deps.sql, { role: 'supervisor' })).email);
    expect((await exportCsv(sup)).status).toBe(403);
    const bad = await exportCsv(admin, '?actorId=me');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.code).toBe('invalid_request');
    expect(await count()).toBe(before);
  });
});
