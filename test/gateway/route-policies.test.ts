import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgent, buildConversation, buildCustomer, buildTeam, TEST_PASSWORD } from '../support/factories.ts';
import { fingerprint } from '../support/fingerprint.ts';
import { startTestHuike, type TestHuike } from '../support/huike.ts';
import { appRoutes, routeKey } from '../support/routes.ts';

/**
 * Who may call a route:
 * - open: no agent token (channel callbacks and the commerce webhook are signed instead; their own tests say so)
 * - any: every signed-in role
 * - team: every role, but an agent only on what belongs to one of their teams (or is assigned to them)
 * - assignee: every role, but an agent only on what is assigned to them
 * - supervisor: supervisors and admins
 * - admin: admins only
 */
type Access = { open: string } | 'any' | 'team' | 'assignee' | 'supervisor' | 'admin';
type Role = 'agent' | 'supervisor' | 'admin';
/** Where a request's objects belong, seen from the agent: assigned to them, their team's, another team's. */
type Scope = 'assigned' | 'team' | 'other';
interface Request {
  path: string;
  body?: unknown;
  /** a body that is not JSON (an import file) */
  raw?: string;
}
interface Case {
  access: Access;
  request?: (scope: Scope) => Promise<Request>;
  /** a route that ends sessions (logout, a password change) is called in a session of its own, not the role's shared one */
  session?: (role: Role) => Promise<string>;
}

let h: TestHuike;
const tokens = {} as Record<Role, string>;
const ids = {} as Record<'teamA' | 'teamB' | 'agent' | 'colleague' | 'stranger', string>;
const uid = () => randomBytes(4).toString('hex');

// Each request gets objects of its own, so what an allowed call changes never meets the next call.
async function conversation(scope: Scope, o: { ticketStatus?: 'new' | 'assigned' } = {}) {
  const sql = h.deps.sql;
  const team = scope === 'other' ? ids.teamB : ids.teamA;
  const assignee = o.ticketStatus === 'new' ? null : scope === 'assigned' ? ids.agent : scope === 'team' ? ids.colleague : ids.stranger;
  const c = await buildConversation(sql, { teamId: team, assigneeId: assignee });
  const [t] = await sql<{ id: string }[]>`
    insert into tickets (conversation_id, customer_id, reason, status, team_id, assignee_id)
    values (${c.id}, ${c.customerId}, 'handoff', ${o.ticketStatus ?? 'assigned'}, ${team}, ${assignee}) returning id`;
  await sql`insert into customer_tags (customer_id, tag, source) values (${c.customerId}, 'vip', 'manual')`;
  return { conversationId: c.id, ticketId: t.id, customerId: c.customerId };
}
async function playbook() {
  const [p] = await h.deps.sql<{ id: string }[]>`
    insert into playbooks (name, trigger, actions, variants)
    values (${`方案-${uid()}`}, ${h.deps.sql.json({ type: 'cart_abandoned', delayMinutes: 0 })}, ${h.deps.sql.json([{ type: 'suggest' }])},
            ${h.deps.sql.json([{ id: 'A', text: '您的「{{product}}」还在购物车～' }])}) returning id`;
  return p.id;
}
async function recoveryRun(scope: Scope) {
  const { conversationId, customerId } = await conversation(scope);
  const [r] = await h.deps.sql<{ id: string }[]>`
    insert into recovery_runs (playbook_id, customer_id, reason_key, trigger, status, due_at, conversation_id, script, executed_at)
    values (${await playbook()}, ${customerId}, ${uid()}, 'cart_abandoned', 'suggested', now(), ${conversationId}, '还在购物车～', now()) returning id`;
  return r.id;
}
async function kbEntry() {
  const id = `e-${uid()}`;
  await h.deps.sql`insert into kb_entries (id, category, question, answer) values (${id}, '物流', ${`多久发货-${id}`}, '48 小时内')`;
  return id;
}
async function canned() {
  const [c] = await h.deps.sql<{ id: string }[]>`insert into canned_responses (shortcut, title, text) values (${`c${uid()}`}, '问候', '您好') returning id`;
  return c.id;
}
async function merge() {
  const [a, b] = [await buildCustomer(h.deps.sql), await buildCustomer(h.deps.sql)];
  const r = await h.api(tokens.admin, `/customers/${a.id}/merge`, { method: 'POST', body: JSON.stringify({ otherCustomerId: b.id }) });
  expect(r.status).toBe(201);
  return r.body.merge.id as string;
}
const draft = { name: '加购提醒（测试）', trigger: { type: 'cart_abandoned', delayMinutes: 0 }, actions: [{ type: 'suggest' }], variants: [{ id: 'A', text: '您的「{{product}}」还在购物车～' }] };
const current = async (path: string, key: string) => (await h.api(tokens.admin, path)).body[key];

