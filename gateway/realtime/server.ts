import type { Server as HttpServer } from 'node:http';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { TokenService } from '../../core/agents/tokens.ts';
import type { Deps } from '../../core/deps.ts';
import { settleWithin, within } from '../../core/time-limit.ts';
import type { Metrics } from '../metrics.ts';
import { setupAgentNamespace } from './agent-namespace.ts';
import { setupCustomerNamespace } from './customer-namespace.ts';
import { createEmitter } from './emitter.ts';
import { coalesceWrites } from './coalesce-writes.ts';
import { rooms } from './rooms.ts';

export interface RealtimeOptions {
  redisUrl?: string;
  /** REDIS_PREFIX: the workspace's space in Redis, for the adapter's stream, channels and session keys. */
  redisPrefix: string;
  /** This node among the gateway nodes (gateway/node-heartbeat.ts): where its consoles are. */
  nodeId: string;
  /** WEB_CHAT_SECRET: verifies the identity tokens of a shop's signed-in users on the chat page. */
  webChatSecret?: string;
  /** WEB_CHAT_VISITOR_IDS: whether the chat page may bring visitor ids of its own. */
  webChatVisitorIds?: 'any' | 'issued';
}

export interface Realtime {
  io: Server;
  /** This node among the gateway nodes. */
  nodeId: string;
  emit: ReturnType<typeof createEmitter>;
  /** Resolves once the Redis adapter's subscriptions are live (at once without Redis). */
  ready: Promise<void>;
  /** The agents of `agentIds` with a console open on any node, each with that node (null: a node that does not say). */
  findConsoles(agentIds: string[]): Promise<Map<string, string | null>>;
  /** Closes this node's sockets; resolves once their agents' presence bookkeeping has landed. */
  close(): Promise<void>;
}

const NAMESPACES = ['/', '/agent', '/customer'];
const ASK_MS = 5000;

// the adapter's pub/sub channels: `<prefix>#<namespace>#`
const channelPrefix = (redisPrefix: string) => `${redisPrefix}sio`;

/**
 * The adapter subscribes on its own Redis connection without awaiting or catching it; closing before those
 * SUBSCRIBEs ran rejects them unhandled. So a node counts as started only when Redis reports a subscriber on each
 * namespace's private channel (`<prefix>#<namespace>#<uid>#`): the public channels count every node's subscribers,
 * and with another node up they are non-zero before this one has subscribed at all. If that does not happen in
 * `timeoutMs` the node starts anyway (it serves its own sockets) but says so: its sockets may miss other nodes' events.
 */
