import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JSON_LIMIT } from '../../gateway/http/body.ts';
import { buildAgent, buildTeam } from '../support/factories.ts';
import { fingerprint as digest } from '../support/fingerprint.ts';
import { startTestHuike, type TestHuike } from '../support/huike.ts';
import { appRoutes, routeKey } from '../support/routes.ts';

let h: TestHuike;
let admin = '';
beforeAll(async () => {
  h = await startTestHuike();
  const team = await buildTeam(h.deps.sql, { isDefault: true });
  const a = await buildAgent(h.deps.sql, { role: 'admin', teamIds: [team.id] });
  admin = await h.login(a.email);
});
afterAll(() => h?.close());
const fingerprint = () => digest(h.deps.sql);

const UNKNOWN = '00000000-0000-4000-8000-000000000000';
// every public write endpoint, with an id that does not exist where the path has one
const ENDPOINTS: [string, string][] = [
  ['POST', '/auth/login'],
  ['POST', `/conversations/${UNKNOWN}/messages`],
  ['POST', `/conversations/${UNKNOWN}/snooze`],
  ['POST', `/conversations/${UNKNOWN}/resolve`],
  ['POST', `/tickets/${UNKNOWN}/transfer`],
  ['POST', `/tickets/${UNKNOWN}/notes`],
  ['POST', `/tickets/${UNKNOWN}/claim`],
  ['PUT', `/tickets/${UNKNOWN}/status`],
  ['POST', '/kb/entries'],
  ['PUT', '/kb/entries/no-such-entry'],
  ['POST', '/kb/unanswered/999999/resolve'],
  ['POST', '/kb/test'],
  ['PUT', '/kb/synonyms'],
  ['PUT', '/customers/rules'],
  ['POST', `/customers/${UNKNOWN}/tags`],
  ['POST', `/customers/${UNKNOWN}/merge`],
  ['POST', '/playbooks'],
  ['PUT', `/playbooks/${UNKNOWN}`],
  ['POST', '/playbooks/preview'],
  ['PUT', '/recovery/settings'],
  ['POST', `/recovery/runs/${UNKNOWN}/used`],
  ['POST', '/canned'],
  ['PUT', `/canned/${UNKNOWN}`],
  ['PUT', `/teams/${UNKNOWN}`],
  ['PUT', `/agents/${UNKNOWN}`],
  ['POST', '/agents'],
  ['PUT', '/agents/me/password'],
  ['PUT', `/agents/${UNKNOWN}/password`],
  ['POST', `/agents/${UNKNOWN}/unlock`],
  ['POST', '/teams'],
  ['PUT', '/agents/me/status'],
  ['DELETE', `/customers/${UNKNOWN}/tags/vip`],
  ['POST', `/customers/merges/${UNKNOWN}/split`],
  ['DELETE', '/kb/entries/no-such-entry'],
  ['POST', '/kb/import'],
  ['DELETE', `/playbooks/${UNKNOWN}`],
  ['DELETE', `/canned/${UNKNOWN}`],
];
// the write routes whose bad input has a test of its own: a different body format, or no agent token
const ELSEWHERE: Record<string, string> = {
  'POST /api/v1/auth/logout': 'security.test.ts (it takes no body; it revokes the token)',
  'POST /api/v1/commerce/events': 'commerce.test.ts (signed webhook)',
  'POST /channels/web/upload': 'web-upload.test.ts (image bytes)',
  'POST /channels/wecom/callback': 'channels/callback-endpoints.test.ts (signed XML)',
  'POST /channels/miniprogram/callback': 'channels/callback-endpoints.test.ts (signed XML or JSON)',
};

const INJECTIONS = ["' OR 1=1; DROP TABLE messages; --", '<script>alert(1)</script>', '../../../../etc/passwd', '${jndi:ldap://x/a}', 'a\u0000b', '{{constructor.constructor("x")()}}'];
const BODIES: [string, string][] = [
  ['malformed JSON', '{"text": '],
  ['JSON of the wrong shape', '[1, 2, 3]'],
  ['wrong types everywhere', JSON.stringify({ id: 1, text: 42, name: { $ne: 1 }, question: [], minutes: 'abc', status: 7, shortcut: null, trigger: 'x', email: 5, password: [], role: 'root', toAgentId: {}, tag: 9, otherId: 3 })],
  ['injection strings', JSON.stringify({ id: INJECTIONS[0], text: INJECTIONS[1], name: INJECTIONS[2], shortcut: INJECTIONS[3], tag: INJECTIONS[4], email: `${INJECTIONS[0]}@x.y`, password: INJECTIONS[5], status: INJECTIONS[0], minutes: INJECTIONS[0], question: INJECTIONS[1], role: INJECTIONS[0] })],
  ['a body over the limit', JSON.stringify({ text: 'x'.repeat(JSON_LIMIT + 10) })],
];