const path = (p: string) => async () => ({ path: p });
const conv = (tail: string, body?: unknown) => async (s: Scope) => ({ path: `/conversations/${(await conversation(s)).conversationId}${tail}`, body });
const ticket = (tail: string, body?: unknown, o?: { ticketStatus: 'new' }) => async (s: Scope) => ({ path: `/tickets/${(await conversation(s, o)).ticketId}${tail}`, body });
const customer = (tail: string, body?: unknown) => async (s: Scope) => ({ path: `/customers/${(await conversation(s)).customerId}${tail}`, body });

// Every route the app serves; a route missing here fails the first test.
const CASES: Record<string, Case> = {
  'GET /channels/wecom/callback': { access: { open: 'channels/callback-endpoints.test.ts: signed by WeCom' } },
  'POST /channels/wecom/callback': { access: { open: 'channels/callback-endpoints.test.ts: signed and encrypted by WeCom' } },
  'GET /channels/miniprogram/callback': { access: { open: 'channels/callback-endpoints.test.ts: signed by WeChat' } },
  'POST /channels/miniprogram/callback': { access: { open: 'channels/callback-endpoints.test.ts: signed by WeChat' } },
  'POST /api/v1/commerce/events': { access: { open: 'commerce.test.ts: HMAC-signed webhook' } },
  'POST /channels/web/upload': { access: { open: 'web-upload.test.ts: the web chat visitor, by visitor id' } },
  'GET /uploads/:name': { access: { open: 'web-upload.test.ts: pictures by content hash' } },
  'GET /healthz': { access: { open: 'http.test.ts: for the load balancer' } },
  'GET /metrics': { access: { open: 'http.test.ts: for Prometheus; METRICS_TOKEN closes it to all but that token' } },
  'POST /api/v1/auth/login': { access: { open: 'security.test.ts: login, lockout' } },

  'POST /api/v1/auth/logout': { access: 'any', request: path('/auth/logout'), session: async (role) => h.login((await h.api(tokens[role], '/auth/me')).body.agent.email) },
  'GET /api/v1/auth/me': { access: 'any', request: path('/auth/me') },
  'GET /api/v1/agents': { access: 'any', request: path('/agents') },
  'PUT /api/v1/agents/me/status': { access: 'any', request: async () => ({ path: '/agents/me/status', body: { status: 'away' } }) },
  'POST /api/v1/agents': { access: 'admin', request: async () => ({ path: '/agents', body: { email: `new-${uid()}@shop.test`, name: '新同事', password: 'kaishi-2026' } }) },
  'PUT /api/v1/agents/me/password': {
    access: 'any',
    request: async () => ({ path: '/agents/me/password', body: { currentPassword: TEST_PASSWORD, newPassword: 'xin-mima-2026' } }),
    // the change ends every other session of the agent: one of their own, so the role's shared token lives on
    session: async (role) => h.login((await buildAgent(h.deps.sql, { role, teamIds: [ids.teamA] })).email),
  },
  'PUT /api/v1/agents/:id/password': { access: 'admin', request: async () => ({ path: `/agents/${(await buildAgent(h.deps.sql)).id}/password`, body: { password: 'chongzhi-2026' } }) },
  'POST /api/v1/agents/:id/unlock': { access: 'admin', request: async () => ({ path: `/agents/${(await buildAgent(h.deps.sql)).id}/unlock` }) },
  'POST /api/v1/teams': { access: 'admin', request: async () => ({ path: '/teams', body: { name: `组-${uid()}` } }) },
  'PUT /api/v1/agents/:id': { access: 'admin', request: async () => ({ path: `/agents/${(await buildAgent(h.deps.sql)).id}`, body: { maxConcurrent: 7 } }) },
  'GET /api/v1/teams': { access: 'any', request: path('/teams') },
  'PUT /api/v1/teams/:id': { access: 'supervisor', request: async () => ({ path: `/teams/${(await buildTeam(h.deps.sql)).id}`, body: { firstResponseMinutes: 5 } }) },

  'GET /api/v1/conversations': { access: 'any', request: path('/conversations') },
  'GET /api/v1/conversations/:id': { access: 'team', request: conv('') },
  'GET /api/v1/conversations/:id/messages': { access: 'team', request: conv('/messages') },
  'GET /api/v1/conversations/:id/suggestions': { access: 'team', request: conv('/suggestions') },
  'POST /api/v1/conversations/:id/messages': { access: 'assignee', request: conv('/messages', { text: '您好，已为您查询' }) },
  'POST /api/v1/conversations/:id/snooze': { access: 'assignee', request: conv('/snooze', { minutes: 30 }) },
  'POST /api/v1/conversations/:id/resolve': { access: 'assignee', request: conv('/resolve', {}) },

  'GET /api/v1/customers': { access: 'any', request: path('/customers?q=13812345678') },
  'GET /api/v1/customers/rules': { access: 'any', request: path('/customers/rules') },
  'PUT /api/v1/customers/rules': { access: 'supervisor', request: async () => ({ path: '/customers/rules', body: await current('/customers/rules', 'rules') }) },
  'GET /api/v1/customers/:id/profile': { access: 'team', request: customer('/profile') },
  'POST /api/v1/customers/:id/tags': { access: 'team', request: customer('/tags', { tag: '爱砍价' }) },
  'DELETE /api/v1/customers/:id/tags/:tag': { access: 'team', request: customer('/tags/vip') },
  'GET /api/v1/customers/:id/merges': { access: 'supervisor', request: customer('/merges') },
  'POST /api/v1/customers/:id/merge': {
    access: 'supervisor',
    request: async (s) => ({ path: `/customers/${(await conversation(s)).customerId}/merge`, body: { otherCustomerId: (await buildCustomer(h.deps.sql)).id } }),
  },
  'POST /api/v1/customers/merges/:mergeId/split': { access: 'supervisor', request: async () => ({ path: `/customers/merges/${await merge()}/split`, body: {} }) },

  'GET /api/v1/kb/entries': { access: 'any', request: path('/kb/entries') },
  'GET /api/v1/kb/entries/:id': { access: 'any', request: async () => ({ path: `/kb/entries/${await kbEntry()}` }) },
  'POST /api/v1/kb/entries': { access: 'supervisor', request: async () => ({ path: '/kb/entries', body: { id: `n-${uid()}`, category: '售后', question: `怎么退货-${uid()}`, answer: '七天无理由' } }) },
  'PUT /api/v1/kb/entries/:id': { access: 'supervisor', request: async () => ({ path: `/kb/entries/${await kbEntry()}`, body: { answer: '24 小时内' } }) },
  'DELETE /api/v1/kb/entries/:id': { access: 'supervisor', request: async () => ({ path: `/kb/entries/${await kbEntry()}` }) },
  'GET /api/v1/kb/categories': { access: 'any', request: path('/kb/categories') },
  'GET /api/v1/kb/export': { access: 'any', request: path('/kb/export') },
  'POST /api/v1/kb/import': {
    access: 'supervisor',
    request: async () => ({ path: '/kb/import?format=jsonl', raw: `${JSON.stringify({ id: `i-${uid()}`, category: '物流', question: `几天到-${uid()}`, answer: '三天' })}\n` }),
  },
  'GET /api/v1/kb/unanswered': { access: 'any', request: path('/kb/unanswered') },
  'POST /api/v1/kb/unanswered/:id/resolve': {
    access: 'supervisor',
    request: async () => {
      const [q] = await h.deps.sql<{ id: number }[]>`insert into kb_unanswered (text, decision) values ('能开发票吗', 'miss') returning id`;
      return { path: `/kb/unanswered/${q.id}/resolve`, body: { action: 'ignore' } };
    },
  },
  'POST /api/v1/kb/test': { access: 'any', request: async () => ({ path: '/kb/test', body: { text: '多久发货' } }) },
  'GET /api/v1/kb/synonyms': { access: 'any', request: path('/kb/synonyms') },
  'PUT /api/v1/kb/synonyms': { access: 'supervisor', request: async () => ({ path: '/kb/synonyms', body: await current('/kb/synonyms', 'shop') }) },

  'GET /api/v1/tickets': { access: 'any', request: path('/tickets') },
  'GET /api/v1/tickets/:id': { access: 'team', request: ticket('') },
  'POST /api/v1/tickets/:id/claim': { access: 'team', request: ticket('/claim', {}, { ticketStatus: 'new' }) },
  'POST /api/v1/tickets/:id/notes': { access: 'team', request: ticket('/notes', { text: '客户要求加急' }) },
  'POST /api/v1/tickets/:id/transfer': { access: 'assignee', request: async (s) => ({ path: `/tickets/${(await conversation(s)).ticketId}/transfer`, body: { toTeamId: ids.teamB } }) },
  'PUT /api/v1/tickets/:id/status': { access: 'assignee', request: ticket('/status', { status: 'pending' }) },

  'GET /api/v1/playbooks': { access: 'any', request: path('/playbooks') },
  'GET /api/v1/playbooks/report': { access: 'any', request: path('/playbooks/report') },
  'POST /api/v1/playbooks/preview': { access: 'supervisor', request: async () => ({ path: '/playbooks/preview', body: draft }) },
  'GET /api/v1/playbooks/:id': { access: 'any', request: async () => ({ path: `/playbooks/${await playbook()}` }) },
  'GET /api/v1/playbooks/:id/preview': { access: 'supervisor', request: async () => ({ path: `/playbooks/${await playbook()}/preview` }) },
  'POST /api/v1/playbooks': { access: 'supervisor', request: async () => ({ path: '/playbooks', body: draft }) },
  'PUT /api/v1/playbooks/:id': { access: 'supervisor', request: async () => ({ path: `/playbooks/${await playbook()}`, body: { ...draft, name: '加购提醒 v2' } }) },
  'DELETE /api/v1/playbooks/:id': { access: 'supervisor', request: async () => ({ path: `/playbooks/${await playbook()}` }) },
  'GET /api/v1/recovery/settings': { access: 'any', request: path('/recovery/settings') },
  'PUT /api/v1/recovery/settings': { access: 'supervisor', request: async () => ({ path: '/recovery/settings', body: await current('/recovery/settings', 'settings') }) },
  'GET /api/v1/recovery/runs': { access: 'supervisor', request: path('/recovery/runs') },
  'GET /api/v1/recovery/tasks': { access: 'any', request: path('/recovery/tasks') },
  'POST /api/v1/recovery/runs/:id/used': { access: 'team', request: async (s) => ({ path: `/recovery/runs/${await recoveryRun(s)}/used`, body: {} }) },

  'GET /api/v1/canned': { access: 'any', request: path('/canned') },
  'POST /api/v1/canned': { access: 'supervisor', request: async () => ({ path: '/canned', body: { shortcut: `hi${uid()}`, title: '问候', text: '您好' } }) },
  'PUT /api/v1/canned/:id': { access: 'supervisor', request: async () => ({ path: `/canned/${await canned()}`, body: { shortcut: `hi${uid()}`, title: '问候', text: '您好呀' } }) },
  'DELETE /api/v1/canned/:id': { access: 'supervisor', request: async () => ({ path: `/canned/${await canned()}` }) },
  'GET /api/v1/reports/dashboard': { access: 'supervisor', request: path('/reports/dashboard') },
  'GET /api/v1/audit': { access: 'admin', request: path('/audit') },
  'GET /api/v1/audit/export': { access: 'admin', request: path('/audit/export') },
  'GET /api/v1/channels': { access: 'any', request: path('/channels') },
};
// the same route, a stricter rule for part of it
const EXTRA: [string, Case][] = [['GET /api/v1/customers/:id/profile?reveal=1', { access: 'supervisor', request: customer('/profile?reveal=1') }]];

