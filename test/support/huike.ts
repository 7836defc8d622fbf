import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { parseConfig, type Config } from '../../core/config.ts';
import type { Database } from '../../core/db/client.ts';
import { startHuike, type Huike } from '../../gateway/huike.ts';
import type { WorkerOptions } from '../../gateway/workers/index.ts';
import { testDatabase } from './db.ts';
import { buildKb, TEST_PASSWORD } from './factories.ts';
import { startWechat } from './wechat.ts';
import { testRedisPrefix, dropRedisPrefix } from './redis-prefix.ts';

export { dropRedisPrefix, testRedisPrefix };

export interface TestHuike extends Huike {
  config: Config;
  login(email: string, password?: string): Promise<string>;
  /** A JSON call to `/api/v1{path}` as the agent holding `token`: status and parsed body (null if none). */
  api(token: string, path: string, init?: RequestInit): Promise<{ status: number; body: any }>;
  agentSocket(token: string): Promise<Socket>;
  customerSocket(visitorId?: string): Promise<{ socket: Socket; visitorId: string }>;
  close(): Promise<void>;
}

/** A whole gateway node on a free port over a database of its own (and the real Redis when REDIS_URL is set). */
export async function startTestHuike(
  opts: { database?: Database; env?: Record<string, string>; redisPrefix?: string; workers?: WorkerOptions } = {},
): Promise<TestHuike> {
  // a database passed in belongs to the caller (several nodes share one); ours is dropped on close
  const ownsDatabase = !opts.database;
  const database = opts.database ?? (await testDatabase());
  const parsed = parseConfig({
    PORT: '0',
    DATA_DIR: mkdtempSync(path.join(tmpdir(), 'huike-test-')),
    JWT_SECRET: 'test-secret-test-secret-test-secret-1234',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    REDIS_URL: process.env.REDIS_URL,
    // nodes that share a workspace share a prefix (pass the same one); each node alone has its own
    REDIS_PREFIX: opts.redisPrefix ?? testRedisPrefix(),
    // tests see an agent go offline as their last console closes; the grace has tests of its own
    AGENT_OFFLINE_GRACE_S: '0',
    ...opts.env,
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const huike = await startHuike({ config: parsed.config, database, workers: opts.workers });
  const sockets: Socket[] = [];

  const connect = (nsp: string, auth: Record<string, unknown>) =>
    new Promise<Socket>((resolve, reject) => {
      const s = io(`${huike.url}${nsp}`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
      sockets.push(s);
      s.once('connect', () => resolve(s));
      s.once('connect_error', reject);
    });

  return {
    ...huike,
    config: parsed.config,
    async login(email, password = TEST_PASSWORD) {
      const res = await fetch(`${huike.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
      if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { token: string }).token;
    },
    api(token, path, init = {}) {
      return fetch(`${huike.url}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }).then(async (r) => ({
        status: r.status,
        body: (await r.json().catch(() => null)) as any,
      }));
    },
    async agentSocket(token) {
      const s = await connect('/agent', { token });
      readyPayloads.set(s, await new Promise<{ agentId: string; status: string }>((resolve) => s.once('ready', resolve)));
      return s;
    },
    async customerSocket(visitorId) {
      const sessionP = (s: Socket) => new Promise<string>((resolve) => s.once('session', (e: { visitorId: string }) => resolve(e.visitorId)));
      let socket!: Socket;
      const got = new Promise<string>((resolve, reject) => {
        const s = io(`${huike.url}/customer`, { auth: visitorId ? { visitorId } : {}, transports: ['websocket'], reconnection: false, forceNew: true });
        socket = s;
        sockets.push(s);
        sessionP(s).then(resolve);
        s.once('connect_error', reject);
      });
      return { socket, visitorId: await got };
    },
    async close() {
      for (const s of sockets) s.disconnect();
      await huike.stop();
      if (ownsDatabase) await database.close();
      if (parsed.config.REDIS_URL) await dropRedisPrefix(parsed.config.REDIS_URL, parsed.config.REDIS_PREFIX);
    },
  };
}

const readyPayloads = new WeakMap<Socket, { agentId: string; status: string }>();
/** What the server said when an agent socket of `agentSocket` connected (`ready`: the agent's status). */
export const readyOf = (s: Socket) => readyPayloads.get(s);

/** Resolves with the first event `name` on `socket` that satisfies `match`; fails after `ms`. */
export function nextEvent<T = any>(socket: Socket, name: string, match: (e: T) => boolean = () => true, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(name, handler);
      reject(new Error(`no ${name} event within ${ms} ms`));
    }, ms);
    const handler = (e: T) => {
      if (!match(e)) return;
      clearTimeout(timer);
      socket.off(name, handler);
      resolve(e);
    };
    socket.on(name, handler);
  });
}

export function emitAck<T = any>(socket: Socket, event: string, payload: unknown): Promise<T> {
  return socket.timeout(5000).emitWithAck(event, payload) as Promise<T>;
}

/** A node whose WeChat and WeCom APIs are a started emulator that calls back into it, with a KB the bot has loaded. */
export async function startHuikeOnWechat(opts: { workers?: WorkerOptions; kb?: Parameters<typeof buildKb>[1] } = {}) {
  const { emulator, env } = await startWechat();
  const huike = await startTestHuike({ env, workers: opts.workers });
  emulator.callbackBase = huike.url;
  if (opts.kb) {
    await buildKb(huike.deps.sql, opts.kb);
    await huike.bot.reload();
  }
  return { emulator, huike };
}
