import type { Socket as TcpSocket } from 'node:net';
import type { Server } from 'socket.io';

/**
 * Each socket.io packet is its own websocket frame and, left alone, its own write(2): a supervisor's console
 * receiving the events of a committed batch of ten messages took ten syscalls and woke its reader ten times.
 * The TCP socket is corked at the first flush of a tick and uncorked once the tick's work is done, so the
 * frames of one tick leave in a single writev. Frames are not delayed past the current tick.
 */
export function coalesceWrites(io: Server): void {
  io.engine.on('flush', (socket: { transport?: { socket?: { _socket?: TcpSocket } } }) => {
    // only the websocket transport has a TCP socket of its own (`_socket` of the ws connection); polling writes
    // one HTTP response per flush anyway
    const tcp = socket.transport?.socket?._socket;
    if (!tcp || tcp.writableCorked > 0 || tcp.destroyed) return;
    tcp.cork();
    process.nextTick(() => tcp.uncork());
  });
}
