// `npm run bench -- scale`: the issue #9 table. All in one process tree on this machine: a floor (bare node:http +
// WeCom decrypt + one INSERT), Huike end to end (encrypted mini-program callback -> stored -> bot decision -> the
// bot's answer on a connected agent socket), fan-out to 1,000 agent sockets, and the RSS with them connected.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { decrypt } from '@wecom/crypto';
import pino from 'pino';
import { io, type Socket } from 'socket.io-client';
import { createAgent } from '../../core/agents/agents.ts';
import { parseConfig } from '../../core/config.ts';
import { seedDemo } from '../../core/seed/demo.ts';
import { mpSafeJsonCallback } from '../../gateway/channels/emulator/callbacks.ts';
import { startHuike } from '../../gateway/huike.ts';
import { startWechat } from '../support/wechat.ts';
import { benchDatabase, quantile } from './database.ts';

type Row = { name: string; value: string; target: string };
const ms = (x: number) => `${x.toFixed(1)} ms`;

/** Sends `n` requests, `concurrency` at a time; returns msgs/s and per-request latencies. */
async function closedLoop(n: number, concurrency: number, send: (i: number) => Promise<number>) {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) lat.push(await send(i));
    }),
  );
  return { rate: n / ((performance.now() - t0) / 1000), lat };
}

/** Starts one request every 1/rate s for `seconds`, whatever the answers do; returns latencies. */
async function openLoop(rate: number, seconds: number, send: (i: number) => Promise<number>) {
  const total = Math.round(rate * seconds);
  const pending: Promise<number>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(send(i));
  }
  const lat = await Promise.all(pending);
  return { lat, achieved: total / ((performance.now() - t0) / 1000) };
}

