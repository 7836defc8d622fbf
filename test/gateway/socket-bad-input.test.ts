import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgent, buildTeam } from '../support/factories.ts';
import { fingerprint } from '../support/fingerprint.ts';
import { emitAck, startTestHuike, type TestHuike } from '../support/huike.ts';

// Every event a client may send, on both namespaces; a handler added later and not listed fails the first test.
// `accepts`: payloads that are legitimately valid for that event (history's argument is optional).
const EVENTS: Record<string, { ns: '/customer' | '/agent'; acked: boolean; accepts?: string[] }> = {
  'message:send': { ns: '/customer', acked: true },
  history: { ns: '/customer', acked: true, accepts: ['nothing', 'null', 'an unknown id', 'prototype keys'] },
  typing: { ns: '/customer', acked: false },
  'presence:set': { ns: '/agent', acked: true },
  sync: { ns: '/agent', acked: true },
};
const UNKNOWN = '00000000-0000-4000-8000-000000000000';
const PAYLOADS: [string, unknown][] = [
  ['nothing', undefined],
  ['null', null],
  ['a number', 42],
  ['a string', "' OR 1=1; DROP TABLE messages; --"],
  ['an array', [1, 2, 3]],
  ['wrong types', { clientMsgId: 7, text: 42, afterSeq: 'abc', status: [], conversationId: { $ne: 1 }, image: true }],
  [
    'injection strings',
    { clientMsgId: "' OR 1=1; --", text: '', afterSeq: -1, status: '<script>alert(1)</script>', conversationId: "1';drop table agents;--", image: '/uploads/../../etc/passwd' },
  ],
  ['an unknown id', { conversationId: UNKNOWN, afterSeq: 0 }],
  ['prototype keys', JSON.parse('{"__proto__": {"admin": true}, "constructor": {"prototype": {"polluted": 1}}}')],
];

let h: TestHuike;
let token = '';
const open: Socket[] = [];
beforeAll(async () => {
  // no workers: nothing may change the database behind a refused event's back
  h = await startTestHuike({ env: { SERVICES: 'web' } });
  const team = await buildTeam(h.deps.sql, { isDefault: true });
  token = await h.login((await buildAgent(h.deps.sql, { teamIds: [team.id] })).email);
});
afterAll(async () => {
  for (const s of open) s.disconnect();
  await h?.close();
});

async function connect(ns: '/customer' | '/agent'): Promise<Socket> {
  if (ns === '/agent') return h.agentSocket(token);
  const { socket } = await h.customerSocket();
  return socket;
}
/** A valid call on the same socket still works: bad input never leaves the connection broken. */
async function stillWorks(socket: Socket, ns: '/customer' | '/agent') {
  const r = ns === '/agent' ? await emitAck(socket, 'presence:set', { status: 'online' }) : await emitAck(socket, 'history', {});
  expect(r.ok).toBe(true);
}

describe('bad input on every socket event: an error ack, nothing changed, the connection still usable', () => {
  it('the list above holds every event the namespaces listen to', async () => {
    const agent = await connect('/agent');
    const customer = await connect('/customer');
    open.push(agent, customer);
    const listened = (ns: string, id: string) => {
      const s = h.realtime.io.of(ns).sockets.get(id);
      return (s?.eventNames() ?? []).map(String).filter((e) => !['disconnect', 'disconnecting', 'error'].includes(e));
    };
    const served = [...listened('/agent', agent.id!).map((e) => `/agent ${e}`), ...listened('/customer', customer.id!).map((e) => `/customer ${e}`)];
    expect(served.sort()).toEqual(Object.entries(EVENTS).map(([e, d]) => `${d.ns} ${e}`).sort());
  });

  it.each(Object.entries(EVENTS))('%s', async (event, { ns, acked, accepts = [] }) => {
    for (const [what, payload] of PAYLOADS) {
      // a socket per payload: the customer side's rate limit would otherwise refuse the later ones for that reason
      const socket = await connect(ns);
      open.push(socket);
      const before = await fingerprint(h.deps.sql);
      if (acked) {
        const r = await emitAck(socket, event, payload);
        if (accepts.includes(what)) expect(r.ok, `${event} with ${what}`).toBe(true);
        else {
          expect(r, `${event} with ${what}`).toMatchObject({ ok: false, error: { code: expect.any(String) } });
          expect(r.error.message, `${event} with ${what}`).toMatch(/[\u4e00-\u9fff]/);
        }
        expect(JSON.stringify(r)).not.toMatch(/node_modules|\.ts:\d+|at .*\(/);
      } else {
        socket.emit(event, payload);
        await emitAck(socket, 'history', {}); // events are handled in order: the bad one has been taken
      }
      expect(await fingerprint(h.deps.sql), `${event} with ${what} changed the database`).toEqual(before);
      await stillWorks(socket, ns);
    }
  });

  it('a payload over the size limit closes that connection and stores nothing; new connections are served', async () => {
    for (const ns of ['/customer', '/agent'] as const) {
      const socket = await connect(ns);
      open.push(socket);
      const before = await fingerprint(h.deps.sql);
      const closed = new Promise<string>((resolve) => socket.once('disconnect', resolve));
      socket.emit(ns === '/agent' ? 'sync' : 'message:send', { clientMsgId: 'big', conversationId: UNKNOWN, afterSeq: 0, text: 'x'.repeat(300 * 1024) });
      expect(await closed).toBe('transport close');
      expect(await fingerprint(h.deps.sql)).toEqual(before);
      const next = await connect(ns);
      open.push(next);
      await stillWorks(next, ns);
    }
  });

  it('prototype keys never reach Object.prototype', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});
