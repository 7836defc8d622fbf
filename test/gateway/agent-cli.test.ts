import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from '../../core/agents/agents.ts';
import type { Database } from '../../core/db/client.ts';
import { DEMO_LOGINS, demoLoginsInUse, isEmpty, seedDemo } from '../../core/seed/demo.ts';
import { testDatabase } from '../support/db.ts';
import { buildTeam } from '../support/factories.ts';
import { freePort } from '../support/free-port.ts';
import { startTestHuike } from '../support/huike.ts';

const run = (args: string[], env: Record<string, string>, stdin = '') =>
  new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, ['gateway/bin.js', 'agent', ...args], { env: { ...process.env, ...env, LOG_LEVEL: 'silent' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
    child.stdin.end(stdin);
  });

// `huike agent`: how a real shop gets its first admin (then `huike serve` seeds no demo), and how it gets back in
describe.skipIf(!process.env.DATABASE_URL)('huike agent', { timeout: 60_000 }, () => {
  let db: Database & { url?: string };
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await testDatabase();
    env = { DATABASE_URL: db.url!, HUIKE_PASSWORD: '' };
  });
  afterAll(() => db.close());

  it('adds the first admin of an empty database, who signs in; the demo is then not seeded', async () => {
    expect(await isEmpty(db.sql)).toBe(true);
    const r = await run(['add', '--email', 'Boss@Shop.cn', '--name', '老板', '--role', 'admin'], { ...env, HUIKE_PASSWORD: 'laoban-2026' });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('已创建 / created: boss@shop.cn（老板，admin）');
    const boss = await authenticate(db.sql, 'boss@shop.cn', 'laoban-2026');
    expect(boss.role).toBe('admin');
    expect(boss.mustChangePassword).toBe(false); // typed by its owner on the server, not handed over
    expect(await isEmpty(db.sql)).toBe(false);
    const [log] = await db.sql`select actor_id, action, details from audit_log where target_id = ${boss.id}`;
    expect(log).toMatchObject({ actorId: null, action: 'agent.create', details: { by: 'cli', role: 'admin' } });
  });

  it('then `huike serve` starts on it without demo data, and its banner offers no demo login nor demo customer', async () => {
    const env2: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: db.url!, DATA_DIR: mkdtempSync(path.join(tmpdir(), 'huike-serve-')), PORT: String(await freePort()), LOG_LEVEL: 'warn' };
    delete env2.REDIS_URL;
    const child = spawn(process.execPath, ['gateway/bin.js', 'serve'], { env: env2, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stderr!.on('data', (d) => (out += d));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d) => {
          out += d;
          if (out.includes('/metrics')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`huike serve exited with ${code}:\n${out}`)));
      });
    } finally {
      child.kill('SIGTERM');
    }
    expect(out).toContain('回客 Huike 已启动 (PostgreSQL)');
    expect(out).not.toMatch(/演示账号|老客户演示|已写入演示数据/);
    expect(await db.sql`select count(*)::int as n from customers`).toEqual([{ n: 0 }]);
  });

  it('reads the password from stdin, and puts the agent in the teams named', async () => {
    const team = await buildTeam(db.sql, { name: '售后组' });
    const r = await run(['add', '--email', 'ajie@shop.cn', '--name', '阿杰', '--team', '售后组'], { DATABASE_URL: db.url! }, 'cong-stdin-2026\nignored\n');
    expect(r.code, r.err).toBe(0);
    const ajie = await authenticate(db.sql, 'ajie@shop.cn', 'cong-stdin-2026');
    expect(ajie.role).toBe('agent');
    expect(await db.sql`select team_id from agent_teams where agent_id = ${ajie.id}`).toEqual([{ teamId: team.id }]);
  });

  it('refuses what is wrong, says why without a stack trace, and creates nothing', async () => {
    const count = async () => (await db.sql`select count(*)::int as n from agents`)[0].n;
    const before = await count();
    const cases: [string[], string, number, RegExp][] = [
      [['add', '--email', 'x@shop.cn'], 'long-enough-1', 64, /name.*请填写姓名|姓名/],
      [['add', '--email', 'not-an-email', '--name', '某人'], 'long-enough-1', 64, /邮箱格式不正确/],
      [['add', '--email', 'x@shop.cn', '--name', '某人', '--team', '夜班组'], 'long-enough-1', 1, /客服组不存在.*夜班组.*售后组/],
      [['add', '--email', 'x@shop.cn', '--name', '某人'], '12345678', 1, /密码需包含字母、数字、符号中的至少两种/],
      [['add', '--email', 'boss@shop.cn', '--name', '又一个'], 'long-enough-1', 1, /该邮箱已有客服账号/],
      [['add', '--email'], 'long-enough-1', 64, /--email 缺少取值/],
      [['remove', 'boss@shop.cn'], 'long-enough-1', 64, /huike agent add/],
      [['passwd', 'nobody@shop.cn'], 'long-enough-1', 1, /没有这个账号/],
    ];
    for (const [args, password, code, message] of cases) {
      const r = await run(args, { ...env, HUIKE_PASSWORD: password });
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(code);
      expect(r.err, args.join(' ')).toMatch(message);
      expect(r.err, args.join(' ')).not.toMatch(/\s+at |node_modules/);
    }
    expect(await count()).toBe(before);
  });

  it('passwd: a new password for a locked-out admin, the lockout lifted, their old tokens dead, their open console closed', async () => {
    // a node serving this database, with the admin's console open on it
    const node = await startTestHuike({ database: db });
    const token = await node.login('boss@shop.cn', 'laoban-2026');
    const socket = await node.agentSocket(token);
    const closed = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    await db.sql`insert into login_failures (email, ip) select 'boss@shop.cn', '10.0.0.9' from generate_series(1, 5)`;
    const [{ sessionEpoch }] = await db.sql`select session_epoch from agents where email = 'boss@shop.cn'`;
    const r = await run(['passwd', 'BOSS@shop.cn'], { ...env, HUIKE_PASSWORD: 'zhaohui-2026' });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('已重置密码并解除锁定');
    await authenticate(db.sql, 'boss@shop.cn', 'zhaohui-2026');
    expect(await db.sql`select 1 from login_failures where email = 'boss@shop.cn'`).toHaveLength(0);
    expect((await db.sql`select session_epoch from agents where email = 'boss@shop.cn'`)[0].sessionEpoch).toBe(sessionEpoch + 1);
    // told through PostgreSQL NOTIFY: the CLI has no socket.io adapter of its own
    expect(await closed).toBe('io server disconnect');
    expect((await node.api(token, '/conversations')).status).toBe(401);
    await node.close();
  });
});

describe('the demo logins the banner lists', () => {
  let db: Database;
  beforeAll(async () => {
    db = await testDatabase();
    await seedDemo(db.sql, new Date(), { onlyIfEmpty: true });
  });
  afterAll(() => db.close());

  it('are the demo accounts still on the demo password, enabled', async () => {
    expect((await demoLoginsInUse(db.sql)).map((a) => a.email)).toEqual(DEMO_LOGINS.map((a) => a.email));
    await db.sql`update agents set password_hash = 'changed' where email = ${DEMO_LOGINS[0].email}`;
    await db.sql`update agents set disabled_at = now() where email = ${DEMO_LOGINS[1].email}`;
    expect((await demoLoginsInUse(db.sql)).map((a) => a.email)).toEqual(DEMO_LOGINS.slice(2).map((a) => a.email));
  });
});
