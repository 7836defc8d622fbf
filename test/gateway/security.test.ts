import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_IP } from '../../core/agents/login-guard.ts';
import type { Socket } from 'socket.io-client';
import { buildAgent, buildConversation, buildTeam, TEST_PASSWORD } from '../support/factories.ts';
import { emitAck, nextEvent, startTestHuike, type TestHuike } from '../support/huike.ts';

let h: TestHuike;
let ids: Record<string, string> = {};
let emails: Record<string, string> = {};
beforeAll(async () => {
  h = await startTestHuike();
  const team = await buildTeam(h.deps.sql, { isDefault: true });
  for (const role of ['agent', 'supervisor', 'admin'] as const) {
    const a = await buildAgent(h.deps.sql, { role, teamIds: [team.id] });
    ids[role] = a.id;
    emails[role] = a.email;
  }
  ids.team = team.id;
});
afterAll(() => h?.close());

const login = (email: string, password: string, ip?: string) =>
  fetch(`${h.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(ip ? { 'x-forwarded-for': ip } : {}) },
    body: JSON.stringify({ email, password }),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

describe('login', () => {
  it(`locks an account after ${MAX_FAILURES_PER_ACCOUNT} wrong passwords, even against the right one, and says for how long`, async () => {
    const victim = await buildAgent(h.deps.sql);
    for (let i = 0; i < MAX_FAILURES_PER_ACCOUNT; i++) expect((await login(victim.email, 'wrong-password')).status).toBe(401);
    const locked = await login(victim.email, TEST_PASSWORD);
    expect(locked.status).toBe(423);
    expect(locked.body.error).toMatchObject({ code: 'account_locked', message: expect.stringMatching(/请 1[45] 分钟后再试/) });
    // the lock ends when the window passes; then the right password works and the count starts over
    await h.deps.sql`update login_failures set at = at - interval '16 minutes' where email = ${victim.email}`;
    expect((await login(victim.email, TEST_PASSWORD)).status).toBe(200);
    expect(await h.deps.sql`select 1 from login_failures where email = ${victim.email}`).toHaveLength(0);
  });

  it('slows down one address trying many accounts', async () => {
    await login('spray0@x.test', 'nope');
    const [{ ip }] = await h.deps.sql<{ ip: string }[]>`select ip from login_failures where email = 'spray0@x.test'`;
    await h.deps.sql`insert into login_failures (email, ip) select 'spray' || g || '@x.test', ${ip} from generate_series(1, ${MAX_FAILURES_PER_IP}) g`;
    const r = await login(emails.agent, TEST_PASSWORD);
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe('too_many_attempts');
    await h.deps.sql`delete from login_failures where email like 'spray%'`;
    expect((await login(emails.agent, TEST_PASSWORD)).status).toBe(200);
  });

  it('counts failures against the address the proxy saw, not one the client wrote into X-Forwarded-For', async () => {
    // nginx appends the address it saw; a client rotating made-up ones at the front stays one address
    for (const spoof of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) await login('spoof@x.test', 'nope', `${spoof}, 198.51.100.7`);
    const rows = await h.deps.sql<{ ip: string }[]>`select ip from login_failures where email = 'spoof@x.test'`;
    expect(rows.map((r) => r.ip)).toEqual(['198.51.100.7', '198.51.100.7', '198.51.100.7']);
    await h.deps.sql`delete from login_failures where email = 'spoof@x.test'`;
  });

  it('stores argon2 hashes, never the password', async () => {
    const [row] = await h.deps.sql<{ passwordHash: string }[]>`select password_hash from agents where id = ${ids.agent}`;
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);
    expect(row.passwordHash).not.toContain(TEST_PASSWORD);
  });
});

describe('sessions', () => {
  it('logout revokes that token on every route and closes its sockets; another session of the agent goes on', async () => {
    const a = await h.login(emails.agent);
    const b = await h.login(emails.agent);
    const socketA = await h.agentSocket(a);
    const socketB = await h.agentSocket(b);
    const gone = new Promise<string>((resolve) => socketA.once('disconnect', (reason) => resolve(reason)));
    expect((await h.api(a, '/auth/logout', { method: 'POST' })).status).toBe(204);
    expect(await gone).toBe('io server disconnect');
    expect((await h.api(a, '/conversations')).status).toBe(401);
    expect((await h.api(b, '/conversations')).status).toBe(200);
    expect(socketB.connected).toBe(true);
  });

  it('a disabled agent loses every session at once; role changes are audited and take effect without a new login', async () => {
    const admin = await h.login(emails.admin);
    const victim = await buildAgent(h.deps.sql, { teamIds: [ids.team] });
    const token = await h.login(victim.email);
    const socket = await h.agentSocket(token);
    const gone = new Promise((resolve) => socket.once('disconnect', resolve));

    const promoted = await h.api(admin, `/agents/${victim.id}`, { method: 'PUT', body: JSON.stringify({ role: 'supervisor' }) });
    expect(promoted.body.agent.role).toBe('supervisor');
    expect((await h.api(token, '/reports/dashboard')).status).toBe(200); // the same token, the new role

    expect((await h.api(admin, `/agents/${victim.id}`, { method: 'PUT', body: JSON.stringify({ disabled: true }) })).status).toBe(200);
    await gone;
    expect((await h.api(token, '/conversations')).status).toBe(401);
    expect((await login(victim.email, TEST_PASSWORD)).status).toBe(401);
    const log = await h.deps.sql`select action, details from audit_log where target_id = ${victim.id} and action <> 'agent.login' order by id`;
    expect(log.map((r) => r.action)).toEqual(['agent.role_change', 'agent.disable']);
    expect(log[0].details).toEqual({ from: 'agent', to: 'supervisor' });
    // an admin cannot lock themselves out
    expect((await h.api(admin, `/agents/${ids.admin}`, { method: 'PUT', body: JSON.stringify({ disabled: true }) })).body.error.code).toBe('self_lockout');
  });

  it('a new role or new teams change what open consoles hear at once, without a new login', async () => {
    const admin = await h.login(emails.admin);
    const other = await buildTeam(h.deps.sql);
    const [ours, theirs] = [(await buildConversation(h.deps.sql, { teamId: ids.team })).id, (await buildConversation(h.deps.sql, { teamId: other.id })).id];
    const say = (conversationId: string, text: string) =>
      h.api(admin, `/conversations/${conversationId}/messages`, { method: 'POST', body: JSON.stringify({ text }) }).then((r) => expect(r.status).toBe(201));
    // what one socket hears from both conversations, once a later message to `until` has arrived
    const heard = async (socket: Socket, until: string, text: string) => {
      const got: string[] = [];
      const listen = (e: any) => got.push(e.message.text);
      socket.on('message:new', listen);
      const end = nextEvent(socket, 'message:new', (e) => e.message.text === `${text}-end`);
      await say(ours, `${text}-ours`);
      await say(theirs, `${text}-theirs`);
      await say(until, `${text}-end`);
      await end;
      await new Promise((r) => setTimeout(r, 150));
      socket.off('message:new', listen);
      return got.filter((t) => !t.endsWith('-end')).sort(); // two conversations: no order between them
    };

    const mover = await buildAgent(h.deps.sql, { teamIds: [ids.team] });
    const moverSocket = await h.agentSocket(await h.login(mover.email));
    expect(await heard(moverSocket, ours, 'before')).toEqual(['before-ours']);
    expect((await h.api(admin, `/agents/${mover.id}`, { method: 'PUT', body: JSON.stringify({ teamIds: [other.id] }) })).status).toBe(200);
    expect(await heard(moverSocket, theirs, 'moved')).toEqual(['moved-theirs']);

    const boss = await buildAgent(h.deps.sql, { role: 'supervisor', teamIds: [ids.team] });
    const bossSocket = await h.agentSocket(await h.login(boss.email));
    expect(await heard(bossSocket, ours, 'boss')).toEqual(['boss-ours', 'boss-theirs']);
    const told = nextEvent(bossSocket, 'agent:access');
    expect((await h.api(admin, `/agents/${boss.id}`, { method: 'PUT', body: JSON.stringify({ role: 'agent' }) })).status).toBe(200);
    expect(await told).toEqual({ role: 'agent', teamIds: [ids.team] });
    expect(await heard(bossSocket, ours, 'demoted')).toEqual(['demoted-ours']);
    // and the socket's own calls follow the new role too
    const sync = await emitAck(bossSocket, 'sync', { conversationId: theirs, afterSeq: 0 });
    expect(sync.error?.code).toBe('forbidden');
    expect((await emitAck(bossSocket, 'sync', { conversationId: ours, afterSeq: 0 })).messages.length).toBeGreaterThan(0);
  });

  it('a session ends when its token expires: the API refuses it, and its open console socket is closed right then', async () => {
    // minted with the node's own key, as its login would, but with a short life
    const mint = (expS: number) =>
      new SignJWT({ role: 'agent' }).setProtectedHeader({ alg: 'HS256' }).setSubject(ids.agent).setIssuer('huike').setIssuedAt().setJti(randomUUID()).setExpirationTime(expS).sign(new TextEncoder().encode(h.config.JWT_SECRET!));
    const nowS = () => Math.floor(Date.now() / 1000);
    const expired = await mint(nowS() - 1);
    expect((await h.api(expired, '/auth/me')).status).toBe(401);
    expect(await h.agentSocket(expired).then(() => 'connected', (e: Error & { data?: { code: string } }) => e.data?.code)).toBe('unauthorized');

    const short = await mint(nowS() + 2);
    const socket = await h.agentSocket(short);
    expect((await h.api(short, '/auth/me')).status).toBe(200);
    const reason = await new Promise((resolve) => socket.once('disconnect', resolve));
    expect(reason).toBe('io server disconnect');
    expect((await h.api(short, '/auth/me')).status).toBe(401);
  });

  it('a tampered or foreign token is refused', async () => {
    const t = await h.login(emails.agent);
    const [head, body] = t.split('.');
    const forged = `${head}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), role: 'admin' })).toString('base64url')}.${t.split('.')[2]}`;
    expect((await h.api(forged, '/conversations')).status).toBe(401);
    expect((await h.api('not.a.token', '/conversations')).status).toBe(401);
    const socketErr = await h.agentSocket(forged).then(
      () => 'connected',
      (e: Error & { data?: { code: string } }) => e.data?.code,
    );
    expect(socketErr).toBe('unauthorized');
  });
});

// role policies, route by route: route-policies.test.ts

describe('HTTP hardening', () => {
  it('security headers on pages and API; no CORS for other origins; errors without stack traces', async () => {
    const page = await fetch(`${h.url}/api/v1/health`, { headers: { origin: 'https://evil.example' } });
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await fetch(`${h.url}/api/v1/auth/login`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const bad = await fetch(`${h.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email": ' });
    const text = await bad.text();
    expect(bad.status).toBe(400);
    expect(text).not.toMatch(/at .*\.ts:\d+|node_modules|stack/i);
  });
});
