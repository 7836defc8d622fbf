import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JSON_LIMIT } from '../../gateway/http/body.ts';
import { buildAgent, buildTeam } from '../support/factories.ts';
import { startTestHuike, type TestHuike } from '../support/huike.ts';

let h: TestHuike;
let admin = '';
beforeAll(async () => {
  h = await startTestHuike();
  const team = await buildTeam(h.deps.sql, { isDefault: true });
  const a = await buildAgent(h.deps.sql, { role: 'admin', teamIds: [team.id] });
  admin = await h.login(a.email);
});
afterAll(() => h?.close());

/** Every row count in the database: bad input must leave all of them as they were. */
async function fingerprint(): Promise<Record<string, number>> {
  const tables = await h.deps.sql<{ name: string }[]>`
    select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' and table_name <> 'schema_migrations' order by 1`;
  const [row] = await h.deps.sql.unsafe(`select ${tables.map((t) => `(select count(*)::int from "${t.name}") as "${t.name}"`).join(', ')}`);
  return row as Record<string, number>;
}

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
  ['PUT', '/agents/me/status'],
];

const INJECTIONS = ["' OR 1=1; DROP TABLE messages; --", '<script>alert(1)</script>', '../../../../etc/passwd', '${jndi:ldap://x/a}', 'a\u0000b', '{{constructor.constructor("x")()}}'];
const BODIES: [string, string][] = [
  ['malformed JSON', '{"text": '],
  ['JSON of the wrong shape', '[1, 2, 3]'],
  ['wrong types everywhere', JSON.stringify({ id: 1, text: 42, name: { $ne: 1 }, question: [], minutes: 'abc', status: 7, shortcut: null, trigger: 'x', email: 5, password: [], role: 'root', toAgentId: {}, tag: 9, otherId: 3 })],
  ['injection strings', JSON.stringify({ id: INJECTIONS[0], text: INJECTIONS[1], name: INJECTIONS[2], shortcut: INJECTIONS[3], tag: INJECTIONS[4], email: `${INJECTIONS[0]}@x.y`, password: INJECTIONS[5], status: INJECTIONS[0], minutes: INJECTIONS[0], question: INJECTIONS[1], role: INJECTIONS[0] })],
  ['a body over the limit', JSON.stringify({ text: 'x'.repeat(JSON_LIMIT + 10) })],
];

describe('bad input on every public write endpoint: a clear 4xx, nothing changed', () => {
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
