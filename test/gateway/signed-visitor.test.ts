import { SignJWT } from 'jose';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitAck, startTestHuike, type TestHuike } from '../support/huike.ts';

const SECRET = 'shop-web-chat-secret-0123456789abcdef';
let h: TestHuike;
const sockets: Socket[] = [];
beforeAll(async () => {
  h = await startTestHuike({ env: { WEB_CHAT_SECRET: SECRET } });
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await h?.close();
});

const sign = (sub: string, o: { secret?: string; expS?: number; lifeS?: number } = {}) => {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + (o.expS ?? 600))
    .sign(new TextEncoder().encode(o.secret ?? SECRET));
};

/** The chat page's socket: resolves with the visitor id the server gave, or the refusal's code and message. */
function connect(url: string, auth: Record<string, string>) {
  return new Promise<{ socket: Socket; visitorId?: string; refused?: { code?: string; message: string } }>((resolve) => {
    const socket = io(`${url}/customer`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(socket);
    socket.once('session', (e: { visitorId: string }) => resolve({ socket, visitorId: e.visitorId }));
    socket.once('connect_error', (err: Error & { data?: { code?: string } }) => resolve({ socket, refused: { code: err.data?.code, message: err.message } }));
  });
}

// A shop's signed-in user on the chat page: one customer and one history across devices, never guessable.
describe('identity tokens on /customer', () => {
  it('the same user on two devices is one visitor with one history; their user id alone is somebody else', async () => {
    const phone = await connect(h.url, { identityToken: await sign('shop-user-42') });
    expect(phone.visitorId).toMatch(/^u_[A-Za-z0-9_-]{43}$/);
    expect((await emitAck(phone.socket, 'message:send', { clientMsgId: 'm1', text: '我的快递到哪了' })).ok).toBe(true);

    const laptop = await connect(h.url, { identityToken: await sign('shop-user-42') });
    expect(laptop.visitorId).toBe(phone.visitorId);
    const history = await emitAck<{ ok: boolean; messages: { text: string }[] }>(laptop.socket, 'history', { afterSeq: 0 });
    expect(history.messages.map((m) => m.text)).toContain('我的快递到哪了');

    // a page passing the user id itself as a visitor id gets nothing of theirs
    const guess = await connect(h.url, { visitorId: 'shop-user-42' });
    expect(guess.visitorId).toBe('shop-user-42');
    expect((await emitAck<{ messages: unknown[] }>(guess.socket, 'history', { afterSeq: 0 })).messages).toEqual([]);
    // nor does another user
    expect((await connect(h.url, { identityToken: await sign('shop-user-43') })).visitorId).not.toBe(phone.visitorId);
  });

  it('refuses a forged, expired or overlong token with the reason, rather than serving an anonymous visitor', async () => {
    const identities = async () => (await h.deps.sql`select count(*)::int as n from identities`)[0].n;
    const before = await identities();
    for (const token of [await sign('shop-user-42', { secret: 'another-secret-0123456789abcdefghij' }), await sign('shop-user-42', { expS: -10 }), await sign('shop-user-42', { expS: 7 * 24 * 3600 }), 'not-a-jwt']) {
      const r = await connect(h.url, { identityToken: token });
      expect(r.visitorId).toBeUndefined();
      expect(r.refused).toEqual({ code: 'invalid_identity', message: expect.stringContaining('身份令牌无效或已过期') });
    }
    expect(await identities()).toBe(before);
  });

  it('without WEB_CHAT_SECRET a token is refused as not configured; plain visitors are served as before', async () => {
    const plain = await startTestHuike();
    try {
      const r = await connect(plain.url, { identityToken: await sign('shop-user-42') });
      expect(r.refused?.code).toBe('identity_not_configured');
      expect((await connect(plain.url, {})).visitorId).toMatch(/^v_/);
    } finally {
      await plain.close();
    }
  });
});

// WEB_CHAT_VISITOR_IDS=issued: a page can no longer bring guessable ids of its own.
describe('only issued visitor ids', () => {
  it('a visitor id the server did not give out gets a new one; its own ids and identity tokens’ are kept', async () => {
    const strict = await startTestHuike({ env: { WEB_CHAT_SECRET: SECRET, WEB_CHAT_VISITOR_IDS: 'issued' } });
    try {
      for (const own of ['shop-user-42', 'demo-visitor-0001', `v_${'a'.repeat(23)}`, `u_${'b'.repeat(42)}`]) {
        const r = await connect(strict.url, { visitorId: own });
        expect(r.visitorId).not.toBe(own);
        expect(r.visitorId).toMatch(/^v_[A-Za-z0-9_-]{24}$/);
      }
      const first = await connect(strict.url, {});
      expect((await connect(strict.url, { visitorId: first.visitorId! })).visitorId).toBe(first.visitorId);
      const member = await connect(strict.url, { identityToken: await sign('shop-user-42') });
      expect((await connect(strict.url, { visitorId: member.visitorId! })).visitorId).toBe(member.visitorId);
    } finally {
      await strict.close();
    }
  });
});
