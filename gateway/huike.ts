import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { TokenService } from '../core/agents/tokens.ts';
import type { Config } from '../core/config.ts';
import { openDatabase, type Database } from '../core/db/client.ts';
import { migrate } from '../core/db/migrate.ts';
import type { Deps } from '../core/deps.ts';
import { EventBus } from '../core/events.ts';
import { Bot } from '../bot/engine.ts';
import { KbSync } from '../bot/kb-sync.ts';
import { recoveryReactions } from '../core/recovery/reactions.ts';
import { createChannels, type Channels } from './channels/index.ts';
import { kfTakeoverMirror } from './channels/wecom-kf/takeover.ts';
import { createHttpApp } from './http/app.ts';
import { serveCallbacks } from './http/callbacks.ts';
import { createLogger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { watchOutbox } from './outbox-metrics.ts';
import { watchLogins } from './login-metrics.ts';
import { followSessionsEnded } from '../core/agents/session-notices.ts';
import { createRealtime, type Realtime } from './realtime/server.ts';
import { jwtSecret } from './secrets.ts';
import { startWorkers, type WorkerOptions, type Workers } from './workers/index.ts';
import { NODE_GONE_AFTER_MS, startHeartbeat, watchNodes } from './node-heartbeat.ts';

export const CONSOLE_DIST = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'agent-console', 'dist');

export interface HuikeOptions {
  config: Config;
  /** Use this database instead of opening one from the config (tests share a prepared one). */
  database?: Database;
  log?: Logger;
  /** In-memory PGlite instead of DATA_DIR/pg (tests and smoke runs). */
  memory?: boolean;
  workers?: WorkerOptions;
}

export interface Huike {
  deps: Deps;
  bot: Bot;
  kb: KbSync;
  http: HttpServer;
  realtime: Realtime;
  channels: Channels;
  /** null when SERVICES does not include worker */
  workers: Workers | null;
  database: Database;
  url: string;
  /** Waits until every event published so far has been fully handled (bot answers, routing, emits). */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/** Wires one gateway node: database, event bus, bot, HTTP and realtime. Listens on config.PORT (0 = any free port). */
export async function startHuike(opts: HuikeOptions): Promise<Huike> {
  const { config } = opts;
  const log = opts.log ?? createLogger(config.LOG_LEVEL);
  const database =
    opts.database ??
    (await openDatabase({ databaseUrl: config.DATABASE_URL, max: config.DATABASE_POOL_MAX, pgliteDir: opts.memory ? null : path.join(config.DATA_DIR, 'pg') }));
  await migrate(database.sql);

  const bus = new EventBus((err, event) => log.error({ err, event: event.type }, 'event handler failed'));
  const metrics = createMetrics();
  const deps: Deps = {
    sql: database.sql,
    bus,
    log,
    ingestSpacingMs: config.INGEST_BATCH_SPACING_MS,
    observeBatch: (batch, size, seconds) => {
      metrics.batchSize.observe({ batch }, size);
      metrics.batchSeconds.observe({ batch }, seconds);
    },
    retried: (what, code) => metrics.dbRetries.inc({ what, code }),
    batchStalled: (batch, size) => {
      metrics.batchStalled.inc({ batch });
      log.warn({ batch, size }, 'a write batch is still waiting after 1 s (rows locked by a stuck transaction?); the next batches go ahead');
    },
  };
  const tokens = new TokenService(config.JWT_SECRET ?? jwtSecret(config.DATA_DIR));
  watchOutbox(metrics, database.sql, (err) => log.warn({ err }, 'outbox figures not read for /metrics'));
  watchLogins(metrics, database.sql, (err) => log.warn({ err }, 'login figures not read for /metrics'));
  const bot = new Bot(deps);
  // most answers are written with the message they answer (core/conversations/inline-answer.ts)
  deps.answerInline = bot.answerInline;
  const kb = new KbSync(database.sql, bot, log);
  // listening first: a change made by another node while this one loads is not missed
  if (database.kind === 'postgres') await kb.follow();
  await bot.reload();

  const channels = createChannels(config, deps, metrics);
  const koa = createHttpApp({ deps, tokens, metrics, config, bot, kb }, { log, consoleDir: CONSOLE_DIST });
  const http = createServer(serveCallbacks(channels.callbacks, { log, metrics }, koa.callback()));
  http.requestTimeout = 30_000;
  // known to the other nodes before any console names it
  const heartbeat = await startHeartbeat(deps, opts.workers?.presence?.nodeGoneAfterMs ?? NODE_GONE_AFTER_MS);
  watchNodes(metrics, deps, heartbeat.goneAfterMs, (err) => log.warn({ err }, 'gateway node figures not read for /metrics'));
  const realtime = createRealtime(http, deps, tokens, metrics, { redisUrl: config.REDIS_URL, redisPrefix: config.REDIS_PREFIX, nodeId: heartbeat.id, webChatSecret: config.WEB_CHAT_SECRET, webChatVisitorIds: config.WEB_CHAT_VISITOR_IDS });
  await realtime.ready;

  bus.subscribe(realtime.emit);
  // a password reset on the server (`huike agent passwd`) closes the agent's consoles here too
  const unfollowSessions = database.kind === 'postgres' ? await followSessionsEnded(database.sql, bus) : async () => {};
  bus.subscribe(bot.onEvent);
  bus.subscribe(recoveryReactions(deps));
  if (channels.kf) bus.subscribe(kfTakeoverMirror(deps, channels.kf));
  const w = opts.workers ?? {};
  const workerOptions = {
    ...w,
    outbox: { leaseMs: config.OUTBOX_LEASE_S * 1000, sendTimeoutMs: config.WX_API_TIMEOUT_MS, ...w.outbox },
    botRedrive: { afterMs: config.BOT_REDRIVE_AFTER_S * 1000, ...w.botRedrive },
    presence: { graceMs: config.AGENT_OFFLINE_GRACE_S * 1000, ...w.presence },
  };
  const workers = config.SERVICES.includes('worker') ? startWorkers(deps, channels, workerOptions, bot, realtime, heartbeat) : null;

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.PORT, '0.0.0.0', () => resolve());
  });
  const port = (http.address() as AddressInfo).port;

  let stopped = false;
  return {
    deps,
    bot,
    kb,
    http,
    realtime,
    channels,
    workers,
    database,
    url: `http://127.0.0.1:${port}`,
    async settle() {
      // bot replies publish new events, so drain until both are quiet
      for (let i = 0; i < 50; i++) {
        await bus.idle();
        await bot.idle();
        await workers?.drain();
        await new Promise((r) => setImmediate(r));
        if (!bus.busy && !bot.busy) return;
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // first: its cluster lookups would meet the closing adapter
      await workers?.presence?.stop();
      await realtime.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await workers?.stop();
      await kb.stop();
      await unfollowSessions().catch(() => {});
      bot.stopRetrying();
      await bus.idle();
      await bot.idle();
      await bot.close();
      await channels.close();
      await heartbeat.stop();
      if (!opts.database) await database.close();
    },
  };
}