describe('bad input on every public write endpoint: a clear 4xx, nothing changed', () => {
  it('the list above holds every write route the app serves, or names the test that covers it', () => {
    const pattern = (path: string) => new RegExp(`^${path.replace(/:[A-Za-z]+/g, '[^/]+')}$`);
    const writes = appRoutes(h).filter((r) => r.method !== 'GET');
    const covered = new Set(ENDPOINTS.flatMap(([method, path]) => writes.filter((r) => r.method === method && pattern(r.path).test(`/api/v1${path}`)).map(routeKey)));
    expect(writes.map(routeKey).filter((k) => !covered.has(k) && !ELSEWHERE[k])).toEqual([]);
    expect(Object.keys(ELSEWHERE).filter((k) => !writes.some((r) => routeKey(r) === k))).toEqual([]);
  });

  it.each(ENDPOINTS)('%s %s', async (method, path) => {
    for (const [what, body] of BODIES) {
      const before = await fingerprint();
      const res = await fetch(`${h.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body });
      const text = await res.text();
      // the bot's test box takes any text: odd text is a question (answered, nothing stored), not bad input
      if (path === '/kb/test' && what === 'injection strings') expect(JSON.parse(text).decision).toBe('miss');
      else {
        expect(res.status, `${what}: ${text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${what}: ${text.slice(0, 200)}`).toBeLessThan(500);
        expect(JSON.parse(text).error, what).toMatchObject({ code: expect.any(String), message: expect.any(String) });
      }
      expect(text, what).not.toMatch(/node_modules|\.ts:\d+/);
      expect(await fingerprint(), `${method} ${path} with ${what}`).toEqual(before);
    }
  });

  it('every read route, with malformed query strings and ids: a 4xx or an answer, never a 500, nothing changed', async () => {
    const QUERIES = [
      'limit=abc', 'limit=-1', 'limit=99999999999999999999', 'limit=1&limit=2', 'status=%27%20OR%201%3D1%3B--', 'status[]=a&status[]=b',
      'after=-5', 'after=1e400', 'before=abc', 'days=0', 'days=1e9', `q=${'x'.repeat(3000)}`, 'q=%00', 'reveal=maybe', 'format=exe',
      'playbookId=not-a-uuid', 'customerId=%27', 'mentioned=2', 'mine=yes', '__proto__[x]=1', 'constructor[prototype][x]=1',
    ];
    const reads = appRoutes(h).filter((r) => r.method === 'GET');
    expect(reads.length).toBeGreaterThan(30);
    const before = await fingerprint();
    for (const r of reads) {
      for (const id of [UNKNOWN, 'not-a-uuid', "1';drop table agents;--"]) {
        const path = r.path.replace(/:[A-Za-z]+/g, encodeURIComponent(id));
        for (const q of QUERIES) {
          const res = await fetch(`${h.url}${path}?${q}`, { headers: { authorization: `Bearer ${admin}` } });
          const text = await res.text();
          expect(res.status, `GET ${path}?${q.slice(0, 40)}: ${text.slice(0, 200)}`).toBeLessThan(500);
          expect(text, `GET ${path}?${q.slice(0, 40)}`).not.toMatch(/node_modules|\.ts:\d+|    at /);
        }
        if (!r.path.includes(':')) break;
      }
    }
    // reading changes nothing but the audit of exports, which records who took the KB
    const after = await fingerprint();
    expect({ ...after, auditLog: '' }).toEqual({ ...before, auditLog: '' });
  });

  it('an unanswered question turned into an entry that is not one: 400, the question still open', async () => {
    const [q] = await h.deps.sql<{ id: number }[]>`insert into kb_unanswered (text, decision) values ('能开发票吗', 'miss') returning id`;
    const before = await fingerprint();
    for (const entry of [{ category: '发票' }, { category: '发票', answer: '' }, { id: 'bad id!', category: '发票', answer: '可以' }]) {
      const r = await h.api(admin, `/kb/unanswered/${q.id}/resolve`, { method: 'POST', body: JSON.stringify({ action: 'new_entry', entry }) });
      expect(r.status, JSON.stringify(entry)).toBe(400);
      expect(r.body.error.code).toBe('invalid_request');
    }
    // an unknown question is not found, whatever the entry (its text would have been the new entry's question)
    const unknown = await h.api(admin, '/kb/unanswered/999999/resolve', { method: 'POST', body: JSON.stringify({ action: 'new_entry', entry: { id: 'fp', category: '发票', answer: '可以' } }) });
    expect(unknown.status).toBe(404);
    expect(await fingerprint()).toEqual(before);
  });

  it('text with a NUL character, which PostgreSQL cannot store: 400 on the API, never a 500', async () => {
    const before = await fingerprint();
    const r = await h.api(admin, '/canned', { method: 'POST', body: JSON.stringify({ shortcut: 'nul', title: '空字符', text: 'a\u0000b' }) });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_text');
    expect((await h.api(admin, '/customers?q=%00')).status).toBe(400);
    const file = await fetch(`${h.url}/api/v1/kb/import?format=jsonl`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'text/plain' },
      body: `${JSON.stringify({ id: 'nul', category: '物流', question: '几天\u0000到', answer: '三天' })}\n`,
    });
    expect(file.status).toBe(400);
    expect(((await file.json()) as any).error.code).toBe('invalid_text');
    expect(await fingerprint()).toEqual(before);
  });

  it('the wrong content type and ids that are not ids', async () => {
    const before = await fingerprint();
    for (const [method, path] of ENDPOINTS.filter(([, p]) => p.includes(UNKNOWN))) {
      const wrongType = await fetch(`${h.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${admin}`, 'content-type': 'text/plain' }, body: 'hello' });
      expect(wrongType.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      expect(wrongType.status).toBeLessThan(500);
      for (const id of ['not-a-uuid', "1';drop table agents;--", '%00']) {
        const r = await fetch(`${h.url}/api/v1${path.replace(UNKNOWN, encodeURIComponent(id))}`, { method, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: '{}' });
        expect(r.status, `${method} ${path} id=${id}`).toBeGreaterThanOrEqual(400);
        expect(r.status, `${method} ${path} id=${id}`).toBeLessThan(500);
      }
    }
    expect(await fingerprint()).toEqual(before);
  });
});