export async function adapterSubscribed(redis: Redis, channels: string[], log: Deps['log'], timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = (await redis.pubsub('NUMSUB', ...channels)) as (string | number)[];
    const missing = channels.filter((_, i) => !(Number(counts[2 * i + 1]) > 0));
    if (missing.length === 0) return;
    if (Date.now() >= deadline) {
      log.warn({ missing, waitedMs: timeoutMs }, 'socket.io Redis adapter not subscribed: events from other nodes may not reach this node');
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

const privateChannels = (io: Server, redisPrefix: string) =>
  NAMESPACES.map((n) => `${channelPrefix(redisPrefix)}#${n}#${(io.of(n).adapter as unknown as { uid: string }).uid}#`);

/**
 * The streams adapter fires some writes without awaiting them: the SET that keeps a disconnected socket's session
 * for recovery, and the PUBLISH of ephemeral packets. With Redis away, their rejections were unhandled, and Node
 * ends the process on one: a Redis blip took the whole node down as its sockets disconnected. Each promise of
 * these commands gets a handler (the caller still sees the rejection if it awaits); the client is the adapter's own.
 */
function neverUnhandled(redis: Redis, commands: ('set' | 'publish')[], onError: (err: unknown) => void): void {
  for (const name of commands) {
    const original = (redis[name] as (...args: unknown[]) => Promise<unknown>).bind(redis);
    (redis as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      const p = original(...args);
      p.catch(onError);
      return p;
    };
  }
}

// one resync a node at most this often, however Redis flaps: each makes every client of the node reload
const RESYNC_SPACING_MS = 5000;

/**
 * What other nodes published while this node's link to Redis was down never reached its clients, and their
 * sockets stayed connected, so nothing told them: a conversation assigned meanwhile, a customer's message. Once
 * Redis is back, this node tells its own clients (`resync`), and they reload what they show, as after a
 * reconnect. What is published from then on comes through the adapter's stream as usual.
 */
function resyncAfterOutage(io: Server, redis: Redis, log: Deps['log']): void {
  let lost = false;
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  const resync = () => {
    timer = undefined;
    last = Date.now();
    log.info('redis is back: this node’s clients reload what they may have missed');
    for (const nsp of ['/agent', '/customer']) io.of(nsp).local.emit('resync');
  };
  redis.on('close', () => (lost = true));
  redis.on('ready', () => {
    if (!lost) return;
    lost = false;
    if (!timer) timer = setTimeout(resync, Math.max(0, last + RESYNC_SPACING_MS - Date.now())).unref();
  });
}

export function createRealtime(http: HttpServer, deps: Deps, tokens: TokenService, metrics: Metrics, opts: RealtimeOptions): Realtime {
  let redis: Redis | undefined;
  const io = new Server(http, {
    maxHttpBufferSize: 256 * 1024,
    serveClient: false,
    // same-origin only: the console and chat page are served by this gateway
    cors: undefined,
    // With Redis, a client back within two minutes (a network blip, its node restarting) gets the events it missed
    // replayed from the adapter's stream, on whichever node it reaches; the auth middleware runs again, so a
    // revoked token recovers nothing. Older gaps, and single-node setups (the in-memory adapter would keep every
    // packet of the last two minutes in this process), are filled by seq (`sync`, `?after=`).
    ...(opts.redisUrl ? { connectionStateRecovery: { maxDisconnectionDuration: 2 * 60_000, skipMiddlewares: false } } : {}),
  });
  if (opts.redisUrl) {
    redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
    redis.on('error', (err) => deps.log.warn({ err: err.message }, 'redis error'));
    neverUnhandled(redis, ['set', 'publish'], (err) => deps.log.warn({ err: (err as Error).message }, 'redis write lost (session or ephemeral event)'));
    resyncAfterOutage(io, redis, deps.log);
    // the library's defaults (`socket.io`, `sio:session:`) are the same for every install: two workspaces on one
    // Redis database would hear each other's events
    const p = opts.redisPrefix;
    io.adapter(createAdapter(redis, { streamName: `${p}sio`, channelPrefix: channelPrefix(p), sessionKeyPrefix: `${p}sio:session:` }));
  }
  coalesceWrites(io);
  const agents = setupAgentNamespace(io.of('/agent'), deps, tokens, metrics, opts.nodeId);
  setupCustomerNamespace(io.of('/customer'), deps, metrics, { webChatSecret: opts.webChatSecret, visitorIds: opts.webChatVisitorIds });
  return {
    io,
    nodeId: opts.nodeId,
    emit: createEmitter(io, deps),
    ready: redis ? adapterSubscribed(redis, privateChannels(io, opts.redisPrefix), deps.log) : Promise.resolve(),
    // bounded: with Redis away the adapter waits for it, and a stopping node waits for the sweep's pass
    async findConsoles(agentIds) {
      const found = new Map<string, string | null>();
      if (!agentIds.length) return found;
      // one question to every node for all of them: a node that died makes each question wait out the timeout
      const sockets = await within(io.of('/agent').in(agentIds.map(rooms.agent)).fetchSockets(), ASK_MS, 'the nodes');
      for (const s of sockets) {
        const data = s.data as { actor?: { id: string }; node?: string };
        // a console on a node of an earlier version does not say where it is
        if (data.actor && !found.has(data.actor.id)) found.set(data.actor.id, data.node ?? null);
      }
      return found;
    },
    async close() {
      // io.close() closes every namespace's sockets on this node; io.disconnectSockets() would also tell the other
      // nodes to close theirs
      await new Promise<void>((resolve) => io.close(() => resolve()));
      // the closed consoles' agents start their offline grace: written before the node lets go of the database
      // (bounded: with the database away a node must still stop)
      await settleWithin(agents.settled(), 5000);
      // QUIT after the adapters' last writes (they publish on close). With Redis away, QUIT would wait for it
      // forever and the node could not stop: then (or after 2 s) the connection is simply dropped
      if (redis?.status === 'ready') await Promise.race([redis.quit().catch(() => {}), new Promise((r) => setTimeout(r, 2000).unref())]);
      redis?.disconnect();
    },
  };
}
