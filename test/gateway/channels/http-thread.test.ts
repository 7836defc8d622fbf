import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpThread } from '../../../gateway/channels/wx/http-thread.ts';

// The calls to WeChat leave from a thread of their own (gateway/channels/wx/http-thread.ts). What wxRequest makes
// of their answers is tested in wx-api.test.ts, through that thread; here: what happens to calls when the thread
// ends, and that an idle thread lets a process end.
let base = '';
const arrived: string[] = [];
let server: Server;
beforeAll(async () => {
  // /hang never answers
  server = createServer((req, res) => {
    arrived.push(req.url ?? '');
    req.resume();
    if (!req.url?.startsWith('/hang')) req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"errcode":0}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise((r) => server.close(r));
});

const until = async (ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('the HTTP thread', () => {
  it('fails the calls still out when it ends, and the next call starts a new thread', async () => {
    const t = new HttpThread(4);
    arrived.length = 0;
    const out = t.request(`${base}/hang/1`, '{}', 10_000).then(
      () => 'answered',
      (e: Error) => [e.message, performance.now() - started],
    );
    await until(() => arrived.length === 1);
    expect(arrived).toEqual(['/hang/1']);
    const started = performance.now();
    await t.close();
    const [message, after] = (await out) as [string, number];
    expect(message).toBe('HTTP thread closed');
    expect(after).toBeLessThan(1000);
    expect(await t.request(`${base}/cgi-bin/message/custom/send`, '{}', 2_000)).toEqual({ status: 200, text: '{"errcode":0}' });
    await t.close();
  });

  it('never sends a call whose caller was told it failed', async () => {
    const t = new HttpThread(4);
    arrived.length = 0;
    // posted to the thread at the next turn of the event loop: the thread ends before that
    const queued = expect(t.request(`${base}/not-yet`, '{}', 2_000)).rejects.toThrow('HTTP thread closed');
    await t.close();
    await queued;
    expect((await t.request(`${base}/after`, '{}', 2_000)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    expect(arrived).toEqual(['/after']);
    await t.close();
  });

  it('fails a call the client refuses at once alone: the calls in flight beside it are answered', async () => {
    const t = new HttpThread(4);
    const beside = t.request(`${base}/slowly`, '{}', 2_000);
    await expect(t.request('http://[not-a-host/x', '{}', 2_000)).rejects.toThrow('Invalid URL');
    await expect(t.request('ftp://127.0.0.1/x', '{}', 2_000)).rejects.toThrow('Protocol "ftp:" not supported');
    expect((await beside).status).toBe(200);
    await t.close();
  });

  it('lets a process whose calls are answered end by itself', { timeout: 15_000 }, async () => {
    const api = fileURLToPath(new URL('../../../gateway/channels/wx/api.ts', import.meta.url));
    const script = `const { wxRequest } = await import(${JSON.stringify(api)}); console.log(JSON.stringify(await wxRequest(${JSON.stringify(`${base}/cgi-bin/token`)})));`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    const killer = setTimeout(() => child.kill(), 10_000);
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    clearTimeout(killer);
    expect({ code, out: out.trim() }).toEqual({ code: 0, out: '{"errcode":0}' });
  });
});
