import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FAILURES_PER_ACCOUNT } from '../../core/agents/login-guard.ts';
import { buildAgent, buildTeam, TEST_PASSWORD } from '../support/factories.ts';
import { startTestHuike, type TestHuike } from '../support/huike.ts';

let h: TestHuike;
let admin = '';
let adminId = '';
let teamId = '';
beforeAll(async () => {
  h = await startTestHuike();
  teamId = (await buildTeam(h.deps.sql, { isDefault: true })).id;
  const a = await buildAgent(h.deps.sql, { role: 'admin', teamIds: [teamId] });
  adminId = a.id;
  admin = await h.login(a.email);
});
afterAll(() => h?.close());

const json = (method: string, body: unknown) => ({ method, body: JSON.stringify(body) });
const login = (email: string, password: string) =>
  fetch(`${h.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) }).then(
    async (r) => ({ status: r.status, body: (await r.json()) as any }),
  );
// what was done to the account, its sign-ins aside
const auditOf = async (id: string) =>
  (await h.deps.sql<{ action: string }[]>`select action from audit_log where target_id = ${id} and action <> 'agent.login' order by id`).map((r) => r.action);
const closed = (s: { once(e: 'disconnect', f: (reason: string) => void): unknown }) => new Promise<string>((resolve) => s.once('disconnect', resolve));

describe('an admin opens accounts', () => {
  it('a new colleague signs in with the first password; the account is audited and listed with its teams', async () => {
    const r = await h.api(admin, '/agents', json('POST', { email: ' XiaoLi@Shop.CN ', name: '小李', role: 'agent', teamIds: [teamId], skills: ['退款'], password: 'kaishi2026' }));
    expect(r.status).toBe(201);
    expect(r.body.agent).toMatchObject({ email: 'xiaoli@shop.cn', name: '小李', role: 'agent', teamIds: [teamId], skills: ['退款'], maxConcurrent: 8, disabled: false });
    const first = await login('xiaoli@shop.cn', 'kaishi2026');
    expect(first.status).toBe(200);
    // a password the admin chose: the console asks its owner for their own
    expect(first.body.agent.mustChangePassword).toBe(true);
    const changed = await h.api(first.body.token, '/agents/me/password', json('PUT', { currentPassword: 'kaishi2026', newPassword: 'wode-mima-2026' }));
    expect((await h.api(changed.body.token, '/auth/me')).body.agent.mustChangePassword).toBe(false);
    expect(await auditOf(r.body.agent.id)).toEqual(['agent.create', 'agent.password_change']);
    const listed = (await h.api(admin, '/agents')).body.agents.find((a: { id: string }) => a.id === r.body.agent.id);
    expect(listed).toMatchObject({ teamIds: [teamId], lockedUntil: null, passwordSetAt: expect.any(String) });
  });

  it('refuses a taken email, an unknown team and a weak password, and then nothing was created', async () => {
    const taken = await buildAgent(h.deps.sql);
    const before = await h.deps.sql`select count(*)::int as n from agents`;
    const base = { email: 'new-one@shop.cn', name: '新人', password: 'kaishi2026' };
    const dup = await h.api(admin, '/agents', json('POST', { ...base, email: taken.email.toUpperCase() }));
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('email_taken');
    const team = await h.api(admin, '/agents', json('POST', { ...base, teamIds: ['00000000-0000-4000-8000-000000000000'] }));
    expect(team.status).toBe(400);
    expect(team.body.error.code).toBe('unknown_team');
    for (const password of ['short1', '12345678', 'abcdefgh']) {
      const weak = await h.api(admin, '/agents', json('POST', { ...base, password }));
      expect(weak.status).toBe(400);
      expect(JSON.stringify(weak.body.error)).toMatch(/密码/);
    }
    expect(await h.deps.sql`select count(*)::int as n from agents`).toEqual(before);
  });

  it('creates teams: the first is the default, a later default takes over, a name is taken once', async () => {
    const fresh = await h.api(admin, '/teams', json('POST', { name: '大促组', categories: ['优惠券'] }));
    expect(fresh.status).toBe(201);
    expect(fresh.body.team).toMatchObject({ name: '大促组', categories: ['优惠券'], isDefault: false });
    const takeover = await h.api(admin, '/teams', json('POST', { name: '夜班组', isDefault: true }));
    expect(takeover.body.team.isDefault).toBe(true);
    const defaults = await h.deps.sql<{ name: string }[]>`select name from teams where is_default`;
    expect(defaults.map((t) => t.name)).toEqual(['夜班组']);
    const dup = await h.api(admin, '/teams', json('POST', { name: '大促组' }));
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('team_name_taken');
    await h.deps.sql`update teams set is_default = (id = ${teamId})`;
  });

  it('lists disabled accounts to admins who ask, and keeps a disabled account’s old tokens dead once enabled again', async () => {
    const victim = await buildAgent(h.deps.sql);
    const old = await h.login(victim.email);
    expect((await h.api(admin, `/agents/${victim.id}`, json('PUT', { disabled: true }))).status).toBe(200);
    const all = (await h.api(admin, '/agents?include=disabled')).body.agents;
    expect(all.find((a: { id: string }) => a.id === victim.id)).toMatchObject({ disabled: true });
    expect((await h.api(admin, '/agents')).body.agents.some((a: { id: string }) => a.id === victim.id)).toBe(false);
    const agent = await h.login((await buildAgent(h.deps.sql)).email);
    expect((await h.api(agent, '/agents?include=disabled')).status).toBe(403);

    expect((await h.api(admin, `/agents/${victim.id}`, json('PUT', { disabled: false }))).status).toBe(200);
    expect((await h.api(old, '/conversations')).status).toBe(401);
    expect((await h.api(await h.login(victim.email), '/conversations')).status).toBe(200);
  });

  it('edits name and skills', async () => {
    const a = await buildAgent(h.deps.sql);
    const r = await h.api(admin, `/agents/${a.id}`, json('PUT', { name: '阿杰（夜班）', skills: ['物流', '发票'] }));
    expect(r.body.agent).toMatchObject({ name: '阿杰（夜班）', skills: ['物流', '发票'] });
  });
});

describe('passwords', () => {
  it('an agent changes their own: the other sessions end, this one goes on with the new token', async () => {
    const a = await buildAgent(h.deps.sql);
    const [here, elsewhere] = [await h.login(a.email), await h.login(a.email)];
    const [hereSocket, elsewhereSocket] = [await h.agentSocket(here), await h.agentSocket(elsewhere)];
    const gone = closed(elsewhereSocket);
    let hereClosed = false;
    hereSocket.once('disconnect', () => (hereClosed = true));

    const r = await h.api(here, '/agents/me/password', json('PUT', { currentPassword: TEST_PASSWORD, newPassword: 'xin-mima-2026' }));
    expect(r.status).toBe(200);
    expect(await gone).toBe('io server disconnect');
    expect((await h.api(elsewhere, '/conversations')).status).toBe(401);
    expect((await h.api(here, '/conversations')).status).toBe(401); // the old token of this session too
    expect((await h.api(r.body.token, '/conversations')).status).toBe(200);
    expect(hereClosed).toBe(false);
    await expect(h.agentSocket(elsewhere)).rejects.toThrow();
    expect((await h.agentSocket(r.body.token)).connected).toBe(true);

    expect((await login(a.email, TEST_PASSWORD)).status).toBe(401);
    expect((await login(a.email, 'xin-mima-2026')).status).toBe(200);
    expect(await auditOf(a.id)).toEqual(['agent.password_change']);
  });

  it('a wrong current password is refused without signing the console out, and counts towards the lockout', async () => {
    const a = await buildAgent(h.deps.sql);
    const token = await h.login(a.email);
    const hash = async () => (await h.deps.sql`select password_hash from agents where id = ${a.id}`)[0].passwordHash;
    const before = await hash();
    const wrong = await h.api(token, '/agents/me/password', json('PUT', { currentPassword: 'not-it', newPassword: 'xin-mima-2026' }));
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe('wrong_password');
    const same = await h.api(token, '/agents/me/password', json('PUT', { currentPassword: TEST_PASSWORD, newPassword: TEST_PASSWORD }));
    expect([same.status, same.body.error.code]).toEqual([400, 'same_password']);
    for (let i = 1; i < MAX_FAILURES_PER_ACCOUNT; i++) await h.api(token, '/agents/me/password', json('PUT', { currentPassword: 'not-it', newPassword: 'xin-mima-2026' }));
    const locked = await h.api(token, '/agents/me/password', json('PUT', { currentPassword: TEST_PASSWORD, newPassword: 'xin-mima-2026' }));
    expect(locked.status).toBe(423);
    expect((await login(a.email, TEST_PASSWORD)).status).toBe(423);
    expect(await hash()).toBe(before);
    expect((await h.api(token, '/conversations')).status).toBe(200);
  });

  it('an admin resets a colleague’s: their sessions end, the lockout lifts, the team page showed it', async () => {
    const a = await buildAgent(h.deps.sql);
    const token = await h.login(a.email);
    const socket = await h.agentSocket(token);
    const gone = closed(socket);
    for (let i = 0; i < MAX_FAILURES_PER_ACCOUNT; i++) await login(a.email, 'guess');
    const listed = async () => (await h.api(admin, '/agents')).body.agents.find((x: { id: string }) => x.id === a.id);
    expect(Date.parse((await listed()).lockedUntil) - Date.now()).toBeGreaterThan(13 * 60_000);

    const r = await h.api(admin, `/agents/${a.id}/password`, json('PUT', { password: 'chongzhi-2026' }));
    expect(r.status).toBe(200);
    expect(await gone).toBe('io server disconnect');
    expect((await h.api(token, '/conversations')).status).toBe(401);
    expect((await listed()).lockedUntil).toBeNull();
    const after = await login(a.email, 'chongzhi-2026');
    expect([after.status, after.body.agent.mustChangePassword]).toEqual([200, true]);
    expect(await auditOf(a.id)).toEqual(['agent.password_reset']);

    const own = await h.api(admin, `/agents/${adminId}/password`, json('PUT', { password: 'chongzhi-2026' }));
    expect([own.status, own.body.error.code]).toEqual([409, 'own_password']);
    expect((await h.api(admin, '/agents/00000000-0000-4000-8000-000000000000/password', json('PUT', { password: 'chongzhi-2026' }))).status).toBe(404);
  });

  it('an admin unlocks an account without changing its password; agents do not see who is locked', async () => {
    const a = await buildAgent(h.deps.sql);
    for (let i = 0; i < MAX_FAILURES_PER_ACCOUNT; i++) await login(a.email, 'guess');
    expect((await login(a.email, TEST_PASSWORD)).status).toBe(423);
    const agent = await h.login((await buildAgent(h.deps.sql)).email);
    expect((await h.api(agent, '/agents')).body.agents.find((x: { id: string }) => x.id === a.id)).not.toHaveProperty('lockedUntil');
    expect((await h.api(admin, `/agents/${a.id}/unlock`, { method: 'POST' })).status).toBe(200);
    expect((await login(a.email, TEST_PASSWORD)).status).toBe(200);
    expect(await auditOf(a.id)).toEqual(['agent.unlock']);
  });
});

describe('the upgrade to session epochs', () => {
  it('a token signed before them (no sv) still works, as epoch 0, until the password changes', async () => {
    const a = await buildAgent(h.deps.sql);
    const old = await new SignJWT({ role: 'agent' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(a.id)
      .setIssuer('huike')
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(h.config.JWT_SECRET!));
    expect((await h.api(old, '/auth/me')).status).toBe(200);
    expect((await h.agentSocket(old)).connected).toBe(true);
    expect((await h.api(admin, `/agents/${a.id}/password`, json('PUT', { password: 'chongzhi-2026' }))).status).toBe(200);
    expect((await h.api(old, '/auth/me')).status).toBe(401);
  });
});

describe('the last admin', () => {
  it('two admins demoting each other at once: one wins, the other is refused, an admin is left', async () => {
    for (let round = 0; round < 3; round++) {
      const [a, b] = [await buildAgent(h.deps.sql, { role: 'admin' }), await buildAgent(h.deps.sql, { role: 'admin' })];
      // the suite's own admin would remain whatever happens: out of the way for this round
      await h.deps.sql`update agents set disabled_at = now() where role = 'admin' and id <> all(${[a.id, b.id]}::uuid[])`;
      const [ta, tb] = [await h.login(a.email), await h.login(b.email)];
      const results = await Promise.all([
        h.api(ta, `/agents/${b.id}`, json('PUT', { role: 'agent' })),
        h.api(tb, `/agents/${a.id}`, json('PUT', { disabled: true })),
      ]);
      // refused by the lock (409 last_admin), or, where the requests did not overlap (the embedded database has
      // one connection), by the role check of an admin who is none any more (403)
      const [won, refused] = [...results].sort((x, y) => x.status - y.status);
      expect(won.status).toBe(200);
      expect([refused.status, refused.body.error.code]).toEqual(refused.status === 403 ? [403, 'forbidden'] : [409, 'last_admin']);
      const left = await h.deps.sql`select id from agents where role = 'admin' and disabled_at is null`;
      expect(left).toHaveLength(1);
      await h.deps.sql`update agents set disabled_at = null where id = ${adminId}`;
    }
  });
});
