import type { Server as HttpServer } from 'node:http';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { TokenService } from '../../core/agents/tokens.ts';
import type { Deps } from '../../core/deps.ts';
import type { Metrics } from '../metrics.ts';
import { setupAgentNamespace } from './agent-namespace.ts';
import { setupCustomerNamespace } from './customer-namespace.ts';
import { createEmitter } from './emitter.ts';

export interface RealtimeOptions {
  redisUrl?: string;
  /** Redis key prefix for the adapter stream; tests give each instance group its own. */
  streamName?: string;
}

export interface Realtime {
  io: Server;
  emit: ReturnType<typeof createEmitter>;
  close(): Promise<void>;
}

export function createRealtime(http: HttpServer, deps: Deps, tokens: TokenService, metrics: Metrics, opts: RealtimeOptions): Realtime {
  let redis: Redis | undefined;
  const io = new Server(http, {
    maxHttpBufferSize: 256 * 1024,
    serveClient: false,
    // same-origin only: the console and chat page are served by this gateway
    cors: undefined,
  });
  if (opts.redisUrl) {
    redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
    redis.on('error', (err) => deps.log.warn({ err: err.message }, 'redis error'));
    io.adapter(createAdapter(redis, { streamName: opts.streamName ?? 'huike:sio' }));
  }
  setupAgentNamespace(io.of('/agent'), deps, tokens, metrics);
  setupCustomerNamespace(io.of('/customer'), deps, metrics);
  return {
    io,
    emit: createEmitter(io, deps),
    async close() {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      // QUIT after the adapters' last writes (they publish on close); a hard disconnect rejects those unhandled
      await redis?.quit().catch(() => redis?.disconnect());
    },
  };
}
