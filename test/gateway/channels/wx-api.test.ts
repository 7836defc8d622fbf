import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_SOCKETS, apiUrl, WxApiError, WxTransportError, wxRequest } from '../../../gateway/channels/wx/api.ts';

// Every call to WeChat and WeCom leaves through wxRequest (gateway/channels/wx/api.ts): each must reach its own
// server, with its path, query and body, whatever the configured base looks like, and its errors must name the
// call without the access token (they are logged and shown to agents as delivery reasons).
type Seen = { server: string; method: string; url: string; body: string };
const seen: Seen[] = [];
const servers: Server[] = [];

function serve(name: string, host: string, answer: (req: IncomingMessage) => { status: number; body: string }): Promise<string> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ server: name, method: req.method ?? '', url: req.url ?? '', body });
      const a = answer(req);
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(a.body);
    });
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(0, host, () => resolve(String((server.address() as AddressInfo).port))));
}

const ok = () => ({ status: 200, body: '{"errcode":0,"errmsg":"ok"}' });
// a machine without IPv6 loopback skips that case rather than failing on its own network
const ipv6 = await new Promise<boolean>((resolve) => {
  const probe = createServer();
  probe.once('error', () => resolve(false));
  probe.listen(0, '::1', () => probe.close(() => resolve(true)));
});
let a = '';
let b = '';
let v6 = '';
let slow = '';
beforeAll(async () => {
  // answers after 300 ms; /hang never does
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/hang')) return;
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"errcode":0}'), 300);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  slow = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  a = `http://127.0.0.1:${await serve('a', '127.0.0.1', ok)}`;
  b = `http://127.0.0.1:${await serve('b', '127.0.0.1', (req) => (req.url?.startsWith('/fail') ? { status: 502, body: 'bad gateway' } : req.url?.startsWith('/errcode') ? { status: 200, body: '{"errcode":45015,"errmsg":"response out of time limit"}' } : ok()))}`;
  if (ipv6) v6 = `http://[::1]:${await serve('v6', '::1', ok)}`;
});
afterAll(() =>
  Promise.all(
    servers.map((s) => {
      s.closeAllConnections();
      return new Promise((r) => s.close(r));
    }),
  ),
);

describe('wxRequest', () => {
  it('sends each call to its own origin, with its path, query and JSON body', async () => {
    seen.length = 0;
    await wxRequest(apiUrl(a, 'cgi-bin/message/custom/send', { access_token: 'TOKEN-A' }), { touser: 'oA', text: { content: '你好' } });
    await wxRequest(apiUrl(b, 'cgi-bin/kf/send_msg', { access_token: 'TOKEN-B' }), { touser: 'wmB' });
    await wxRequest(apiUrl(`${a}/`, 'cgi-bin/token', { grant_type: 'client_credential', appid: 'wx1', secret: 's p&c' }));
    expect(seen).toEqual([
      { server: 'a', method: 'POST', url: '/cgi-bin/message/custom/send?access_token=TOKEN-A', body: JSON.stringify({ touser: 'oA', text: { content: '你好' } }) },
      { server: 'b', method: 'POST', url: '/cgi-bin/kf/send_msg?access_token=TOKEN-B', body: JSON.stringify({ touser: 'wmB' }) },
      { server: 'a', method: 'GET', url: '/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=s+p%26c', body: '' },
    ]);
  });

  it.skipIf(!ipv6)('reaches an API base written as an IPv6 literal', async () => {
    seen.length = 0;
    await wxRequest(apiUrl(v6, 'cgi-bin/kf/send_msg', { access_token: 'T6' }), { touser: 'x' });
    expect(seen.map((s) => [s.server, s.url])).toEqual([['v6', '/cgi-bin/kf/send_msg?access_token=T6']]);
  });

  it('names the failed call by its path, never with the access token; 5xx and errcodes keep their kinds', async () => {
    const failed = await wxRequest(apiUrl(b, 'fail/send', { access_token: 'SECRET-TOKEN' }), {}).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(WxTransportError);
    expect((failed as Error).message).toBe('/fail/send answered HTTP 502');
    const refused = await wxRequest(apiUrl('http://127.0.0.1:9', 'cgi-bin/x', { access_token: 'SECRET-TOKEN' }), {}).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WxTransportError);
    expect((refused as Error).message).toMatch(/^request to \/cgi-bin\/x failed: .*ECONNREFUSED/);
    expect(`${(failed as Error).message} ${(refused as Error).message}`).not.toContain('SECRET-TOKEN');
    const wx = await wxRequest(apiUrl(b, 'errcode/send', { access_token: 'T' }), {}).catch((e: unknown) => e);
    expect(wx).toBeInstanceOf(WxApiError);
    expect((wx as WxApiError).errcode).toBe(45015);
  });

  it('sends a call once more when its connection is closed under it before any answer', async () => {
    let calls = 0;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        // the second call finds its kept-alive connection closed by the server as it arrives
        if (++calls === 2) return void req.socket.destroy();
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"errcode":0}');
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect(await wxRequest(apiUrl(base, 'cgi-bin/message/custom/send', {}), { n: 1 })).toEqual({ errcode: 0 });
    expect(await wxRequest(apiUrl(base, 'cgi-bin/message/custom/send', {}), { n: 2 })).toEqual({ errcode: 0 });
    expect(calls).toBe(3);
  });

  // OUTBOX_LEASE_S is at least twice WX_API_TIMEOUT_MS so that a token fetch and then the send end before the lease
  // does: another node would send the message again. So a call's timeout counts its wait for a connection too
  it('fails a call within its timeout even when it waited for one of the connections; answered calls go through', { timeout: 10_000 }, async () => {
    const started = performance.now();
    const hung = await Promise.all(
      Array.from({ length: API_SOCKETS + 36 }, () => wxRequest(apiUrl(slow, 'hang', {}), {}, 500).then(() => performance.now() - started, (e: Error) => [e.message, performance.now() - started] as const)),
    );
    expect(new Set(hung.map((h) => (Array.isArray(h) ? h[0] : 'answered')))).toEqual(new Set(['request to /hang failed: no answer within 500 ms']));
    expect(Math.max(...hung.map((h) => (Array.isArray(h) ? h[1] : Infinity)))).toBeLessThan(850);
    const answered = await Promise.all(Array.from({ length: 8 }, () => wxRequest(apiUrl(slow, 'cgi-bin/message/custom/send', {}), {}, 2_000)));
    expect(answered).toEqual(Array.from({ length: 8 }, () => ({ errcode: 0 })));
  });
});