/** The calls that prove a rule: who, on whose objects, and whether it must pass. */
function checks(access: Exclude<Access, { open: string }>): [Role, Scope, boolean][] {
  switch (access) {
    case 'any':
      return [['agent', 'other', true], ['supervisor', 'other', true], ['admin', 'other', true]];
    case 'team':
      return [['agent', 'team', true], ['agent', 'other', false], ['supervisor', 'other', true], ['admin', 'other', true]];
    case 'assignee':
      return [['agent', 'assigned', true], ['agent', 'team', false], ['supervisor', 'other', true], ['admin', 'other', true]];
    case 'supervisor':
      // the agent is refused even on their own conversation: the role decides, not the object
      return [['agent', 'assigned', false], ['supervisor', 'other', true], ['admin', 'other', true]];
    case 'admin':
      return [['agent', 'assigned', false], ['supervisor', 'assigned', false], ['admin', 'other', true]];
  }
}

const method = (key: string) => key.split(' ')[0];
async function call(key: string, req: Request, token?: string) {
  const res = await fetch(`${h.url}/api/v1${req.path}`, {
    method: method(key),
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': req.raw === undefined ? 'application/json' : 'text/plain' },
    body: req.raw ?? (req.body === undefined ? undefined : JSON.stringify(req.body)),
  });
  const text = await res.text();
  const json = res.headers.get('content-type')?.startsWith('application/json');
  return { status: res.status, text, error: (json ? JSON.parse(text).error : undefined) as { code: string; message: string } | undefined };
}

