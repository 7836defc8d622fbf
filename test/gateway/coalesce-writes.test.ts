import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo, Socket as TcpSocket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { coalesceWrites } from '../../gateway/realtime/coalesce-writes.ts';

// a socket.io server with one websocket client; `writes` counts the server's writes to that client's TCP socket
async function pair(coalesce: boolean) {
  const http: HttpServer = createServer();
  const server = new Server(http, { serveClient: false });
  if (coalesce) coalesceWrites(server);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const joined = new Promise<{ tcp: TcpSocket; emit: (n: number) => void }>((resolve) =>
    server.on('connection', (s) => {
      s.join('room');
      const tcp = (s.conn as unknown as { transport: { socket: { _socket: TcpSocket } } }).transport.socket._socket;
      resolve({ tcp, emit: (n) => server.to('room').emit('tick', { n }) });
    }),
  );
  const client: Socket = connect(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
  const { tcp, emit } = await joined;
  await new Promise<void>((r) => (client.connected ? r() : client.once('connect', () => r())));
  const counts = { writes: 0 };
  for (const method of ['_write', '_writev'] as const) {
    const original = tcp[method]!.bind(tcp) as (...a: unknown[]) => void;
    (tcp as unknown as Record<string, unknown>)[method] = (...a: unknown[]) => {
      counts.writes++;
      return original(...a);
    };
  }
  const received: number[] = [];
  client.on('tick', (e: { n: number }) => received.push(e.n));
  return {
    emit,
    counts,
    received,
    close: async () => {
      client.disconnect();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('socket.io frames of one tick leave in one write', () => {
  let close: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(close.map((c) => c()));
    close = [];
  });

  it('sends 20 events emitted in one tick in at most 3 writes, all of them, in order (one write per event without it)', async () => {
    const results: Record<string, number> = {};
    for (const coalesce of [false, true]) {
      const p = await pair(coalesce);
      close.push(p.close);
      for (let i = 0; i < 20; i++) p.emit(i);
      await expect.poll(() => p.received.length).toBe(20);
      expect(p.received).toEqual(Array.from({ length: 20 }, (_, i) => i));
      results[String(coalesce)] = p.counts.writes;
    }
    expect(results.false).toBeGreaterThanOrEqual(20);
    expect(results.true).toBeLessThanOrEqual(3);
  });

  it('does not hold a frame back: events of later ticks arrive one by one, each before the next is sent', async () => {
    const p = await pair(true);
    close.push(p.close);
    for (let i = 0; i < 5; i++) {
      p.emit(i);
      await expect.poll(() => p.received.length, { timeout: 1000, interval: 5 }).toBe(i + 1);
    }
    expect(p.received).toEqual([0, 1, 2, 3, 4]);
  });
});
