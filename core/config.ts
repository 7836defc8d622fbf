import { z } from 'zod';

// Empty strings in env files mean "unset", not "set to nothing".
const optional = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());
// up to 100 years: the official sample vectors are from 2014, and tests replay them
const seconds = (def: number) =>
  z.preprocess((v) => (v === '' || v === undefined ? def : Number(v)), z.number().int().min(1).max(3_153_600_000));

const schema = z.object({
  PORT: z.preprocess((v) => (v === '' || v === undefined ? 3000 : Number(v)), z.number().int().min(0).max(65535)),
  DATABASE_URL: optional.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), 'must start with postgres://'),
  // connections a node may open to PostgreSQL; with several nodes, nodes × (this + 1 for LISTEN) must stay under
  // the server's max_connections (100 by default), or connections are refused with 53300
  DATABASE_POOL_MAX: z.preprocess((v) => (v === '' || v === undefined ? 20 : Number(v)), z.number().int().min(2).max(500)),
  REDIS_URL: optional.refine((v) => v === undefined || /^rediss?:\/\//.test(v), 'must start with redis://'),
  // every key, stream and channel a workspace keeps in Redis starts with this: two workspaces (production and
  // staging, two shops) on one Redis database would otherwise hear each other's socket events
  REDIS_PREFIX: z.preprocess((v) => (v === '' || v === undefined ? 'huike:' : v), z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits and _ . : - only, at most 64')),
  DATA_DIR: z.preprocess((v) => (v === '' || v === undefined ? './data' : v), z.string()),
  JWT_SECRET: optional.refine((v) => v === undefined || v.length >= 32, 'must be at least 32 characters'),
  WECOM_CORP_ID: optional,
  WECOM_TOKEN: optional,
  WECOM_AES_KEY: optional.refine((v) => v === undefined || v.length === 43, 'must be 43 characters'),
  WECOM_SECRET: optional,
  WECOM_API_BASE: z.preprocess((v) => (v === '' || v === undefined ? 'https://qyapi.weixin.qq.com' : v), z.url()),
  MP_APPID: optional,
  MP_TOKEN: optional,
  MP_AES_KEY: optional.refine((v) => v === undefined || v.length === 43, 'must be 43 characters'),
  MP_SECRET: optional,
  MP_API_BASE: z.preprocess((v) => (v === '' || v === undefined ? 'https://api.weixin.qq.com' : v), z.url()),
  COMMERCE_WEBHOOK_SECRET: optional,
  // the key a shop's server signs its signed-in users' identity tokens for the chat page with (HS256)
  WEB_CHAT_SECRET: optional.refine((v) => v === undefined || v.length >= 32, 'must be at least 32 characters'),
  // any: the chat page may bring a visitor id of its own; issued: only ids this server gave out (or an identity
  // token stands for) are kept, any other gets a new one, so a page cannot use guessable ids
  WEB_CHAT_VISITOR_IDS: z.preprocess((v) => (v === '' || v === undefined ? 'any' : v), z.enum(['any', 'issued'])),
  // set when /metrics can be reached from outside: Prometheus then sends it as a bearer token
  METRICS_TOKEN: optional.refine((v) => v === undefined || v.length >= 16, 'must be at least 16 characters'),
  SERVICES: z.preprocess(
    (v) => (v === '' || v === undefined ? 'web,worker' : v),
    z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)).pipe(z.array(z.enum(['web', 'worker'])).min(1)),
  ),
  WECOM_REPLAY_WINDOW_S: seconds(300),
  MP_REPLAY_WINDOW_S: seconds(300),
  // how long a WeChat API call may take before it counts as failed and is retried (kf sends carry our msgid, so
  // a retry of a send that did arrive is not delivered twice)
  WX_API_TIMEOUT_MS: z.preprocess((v) => (v === '' || v === undefined ? 10_000 : Number(v)), z.number().int().min(100).max(120_000)),
  // calls a minute to one WeChat API per credential, across all nodes (WeCom allows 10,000; fixed windows can
  // let up to twice through at an edge, hence the margin)
  WX_API_LIMIT_PER_MIN: z.preprocess((v) => (v === '' || v === undefined ? 4000 : Number(v)), z.number().int().min(1).max(1_000_000)),
  // an agent whose consoles all closed stays online (keeping their tickets, getting no new ones) this long before
  // going offline: a page reload, a network blip or a node restarting is back within seconds (core/agents/presence.ts)
  AGENT_OFFLINE_GRACE_S: z.preprocess((v) => (v === '' || v === undefined ? 30 : Number(v)), z.number().int().min(0).max(3600)),
  // a customer message the bot never answered (its node died before it could) is answered by a live node once it is
  // this old; a node answering it itself meanwhile is no harm, the answer goes out once (its id is the message's)
  BOT_REDRIVE_AFTER_S: z.preprocess((v) => (v === '' || v === undefined ? 30 : Number(v)), z.number().int().min(5).max(86_400)),
  // a batch of customer messages is stored no sooner than this long after the one before it started: fewer, larger
  // transactions at moderate rates, for up to this much more latency (0: each batch as soon as the last one ends)
  INGEST_BATCH_SPACING_MS: z.preprocess((v) => (v === '' || v === undefined ? 15 : Number(v)), z.number().int().min(0).max(1000)),
  // how long a claimed WeChat send is hidden from other nodes: a node that dies with it claimed leaves it this long.
  // Unset: 30 s, or twice WX_API_TIMEOUT_MS if that is longer (leaseProblem)
  OUTBOX_LEASE_S: z.preprocess((v) => (v === '' || v === undefined ? undefined : Number(v)), z.number().int().min(5).max(3600).optional()),
  // proxies in front of the node (a load balancer: 1; a CDN and a load balancer: 2). The client's address is the
  // X-Forwarded-For entry that many hops from the right: entries further left are whatever the client wrote
  PROXY_HOPS: z.preprocess((v) => (v === '' || v === undefined ? 1 : Number(v)), z.number().int().min(1).max(10)),
  LOG_LEVEL: z.preprocess((v) => (v === '' || v === undefined ? 'info' : v), z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])),
});