export async function scaleBench(rows: Row[]): Promise<void> {
  const N = Number(process.env.SCALE_N ?? 2000);
  const say = (m: string) => process.env.SCALE_DEBUG && console.error(`[scale] ${m}`);
  const wechat = await startWechat();
  const env = wechat.env;
  const keys = { token: env.MP_TOKEN, aesKey: env.MP_AES_KEY, receiveId: env.MP_APPID };

  // (1) the floor
  const floorDb = await benchDatabase();
  await floorDb.sql`create table floor_msgs (id bigserial primary key, msg_id text unique, body text)`;
  const floor = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const outer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const inner = JSON.parse(decrypt(keys.aesKey, outer.Encrypt).message);
        await floorDb.sql`insert into floor_msgs (msg_id, body) values (${String(inner.MsgId)}, ${inner.Content}) on conflict do nothing`;
        res.end('success');
      } catch {
        res.statusCode = 400;
        res.end();
      }
    });
  });
  await new Promise<void>((r) => floor.listen(0, '127.0.0.1', () => r()));
  const floorUrl = `http://127.0.0.1:${(floor.address() as AddressInfo).port}/`;
  const post = async (base: string, i: number, tag: string) => {
    const { query, body } = mpSafeJsonCallback(keys, { ToUserName: keys.receiveId, FromUserName: `oSCALE${tag}${i}`, CreateTime: Math.floor(Date.now() / 1000), MsgType: 'text', Content: `${tag}${i} 多久发货`, MsgId: `${({ f: 6, h: 7, o: 8, x: 9 } as Record<string, number>)[tag]}${String(i).padStart(15, '0')}` });
    const t = performance.now();
    const r = await fetch(`${base}?${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await r.text();
    if (r.status !== 200) throw new Error(`callback ${r.status}`);
    return performance.now() - t;
  };
  say('floor');
  const f = await closedLoop(N, 50, (i) => post(floorUrl, i, 'f'));
  rows.push({ name: `floor: node:http + WeCom decrypt + 1 INSERT, ${N} msgs, 50 in flight`, value: `${Math.round(f.rate)} msgs/s, p50 ${ms(quantile(f.lat, 50))} / p99 ${ms(quantile(f.lat, 99))}`, target: 'reference' });
  floor.close();
  await floorDb.close();

  // (2) Huike end to end
  const db = await benchDatabase();
  await seedDemo(db.sql);
  const parsed = parseConfig({ PORT: '0', DATA_DIR: mkdtempSync(path.join(tmpdir(), 'huike-scale-')), JWT_SECRET: 'bench-secret-bench-secret-bench-secret-1', LOG_LEVEL: 'silent', ...env });
  if (!parsed.ok) throw new Error(parsed.problems.join());
  const huike = await startHuike({ config: parsed.config, database: db, log: pino({ level: 'silent' }), workers: { idleMs: 20 } });
  const callbackUrl = `${huike.url}/channels/miniprogram/callback`;
  await createAgent(db.sql, { email: 'scale@huike.bench', name: '压测主管', password: 'bench-password-1', role: 'supervisor' });
  const login = async () =>
    ((await (await fetch(`${huike.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'scale@huike.bench', password: 'bench-password-1' }) })).json()) as { token: string }).token;
  const token = await login();
  const connect = () =>
    new Promise<Socket>((resolve, reject) => {
      const s = io(`${huike.url}/agent`, { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: false });
      s.once('ready', () => resolve(s));
      s.once('connect_error', reject);
    });
  const watcher = await connect();
  // the bot's answer reaching the agent socket closes each message's clock
  const started = new Map<string, number>();
  const waiting = new Map<string, (t: number) => void>();
  watcher.on('message:new', (e: { conversationId: string; message: { senderType: string; text: string | null } }) => {
    if (e.message.senderType === 'customer' && e.message.text) {
      const key = e.message.text.split(' ')[0];
      const done = waiting.get(key);
      if (done) waiting.set(e.conversationId, done);
    } else if (e.message.senderType === 'bot') waiting.get(e.conversationId)?.(performance.now());
  });
  const endToEnd = async (i: number, tag: string) => {
    const key = `${tag}${i}`;
    const got = new Promise<number>((resolve) => waiting.set(key, resolve));
    const t = performance.now();
    started.set(key, t);
    await post(callbackUrl, i, tag);
    return (await got) - t;
  };
  say('huike closed loop');
  const hc = await closedLoop(N, 50, (i) => endToEnd(i, 'h'));
  rows.push({ name: `Huike end to end (callback -> stored -> bot -> agent socket), ${N} msgs, 50 in flight`, value: `${Math.round(hc.rate)} msgs/s, p50 ${ms(quantile(hc.lat, 50))} / p99 ${ms(quantile(hc.lat, 99))}`, target: '≥ 2,000 msgs/s' });
  rows.push({ name: '  Huike / floor', value: `${((hc.rate / f.rate) * 100).toFixed(0)} %`, target: '≥ 40 %' });
  say('open loop');
  const ol = await openLoop(200, 5, (i) => endToEnd(i, 'o'));
  rows.push({ name: `Huike at a fixed ${200} msgs/s for 5 s (achieved ${Math.round(ol.achieved)})`, value: `p50 ${ms(quantile(ol.lat, 50))} / p99 ${ms(quantile(ol.lat, 99))}`, target: 'p99 ≤ 50 ms at 1,000 msgs/s' });

  // (3) fan-out to 1,000 agent sockets, (4) RSS with them connected
  say('fan-out');
  const rssBefore = process.memoryUsage().rss;
  const sockets: Socket[] = [];
  for (let i = 0; i < 1000; i += 50) sockets.push(...(await Promise.all(Array.from({ length: 50 }, connect))));
  const rssAfter = process.memoryUsage().rss;
  const fan: number[] = [];
  for (let round = 0; round < 5; round++) {
    const t = performance.now();
    const all = Promise.all(sockets.map((s) => new Promise<void>((r) => s.once('message:new', () => r()))));
    await post(callbackUrl, round, 'x');
    await all;
    fan.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 200));
  }
  rows.push({ name: 'fan-out: one customer message to 1,000 agent sockets, all received', value: `median ${ms(quantile(fan, 50))}, worst ${ms(Math.max(...fan))}`, target: 'measure' });
  rows.push({ name: 'RSS of the one process (gateway + 1,000 socket clients + emulator)', value: `${Math.round(rssAfter / 2 ** 20)} MB (+${Math.round((rssAfter - rssBefore) / 2 ** 20)} MB for the sockets)`, target: '≤ 300 MB gateway at 1,000 sockets' });
  for (const s of [...sockets, watcher]) s.disconnect();
  await huike.stop();
  await db.close();
  await wechat.emulator.stop();
}
