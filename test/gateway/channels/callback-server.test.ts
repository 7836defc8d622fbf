import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signPlain } from '../../../gateway/channels/wx/envelope.ts';
import { CALLBACK_LIMIT } from '../../../gateway/channels/wecom-kf/callback.ts';
import { startTestHuike, type TestHuike } from '../../support/huike.ts';
import { vectors } from '../../support/vectors.ts';

// The channels' callbacks are served ahead of the Koa app (gateway/http/callbacks.ts). What the app gives every
// answer, they must give too, and they must take the paths the router took.
const MP = vectors.keysets.MP;
let h: TestHuike;
beforeAll(async () => {
  h = await startTestHuike({ env: { MP_APPID: MP.receiveid, MP_TOKEN: MP.token, MP_AES_KEY: MP.aeskey } });
});
afterAll(() => h?.close());

let msgId = 800000000000000001n;
const signed = () => {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return { signature: signPlain(MP.token, timestamp, '7'), timestamp, nonce: '7' };
};
const textMessage = (from: string) => `{"ToUserName":"gh_x","FromUserName":"${from}","CreateTime":1,"MsgType":"text","Content":"多久发货","MsgId":${msgId++}}`;
const customerMessages = async (from: string) =>
  (await h.deps.sql<{ n: number }[]>`select count(*)::int as n from messages m join identities i on i.id = (select identity_id from conversations where id = m.conversation_id) where i.value = ${from}`)[0].n;
const requestsMetric = async (status: number) => {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`huike_http_requests_total{method="POST",route="/channels/miniprogram/callback",status="${status}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
};

describe('channel callbacks answer as the rest of the app does', () => {
  it('a stored message: 200 success with the request id, the security headers, and a line on /metrics', async () => {
    const before = await requestsMetric(200);
    const res = await fetch(`${h.url}/channels/miniprogram/callback?${new URLSearchParams(signed())}`, { method: 'POST', headers: { 'x-request-id': 'wx-retry-42' }, body: textMessage('oHEADERS') });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('success');
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('x-request-id')).toBe('wx-retry-42');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await customerMessages('oHEADERS')).toBe(1);
    expect(await requestsMetric(200)).toBe(before + 1);
  });

  it('a request id that is not sane is replaced; errors are the app’s JSON error, with the same headers', async () => {
    const res = await fetch(`${h.url}/channels/miniprogram/callback?${new URLSearchParams({ ...signed(), signature: '0'.repeat(40) })}`, { method: 'POST', headers: { 'x-request-id': 'bad id <script>' }, body: textMessage('oREJECTED') });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'bad_signature', message: expect.any(String) });
    expect(await customerMessages('oREJECTED')).toBe(0);
  });

  it('the path as the router matched it: a trailing slash, another case, the absolute form', async () => {
    for (const path of ['/channels/miniprogram/callback/', '/Channels/MiniProgram/Callback']) {
      const from = `oPATH${path.length}${path[1]}`;
      const res = await fetch(`${h.url}${path}?${new URLSearchParams(signed())}`, { method: 'POST', body: textMessage(from) });
      expect(res.status, path).toBe(200);
      expect(await customerMessages(from), path).toBe(1);
    }
    // the absolute form of the request line, as a client talking to a proxy sends it
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(h.url);
      const req = request({ host: u.hostname, port: u.port, path: `${h.url}/channels/miniprogram/callback?${new URLSearchParams(signed())}`, method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(textMessage('oABSOLUTE'));
    });
    expect(status).toBe(200);
    expect(await customerMessages('oABSOLUTE')).toBe(1);
  });

  it('another method: 405 naming the methods it takes, nothing stored', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const res = await fetch(`${h.url}/channels/miniprogram/callback?${new URLSearchParams(signed())}`, { method, body: textMessage('oMETHOD') });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, POST');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('method_not_allowed');
    }
    expect(await customerMessages('oMETHOD')).toBe(0);
  });

  it('a query parameter given twice: 400 invalid_query, nothing stored', async () => {
    const q = new URLSearchParams(signed());
    q.append('signature', '0'.repeat(40));
    const res = await fetch(`${h.url}/channels/miniprogram/callback?${q}`, { method: 'POST', body: textMessage('oTWICE') });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_query');
    expect(await customerMessages('oTWICE')).toBe(0);
  });

  it('a chunked body (no Content-Length) past the limit: 413 once it is read that far, nothing stored', async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const u = new URL(`${h.url}/channels/miniprogram/callback?${new URLSearchParams(signed())}`);
      const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      const chunk = `{"FromUserName":"oCHUNKED","Content":"${'长'.repeat(1000)}`;
      for (let sent = 0; sent <= CALLBACK_LIMIT; sent += Buffer.byteLength(chunk)) req.write(chunk);
      req.end('"}');
    });
    expect(status).toBe(413);
    expect(JSON.parse(body).error.code).toBe('payload_too_large');
    expect(await customerMessages('oCHUNKED')).toBe(0);
  });

  it('a client gone before its body ended: nothing stored, and the node goes on answering', async () => {
    await new Promise<void>((resolve) => {
      const u = new URL(`${h.url}/channels/miniprogram/callback?${new URLSearchParams(signed())}`);
      const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST', headers: { 'content-length': '5000' } });
      req.on('error', () => resolve());
      req.write(textMessage('oGONE').slice(0, 60));
      setTimeout(() => (req.destroy(), resolve()), 100);
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(await customerMessages('oGONE')).toBe(0);
    const res = await fetch(`${h.url}/channels/miniprogram/callback?${new URLSearchParams(signed())}`, { method: 'POST', body: textMessage('oAFTER') });
    expect(res.status).toBe(200);
    expect(await customerMessages('oAFTER')).toBe(1);
  });
});
