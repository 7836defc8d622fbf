import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { freePort } from './free-port.ts';

export const REDIS_SERVER = '/usr/bin/redis-server';

/**
 * A Redis server of one test's own, without persistence (as a cache-only Redis runs): a test can kill it and start
 * it again, empty, without touching the server every other test file uses.
 */
export interface PrivateRedis {
  url: string;
  /** SIGKILL: whatever it held is gone, as after a crash or a restart without persistence */
  kill(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection(port, '127.0.0.1');
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => (s.destroy(), resolve(d.toString().startsWith('+PONG'))));
    s.once('error', () => resolve(false));
  });

export async function privateRedis(): Promise<PrivateRedis> {
  if (!existsSync(REDIS_SERVER)) throw new Error(`no ${REDIS_SERVER}`);
  const port = await freePort();
  let proc: ChildProcess | null = null;
  const start = async () => {
    proc = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !(await answers(port)); i++) await new Promise((r) => setTimeout(r, 50));
  };
  const kill = async () => {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, kill, start, close: kill };
}