export type Config = Omit<z.infer<typeof schema>, 'OUTBOX_LEASE_S'> & { OUTBOX_LEASE_S: number };

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

export function parseConfig(env: Record<string, string | undefined>): ConfigResult {
  const parsed = schema.safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${String(i.path[0] ?? '(env)')}: ${i.message}`);
  const lease = leaseProblem(env);
  if (lease) problems.push(lease);
  if (parsed.success && !problems.length)
    return { ok: true, config: { ...parsed.data, OUTBOX_LEASE_S: parsed.data.OUTBOX_LEASE_S ?? Math.max(30, Math.ceil((2 * parsed.data.WX_API_TIMEOUT_MS) / 1000)) } };
  return { ok: false, problems };
}

/**
 * A send still waiting for WeChat's answer when its lease ends is claimed by another node and sent again, so the
 * lease must outlast twice the API timeout (a token fetch, then the send). Checked on the raw values, so it is listed
 * with the other problems; only a lease set by hand, since an unset one grows with the timeout.
 */
function leaseProblem(env: Record<string, string | undefined>): string | null {
  const num = (v: string | undefined, def: number) => (v === undefined || v === '' ? def : Number(v));
  if (env.OUTBOX_LEASE_S === undefined || env.OUTBOX_LEASE_S === '') return null;
  const leaseMs = num(env.OUTBOX_LEASE_S, 30) * 1000;
  const timeoutMs = num(env.WX_API_TIMEOUT_MS, 10_000);
  if (!Number.isFinite(leaseMs) || !Number.isFinite(timeoutMs) || leaseMs >= 2 * timeoutMs) return null;
  return `OUTBOX_LEASE_S: must be at least twice WX_API_TIMEOUT_MS (${timeoutMs} ms): a send still in flight when its lease ends would be sent again`;
}

/** Parses process.env once; on any problem prints all of them and exits, so an operator fixes everything in one go. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = parseConfig(env);
  if (result.ok) return result.config;
  process.stderr.write(`配置错误 / invalid configuration:\n${result.problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exit(78);
}
