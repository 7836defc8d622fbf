import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES } from '../../core/customers/rules.ts';
import { buildAgent, buildCustomer, buildTeam } from '../support/factories.ts';
import { startTestHuike, type TestHuike } from '../support/huike.ts';

let h: TestHuike;
let agentToken: string;
let supToken: string;
let outsiderToken: string;
let customerId: string;

const api = (token: string, path: string, init: RequestInit = {}) =>
  fetch(`${h.url}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) } }).then(
    async (r) => ({ status: r.status, body: (await r.json()) as any }),
  );

beforeAll(async () => {
  h = await startTestHuike();
  const team = await buildTeam(h.deps.sql);
  const other = await buildTeam(h.deps.sql);
  const agent = await buildAgent(h.deps.sql, { teamIds: [team.id] });
  const outsider = await buildAgent(h.deps.sql, { teamIds: [other.id] });
  const sup = await buildAgent(h.deps.sql, { role: 'supervisor' });
  const c = await buildCustomer(h.deps.sql, {
    name: '赵敏',
    phone: '13812345678',
    identities: [{ kind: 'phone', value: '13812345678' }, { kind: 'taobao_nick', value: 'tb_zhaomin' }, { kind: 'web_visitor', value: 'visitor-zhaomin' }],
    orders: [{ platformOrderId: 'TB-ORDER-42', totalFen: 30000, address: '浙江省杭州市西湖区文三路100号3单元' }],
  });
  customerId = c.id;
  const [idn] = await h.deps.sql`select id from identities where value = 'visitor-zhaomin'`;
  await h.deps.sql`insert into conversations (customer_id, identity_id, channel, team_id) values (${c.id}, ${idn.id}, 'web', ${team.id})`;
  [agentToken, supToken, outsiderToken] = [await h.login(agent.email), await h.login(sup.email), await h.login(outsider.email)];
});
afterAll(() => h?.close());

describe('profile masking by role', () => {
  it('an agent sees masked phone and address, and may not reveal', async () => {
    const r = await api(agentToken, `/customers/${customerId}/profile`);
    expect(r.status).toBe(200);
    expect(r.body.profile.phone).toBe('138****5678');
    expect(r.body.profile.orders[0].address).toBe('浙江省杭州市西湖区****');
    expect(JSON.stringify(r.body)).not.toContain('13812345678');
    expect(JSON.stringify(r.body)).not.toContain('文三路');
    expect((await api(agentToken, `/customers/${customerId}/profile?reveal=1`)).status).toBe(403);
  });

  it('a supervisor may reveal, and each reveal is audit-logged', async () => {
    const before = (await h.deps.sql`select count(*)::int as n from audit_log where action = 'customer.reveal'`)[0].n;
    const r = await api(supToken, `/customers/${customerId}/profile?reveal=1`);
    expect(r.body.profile.phone).toBe('13812345678');
    expect(r.body.profile.orders[0].address).toContain('文三路100号');
    const rows = await h.deps.sql`select actor_id, target_id from audit_log where action = 'customer.reveal' order by id`;
    expect(rows.length).toBe(before + 1);
    expect(rows.at(-1)!.targetId).toBe(customerId);
    // without reveal, supervisors get the masked view too
    expect((await api(supToken, `/customers/${customerId}/profile`)).body.profile.phone).toBe('138****5678');
  });

  it('an agent of another team may not see the profile at all', async () => {
    expect((await api(outsiderToken, `/customers/${customerId}/profile`)).status).toBe(403);
  });

  it('the profile carries segment, tier, tags, LTV and the rest', async () => {
    const p = (await api(agentToken, `/customers/${customerId}/profile`)).body.profile;
    expect(p.rfm).toMatchObject({ frequency: 1, monetaryFen: 30000, segment: '新客', windowDays: 365 });
    expect(p).toMatchObject({ tier: 'normal', tierName: '普通会员', ltvFen: expect.any(Number) });
    expect(p.ltvFen).toBeGreaterThan(30000);
    for (const k of ['tags', 'carts', 'browsing', 'openTickets', 'csat', 'conversations']) expect(Array.isArray(p[k])).toBe(true);
  });
});

describe('search', () => {
  it.each([
    ['phone in any format', '+86 138-1234-5678', 'phone'],
    ['the sha256 of the phone', createHash('sha256').update('13812345678').digest('hex'), 'phone'],
    ['platform id', 'tb_zhaomin', 'platform_id'],
    ['order number', 'TB-ORDER-42', 'order'],
    ['part of the name', '赵', 'name'],
  ])('finds by %s', async (_, q, matchedBy) => {
    const r = await api(agentToken, `/customers?q=${encodeURIComponent(q)}`);
    expect(r.status).toBe(200);
    expect(r.body.customers[0]).toMatchObject({ id: customerId, matchedBy, phone: '138****5678' });
  });
  it('an empty query is a 400, a miss is an empty list, wildcards are literal', async () => {
    expect((await api(agentToken, '/customers?q=')).status).toBe(400);
    expect((await api(agentToken, '/customers?q=nobody-here')).body.customers).toEqual([]);
    expect((await api(agentToken, '/customers?q=%25')).body.customers).toEqual([]);
  });
});

describe('tags', () => {
  it('an agent adds and removes a manual tag; bad tags are refused', async () => {
    const added = await api(agentToken, `/customers/${customerId}/tags`, { method: 'POST', body: JSON.stringify({ tag: '易过敏' }) });
    expect(added.status).toBe(201);
    expect(added.body.profile.tags).toContainEqual({ tag: '易过敏', source: 'manual' });
    expect((await api(agentToken, `/customers/${customerId}/tags`, { method: 'POST', body: JSON.stringify({ tag: '<script>' }) })).status).toBe(400);
    const removed = await api(agentToken, `/customers/${customerId}/tags/${encodeURIComponent('易过敏')}`, { method: 'DELETE' });
    expect(removed.body.profile.tags).not.toContainEqual({ tag: '易过敏', source: 'manual' });
    expect((await api(agentToken, `/customers/${customerId}/tags/${encodeURIComponent('易过敏')}`, { method: 'DELETE' })).status).toBe(404);
  });
});

describe('merge, split and rules are for supervisors', () => {
  it('manual merge and split through the API', async () => {
    const other = await buildCustomer(h.deps.sql, { name: '赵敏(京东)', identities: [{ kind: 'jd_pin', value: 'jd_zhaomin' }] });
    expect((await api(agentToken, `/customers/${customerId}/merge`, { method: 'POST', body: JSON.stringify({ otherCustomerId: other.id }) })).status).toBe(403);
    const merged = await api(supToken, `/customers/${customerId}/merge`, { method: 'POST', body: JSON.stringify({ otherCustomerId: other.id }) });
    expect(merged.status).toBe(201);
    expect(merged.body.merge).toMatchObject({ survivorId: customerId, mergedId: other.id, moved: { identities: 1 } });
    expect((await api(supToken, `/customers/${other.id}/profile`)).body.profile.id).toBe(customerId);
    const list = await api(supToken, `/customers/${customerId}/merges`);
    expect(list.body.merges).toHaveLength(1);
    expect((await api(agentToken, `/customers/merges/${merged.body.merge.id}/split`, { method: 'POST' })).status).toBe(403);
    const split = await api(supToken, `/customers/merges/${merged.body.merge.id}/split`, { method: 'POST' });
    expect(split.body.merge.splitAt).not.toBeNull();
    expect((await api(supToken, `/customers/${other.id}/profile`)).body.profile.id).toBe(other.id);
    expect((await api(supToken, `/customers/merges/not-a-uuid/split`, { method: 'POST' })).status).toBe(404);
  });

  it('rules: agents read, supervisors change (validated), and the profile follows', async () => {
    const rules = { ...DEFAULT_RULES, segments: [{ name: '金主', mMinFen: 20000 }] };
    expect((await api(agentToken, '/customers/rules', { method: 'PUT', body: JSON.stringify(rules) })).status).toBe(403);
    const bad = await api(supToken, '/customers/rules', { method: 'PUT', body: JSON.stringify({ ...rules, rfmWindowDays: 0 }) });
    expect(bad.status).toBe(400);
    expect((await api(supToken, '/customers/rules', { method: 'PUT', body: JSON.stringify(rules) })).status).toBe(200);
    expect((await api(agentToken, '/customers/rules')).body.rules.segments).toEqual([{ name: '金主', mMinFen: 20000 }]);
    expect((await api(agentToken, `/customers/${customerId}/profile`)).body.profile.rfm.segment).toBe('金主');
    await api(supToken, '/customers/rules', { method: 'PUT', body: JSON.stringify(DEFAULT_RULES) });
  });
});
