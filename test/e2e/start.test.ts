import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io } from 'socket.io-client';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_LOGINS, DEMO_PASSWORD } from '../../core/seed/demo.ts';
import { freePort } from '../support/free-port.ts';

// `npm start` as a new user runs it: embedded PGlite (no DATABASE_URL, no REDIS_URL), a fresh data dir.

function start(dataDir: string, port: number): { child: ChildProcess; banner: Promise<string> } {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  delete env.JWT_SECRET;
  // through the shebang, as `npx huike serve` runs it (`env -S node --max-semi-space-size=32`)
  const child = spawn('gateway/bin.js', ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const banner = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('演示账号')) resolve(out);
    });
    child.stderr!.on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`huike serve exited with ${code}:\n${out}`)));
  });
  return { child, banner };
}

/** Runs a one-shot `huike` command against the same data dir; resolves with its output, rejects on failure. */
function run(dataDir: string, args: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir };
  delete env.DATABASE_URL;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['gateway/bin.js', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`huike ${args.join(' ')} exited ${code}: ${out}`))));
  });
}

const stop = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });

describe('npm start on the embedded database', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'huike-start-'));
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('migrates, seeds once, prints URLs and logins, serves, and keeps data across restarts', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const first = start(dataDir, port);
    children.push(first.child);
    const banner = await first.banner;
    expect(banner).toContain(`http://localhost:${port}/`);
    expect(banner).toContain(`http://localhost:${port}/chat`);
    expect(banner).toContain('已写入演示数据');
    for (const a of DEMO_LOGINS) expect(banner).toContain(a.email);

    const base = `http://127.0.0.1:${port}`;
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ ok: true });
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'xiaomei@huike.demo', password: DEMO_PASSWORD }),
    });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };

    // the seeded KB answers on the customer channel
    const customer = io(`${base}/customer`, { transports: ['websocket'], reconnection: false });
    const answer = new Promise<{ message: { text: string } }>((resolve) =>
      customer.on('message:new', (e) => e.message.senderType === 'bot' && resolve(e)),
    );
    await new Promise((r) => customer.once('session', r));
    const ack = await customer.timeout(5000).emitWithAck('message:send', { clientMsgId: 's1', text: '满多少包邮' });
    expect(ack.ok).toBe(true);
    expect((await answer).message.text).toContain('99');
    customer.disconnect();

    // demo mode: a simulated WeCom customer goes through the emulator, the encrypted callback, sync and the bot
    const sim = await run(dataDir, ['simulate', 'wecom', '满多少包邮', '--from', '测试小王']);
    expect(sim).toContain('回调状态 200');
    const admin = (await (
      await fetch(`${base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'admin@huike.demo', password: DEMO_PASSWORD }),
      })
    ).json()) as { token: string };
    let wecom: { customerName: string; lastText: string } | undefined;
    for (let i = 0; i < 50 && !wecom?.lastText?.includes('99'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      const list = (await (await fetch(`${base}/api/v1/conversations`, { headers: { authorization: `Bearer ${admin.token}` } })).json()) as {
        conversations: { channel: string; customerName: string; lastText: string }[];
      };
      wecom = list.conversations.find((c) => c.channel === 'wecom_kf');
    }
    expect(wecom).toMatchObject({ customerName: '测试小王', lastText: expect.stringContaining('99') });

    expect(await stop(first.child)).toBe(0);

    // a restart finds its data: no second seed, and the token signed before still works
    const second = start(dataDir, port);
    children.push(second.child);
    expect(await second.banner).not.toContain('已写入演示数据');
    const me = await fetch(`${base}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    const convs = (await (await fetch(`${base}/api/v1/conversations`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      conversations: unknown[];
    };
    expect(Array.isArray(convs.conversations)).toBe(true);
    expect(await stop(second.child)).toBe(0);
  });

  it('gives node the same flags through `npm start` and through `npx huike`', () => {
    const shebang = readFileSync('gateway/bin.js', 'utf8').split('\n')[0];
    const startScript = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }).scripts.start;
    const flags = (line: string) => line.split(' ').filter((a) => a.startsWith('--'));
    expect(flags(shebang)).toContain('--max-semi-space-size=32');
    expect(flags(startScript)).toEqual(flags(shebang));
  });
});