beforeAll(async () => {
  // no workers: nothing may change the database behind a refused call's back
  h = await startTestHuike({ env: { SERVICES: 'web' } });
  const sql = h.deps.sql;
  ids.teamA = (await buildTeam(sql, { isDefault: true })).id;
  ids.teamB = (await buildTeam(sql)).id;
  const roles: Role[] = ['agent', 'supervisor', 'admin'];
  for (const role of roles) {
    const a = await buildAgent(sql, { role, teamIds: [ids.teamA] });
    if (role === 'agent') ids.agent = a.id;
    tokens[role] = await h.login(a.email);
  }
  ids.colleague = (await buildAgent(sql, { teamIds: [ids.teamA] })).id;
  ids.stranger = (await buildAgent(sql, { teamIds: [ids.teamB] })).id;
});
afterAll(() => h?.close());

describe('role policies, route by route', () => {
  it('the table names every route the app serves, and no route it does not', () => {
    const served = appRoutes(h).map(routeKey);
    expect(served.filter((k) => !CASES[k])).toEqual([]);
    expect(Object.keys(CASES).filter((k) => !served.includes(k))).toEqual([]);
  });

  it('lists show an agent only their teams’ and their own; a supervisor everything', async () => {
    const mine = await conversation('assigned');
    const ours = await conversation('team');
    const theirs = await conversation('other');
    const listed = async (role: Role, list: 'conversations' | 'tickets', key: 'conversationId' | 'ticketId') => {
      const r = await h.api(tokens[role], `/${list}?limit=100`);
      expect(r.status).toBe(200);
      const got = new Set((r.body[list] as { id: string }[]).map((x) => x.id));
      return [mine, ours, theirs].map((o) => got.has(o[key]));
    };
    expect(await listed('agent', 'conversations', 'conversationId')).toEqual([true, true, false]);
    expect(await listed('supervisor', 'conversations', 'conversationId')).toEqual([true, true, true]);
    expect(await listed('agent', 'tickets', 'ticketId')).toEqual([true, true, false]);
    expect(await listed('supervisor', 'tickets', 'ticketId')).toEqual([true, true, true]);
  });

  const signedIn = [...Object.entries(CASES), ...EXTRA].filter((e): e is [string, Case & { access: Exclude<Access, { open: string }> }] => typeof e[1].access === 'string');

  it.each(signedIn)('%s', async (key, c) => {
    const anonymous = await call(key, await c.request!('other'));
    expect(anonymous.status, `${key} without a token: ${anonymous.text.slice(0, 200)}`).toBe(401);

    for (const [role, scope, allowed] of checks(c.access)) {
      const req = await c.request!(scope);
      const token = c.session ? await c.session(role) : tokens[role];
      const what = `${role} on ${scope === 'other' ? "another team's" : scope === 'team' ? "their team's" : 'their own'} objects: ${key}`;
      if (allowed) {
        const r = await call(key, req, token);
        expect([401, 403], `${what} must pass: ${r.text.slice(0, 200)}`).not.toContain(r.status);
        expect(r.status, `${what}: ${r.text.slice(0, 200)}`).toBeLessThan(500);
      } else {
        const before = await fingerprint(h.deps.sql);
        const r = await call(key, req, token);
        expect(r.status, `${what} must be refused: ${r.text.slice(0, 200)}`).toBe(403);
        expect(r.error?.message, what).toMatch(/[\u4e00-\u9fff]/);
        expect(await fingerprint(h.deps.sql), `${what} changed the database`).toEqual(before);
      }
    }
  });

});
