// `npm run bench`: measures on this machine and prints one table. Real Postgres when DATABASE_URL is set
// (the targets are stated for it), embedded PGlite otherwise. Benchmarks are measurements, not tests.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import pino from 'pino';
import { assembleProfile } from '../../core/customers/profile.ts';
import { EventBus } from '../../core/events.ts';
import { parseConfig } from '../../core/config.ts';
import { startHuike } from '../../gateway/huike.ts';
import { commerceSignature } from '../../gateway/http/routes/commerce/index.ts';
import { importCsv } from '../../gateway/import-cli.ts';
import { benchDatabase, quantile } from './database.ts';

const rows: { name: string; value: string; target: string }[] = [];
const ms = (x: number) => `${x.toFixed(2)} ms`;
const log = pino({ level: 'silent' });
const only = process.argv.slice(2);
const want = (k: string) => !only.length || only.includes(k);

async function profileBench() {
  const db = await benchDatabase();
  try {
    const [c] = await db.sql<{ id: string }[]>`insert into customers (display_name, phone) values ('压测客户', '13800000000') returning id`;
    const kinds = ['phone', 'taobao_nick', 'jd_pin', 'douyin_openid', 'wx_unionid', 'wx_openid', 'wecom_external_userid', 'email', 'web_visitor', 'taobao_nick'];
    for (const [i, kind] of kinds.entries()) await db.sql`insert into identities (customer_id, kind, value) values (${c.id}, ${kind}, ${kind === 'phone' ? '13800000000' : `bench-${kind}-${i}`})`;
    await db.sql`
      insert into orders (customer_id, platform, platform_order_id, status, total_fen, discount_fen, items, ordered_at, paid_at, status_at, address)
      select ${c.id}, (array['taobao','jd','douyin','pdd'])[1 + g % 4], 'B' || g, (array['paid','shipped','delivered','completed','refunded'])[1 + g % 5],
             1000 + (g * 37) % 50000, case when g % 3 = 0 then 500 else 0 end,
             jsonb_build_array(jsonb_build_object('sku', 'S' || g % 20, 'name', '商品', 'category', (array['连衣裙','半身裙','T恤','外套'])[1 + g % 4], 'qty', 1 + g % 2, 'priceFen', 1000)),
             now() - (g || ' hours')::interval, now() - (g || ' hours')::interval, now() - (g || ' hours')::interval, '广东省深圳市南山区科技园' || g || '号'
        from generate_series(1, 1000) g`;
    await db.sql`analyze`;
    for (let i = 0; i < 50; i++) await assembleProfile(db.sql, c.id, { reveal: false });
    const times: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const t = performance.now();
      await assembleProfile(db.sql, c.id, { reveal: false });
      times.push(performance.now() - t);
    }
    rows.push({ name: 'profile, 1,000 orders + 10 identities (core) p50 / p99', value: `${ms(quantile(times, 50))} / ${ms(quantile(times, 99))}`, target: 'p99 < 15 ms (Postgres)' });
  } finally {
    await db.close();
  }
}

async function commerceBench() {
  const db = await benchDatabase();
  const secret = 'bench-secret';
  const parsed = parseConfig({ PORT: '0', DATA_DIR: mkdtempSync(path.join(tmpdir(), 'huike-bench-')), JWT_SECRET: 'bench-secret-bench-secret-bench-secret-1', LOG_LEVEL: 'silent', COMMERCE_WEBHOOK_SECRET: secret, SERVICES: 'web' });
  if (!parsed.ok) throw new Error(parsed.problems.join());
  const huike = await startHuike({ config: parsed.config, database: db, log });
  try {
    const BATCHES = 50;
    const SIZE = 1000;
    const types = ['order.created', 'order.paid', 'cart.updated', 'browse', 'logistics.update'];
    const batch = (b: number) =>
      JSON.stringify({
        events: Array.from({ length: SIZE }, (_, i) => {
          const n = b * SIZE + i;
          const type = types[n % types.length];
          const order = { id: `O${Math.floor(n / 2)}`, totalFen: 9900, items: [{ name: '连衣裙', category: '连衣裙', priceFen: 9900 }] };
          return {
            id: `bench-${n}`,
            platform: 'taobao',
            type,
            occurredAt: new Date(Date.now() - (BATCHES * SIZE - n) * 1000).toISOString(),
            customer: { identities: [{ kind: 'taobao_nick', value: `tb_bench_${n % 10_000}` }] },
            ...(type.startsWith('order.') ? { order } : {}),
            ...(type === 'cart.updated' ? { cart: { id: `C${n % 10_000}`, totalFen: 9900 } } : {}),
            ...(type === 'browse' ? { browse: { sku: 'S1', name: '连衣裙' } } : {}),
            ...(type === 'logistics.update' ? { logistics: { orderId: order.id, status: 'in_transit' } } : {}),
          };
        }),
      });
    const bodies = Array.from({ length: BATCHES }, (_, b) => batch(b));
    const send = (body: string) =>
      fetch(`${huike.url}/api/v1/commerce/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-huike-signature': commerceSignature(secret, body) }, body }).then(async (r) => {
        if (r.status !== 200) throw new Error(`commerce ${r.status} ${await r.text()}`);
      });
    const t = performance.now();
    for (let i = 0; i < bodies.length; i += 2) await Promise.all(bodies.slice(i, i + 2).map(send));
    const s = (performance.now() - t) / 1000;
    const [n] = await db.sql`select count(*)::int as n from commerce_events`;
    rows.push({ name: `commerce events over HTTP, ${BATCHES} batches of ${SIZE} (2 in flight)`, value: `${Math.round(n.n / s).toLocaleString()} events/s`, target: '≥ 5,000 events/s' });
  } finally {
    await huike.stop();
    await db.close();
  }
}

async function importBench() {
  const db = await benchDatabase();
  try {
    const N = 100_000;
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'huike-bench-import-')), 'orders.csv');
    const lines = ['platform,order_id,buyer_id,buyer_phone,status,total_yuan,discount_yuan,ordered_at,paid_at,items,address'];
    for (let i = 0; i < N; i++)
      lines.push(`taobao,IMP${i},tb_imp_${i % 20_000},,${i % 7 === 0 ? 'refunded' : 'completed'},${(50 + (i % 500)).toFixed(2)},,2026-0${1 + (i % 9)}-1${i % 10} 10:00,,连衣裙:碎花连衣裙:${(50 + (i % 500)).toFixed(2)}:1,浙江省杭州市西湖区${i}号`);
    writeFileSync(file, lines.join('\n'));
    const progress: string[] = [];
    const out = new Writable({ write: (c, _e, cb) => (progress.push(String(c)), cb()) });
    const summary = await importCsv({ sql: db.sql, bus: new EventBus(), log }, 'orders', file, out);
    rows.push({
      name: `import ${N.toLocaleString()} orders from CSV (20,000 buyers)`,
      value: `${summary.seconds.toFixed(1)} s, ${Math.round(summary.imported / summary.seconds).toLocaleString()} rows/s, ${summary.bad.length} bad`,
      target: 'completes with progress',
    });
  } finally {
    await db.close();
  }
}

async function botBench() {
  const { Retriever } = await import('../../bot/retriever.ts');
  const { decide } = await import('../../bot/policy.ts');
  const { parseKbJsonl } = await import('../../core/knowledge/jsonl.ts');
  const { readFileSync } = await import('node:fs');
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  // 2,000 entries: the demo KB's 52 entries, and variants of them about 39 other products, so the vocabulary and
  // the near-duplicates grow like a real catalog's FAQ
  const demo = parseKbJsonl(readFileSync(new URL('../../core/seed/demo-kb.jsonl', import.meta.url), 'utf8'));
  const products = ['连衣裙', '衬衫', '牛仔裤', '羽绒服', '运动鞋', '卫衣', '风衣', '半身裙', '西装', '毛衣', '羊绒衫', '短裤', '睡衣', '内衣', '袜子', '帽子', '围巾', '手套', '背包', '钱包', '皮带', '墨镜', '手表', '项链', '耳环', '戒指', '手链', '发夹', '口红', '面霜', '精华', '面膜', '洗发水', '沐浴露', '香水', '防晒霜', '眼影', '粉底', '卸妆水'];
  const entries: { id: string; category: string; question: string; similar: string[]; answer: string; enabled: boolean }[] = demo.map((e) => ({ ...e, enabled: true }));
  for (const p of products) for (const e of demo) if (entries.length < 2000) entries.push({ ...e, id: `${e.id}-${p}`, question: `${p}${e.question}`, similar: e.similar.map((x) => `${p}${x}`), enabled: true });
  const cases = readFileSync(new URL('../../bot/eval/heldout-cases.jsonl', import.meta.url), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).text as string);
  const { buildKnowledge } = await import('../../bot/engine.ts');
  const { Synonyms } = await import('../../bot/synonyms.ts');
  // a running gateway built its KB once at start (loading jieba's dictionary); measure the rebuild after an edit
  const first = await buildKnowledge(entries, new Synonyms());
  first.retriever.dispose();
  entries[7] = { ...entries[7], similar: [...entries[7].similar, '新加的相似问法'] };
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const t0 = performance.now();
  let live = 0;
  const { retriever: r, intents } = await buildKnowledge(entries, new Synonyms(), { onIndex: () => (live = performance.now() - t0) });
  const intentsMs = performance.now() - t0;
  await r.rankerReady;
  const rankerMs = performance.now() - t0;
  lag.disable();
  intents.classify('我的快递怎么还没到');
  for (let i = 0; i < 200; i++) decide(r, cases[i % cases.length], 0);
  const times: number[] = [];
  for (let round = 0; round < 10; round++)
    for (const c of cases) {
      const t = performance.now();
      decide(r, c, 0);
      times.push(performance.now() - t);
    }
  rows.push({ name: `bot answer latency, ${entries.length}-entry KB (${r.size} questions) p50 / p99`, value: `${ms(quantile(times, 50))} / ${ms(quantile(times, 99))}`, target: 'p99 ≤ 2 ms' });
  rows.push({ name: `bot index rebuild, ${entries.length} entries: answering from the new index after`, value: `${live.toFixed(0)} ms`, target: '< 1 s' });
  rows.push({ name: '  … intent classifier rebuilt after; ranker (worker thread) joined after', value: `${intentsMs.toFixed(0)} ms; ${(rankerMs / 1000).toFixed(1)} s`, target: 'measure' });
  rows.push({ name: '  … longest event-loop stall during all of it', value: `${(lag.max / 1e6).toFixed(1)} ms`, target: 'live answers not blocked' });
}

async function routingBench() {
  const { drainQueue } = await import('../../core/tickets/routing.ts');
  const { handoff } = await import('../../core/tickets/tickets.ts');
  const { createAgent } = await import('../../core/agents/agents.ts');
  const { io } = await import('socket.io-client');
  const db = await benchDatabase();
  const parsed = parseConfig({ PORT: '0', DATA_DIR: mkdtempSync(path.join(tmpdir(), 'huike-bench-')), JWT_SECRET: 'bench-secret-bench-secret-bench-secret-1', LOG_LEVEL: 'silent', SERVICES: 'web' });
  if (!parsed.ok) throw new Error(parsed.problems.join());
  const huike = await startHuike({ config: parsed.config, database: db, log });
  try {
    const deps = huike.deps;
    const [team] = await db.sql<{ id: string }[]>`insert into teams (name, is_default) values ('压测组', true) returning id`;
    // 200 agents, offline for now
    const agentIds: string[] = [];
    for (let i = 0; i < 200; i++) {
      const a = await createAgent(db.sql, { email: `bench-${i}@huike.bench`, name: `压测客服${i}`, password: 'bench-password-1', role: 'agent', teamIds: [team.id], maxConcurrent: 50 });
      agentIds.push(a.id);
    }
    // 10,000 queued tickets on 10,000 conversations
    await db.sql`
      with c as (insert into customers (display_name) select '排队客户' || g from generate_series(1, 10000) g returning id),
           i as (insert into identities (customer_id, kind, value) select id, 'web_visitor', 'bench-' || id from c returning id, customer_id),
           v as (insert into conversations (customer_id, identity_id, channel, status, team_id) select customer_id, id, 'web', 'queued', ${team.id} from i returning id, customer_id)
      insert into tickets (conversation_id, customer_id, category, reason, team_id, priority, created_at)
      select id, customer_id, null, 'customer_request', ${team.id}, (random() * 3)::int * 10, now() - random() * interval '1 hour' from v`;
    await db.sql`update agents set status = 'online'`;
    await db.sql`analyze`;
    const t0 = performance.now();
    const counts = await Promise.all(agentIds.map((id) => drainQueue(deps, id)));
    const s = (performance.now() - t0) / 1000;
    const assigned = counts.reduce((a, b) => a + b, 0);
    rows.push({ name: 'routing: drain 10,000 queued tickets to 200 agents', value: `${Math.round(assigned / s).toLocaleString()} assignments/s (${assigned} in ${s.toFixed(1)} s)`, target: 'measure' });

    // handoff -> ticket:assigned on the agent's console socket, with 20 agents connected
    await db.sql`update tickets set status = 'solved', solved_at = now() where status = 'assigned'`;
    await db.sql`update agents set status = 'offline'`;
    const sockets = [];
    const waiting = new Map<string, (t: number) => void>();
    for (let i = 0; i < 20; i++) {
      const login = await fetch(`${huike.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: `bench-${i}@huike.bench`, password: 'bench-password-1' }) });
      const { token } = (await login.json()) as { token: string };
      const sock = io(`${huike.url}/agent`, { auth: { token }, transports: ['websocket'], forceNew: true });
      await new Promise((r) => sock.once('ready', r));
      sock.on('ticket:assigned', (e: { ticket: { conversationId: string } }) => waiting.get(e.ticket.conversationId)?.(performance.now()));
      sockets.push(sock);
    }
    const convs = await db.sql<{ id: string }[]>`
      with c as (insert into customers (display_name) select '新客户' || g from generate_series(1, 500) g returning id),
           i as (insert into identities (customer_id, kind, value) select id, 'web_visitor', 'bench2-' || id from c returning id, customer_id)
      insert into conversations (customer_id, identity_id, channel) select customer_id, id, 'web' from i returning id`;
    const lat: number[] = [];
    const commit: number[] = [];
    for (let k = 0; k < convs.length; k += 10) {
      await Promise.all(
        convs.slice(k, k + 10).map(async (c) => {
          const got = new Promise<number>((resolve) => waiting.set(c.id, resolve));
          const t = performance.now();
          await handoff(deps, { conversationId: c.id, category: null, reason: 'customer_request' });
          commit.push(performance.now() - t);
          lat.push((await got) - t);
        }),
      );
    }
    rows.push({ name: '  of which the handoff transaction itself, p50 / p99', value: `${ms(quantile(commit, 50))} / ${ms(quantile(commit, 99))}`, target: '' });
    rows.push({ name: 'handoff -> ticket:assigned on the agent socket (20 agents online), p50 / p99', value: `${ms(quantile(lat, 50))} / ${ms(quantile(lat, 99))}`, target: 'measure' });
    for (const s of sockets) s.disconnect();
  } finally {
    await huike.stop();
    await db.close();
  }
}

async function recoveryBench() {
  const { transaction } = await import('../../core/db/client.ts');
  const { seedDefaultPlaybooks } = await import('../../core/recovery/defaults.ts');
  const { saveRecoverySettings } = await import('../../core/recovery/settings.ts');
  const { runDueRecovery } = await import('../../core/recovery/execute.ts');
  const { ingestCommerceBatch, parseCommerceBatch } = await import('../../core/commerce/events.ts');
  const db = await benchDatabase();
  try {
    const deps = { sql: db.sql, bus: new EventBus(), log };
    await transaction(db.sql, (tx) => seedDefaultPlaybooks(tx));
    await saveRecoverySettings(db.sql, { quietHours: null, maxPerDay: 5, maxPerWeek: 20 }, null);
    // 5,000 shoppers who chat on the web page
    await db.sql`
      with c as (insert into customers (display_name) select '挽回客户' || g from generate_series(1, 5000) g returning id, display_name),
           i as (insert into identities (customer_id, kind, value) select id, 'web_visitor', 'rb-' || substr(display_name, 5) from c returning id, customer_id)
      insert into conversations (customer_id, identity_id, channel, status, last_customer_message_at) select customer_id, id, 'web', 'resolved', now() from i`;
    const BATCHES = 20;
    const SIZE = 1000;
    const types = ['cart.abandoned', 'payment.failed', 'order.created', 'order.paid'];
    const batches = Array.from({ length: BATCHES }, (_, b) =>
      parseCommerceBatch({
        events: Array.from({ length: SIZE }, (_, i) => {
          const n = b * SIZE + i;
          const type = types[n % types.length];
          const who = { identities: [{ kind: 'web_visitor', value: `rb-${1 + (n % 5000)}` }] };
          const at = new Date(Date.now() - 3 * 3600_000 + n).toISOString();
          const item = { name: '碎花连衣裙', category: '裙装', priceFen: 19_900 };
          return {
            id: `rb-${n}`,
            platform: 'taobao',
            type,
            occurredAt: at,
            customer: who,
            ...(type === 'cart.abandoned' ? { cart: { id: `RC${n}`, totalFen: 19_900, items: [item] } } : {}),
            ...(type === 'payment.failed' ? { payment: { orderId: `RO${n}`, amountFen: 19_900 } } : {}),
            ...(type.startsWith('order.') ? { order: { id: `RO${n - 1}`, totalFen: 19_900, items: [item] } } : {}),
          };
        }),
      }),
    );
    const t = performance.now();
    for (const events of batches) await ingestCommerceBatch(deps, events);
    const s = (performance.now() - t) / 1000;
    const [sched] = await db.sql`select count(*)::int as n from recovery_runs`;
    rows.push({ name: `recovery: commerce ingest with the default playbooks on, ${BATCHES} x ${SIZE} (carts, failed payments, orders)`, value: `${Math.round((BATCHES * SIZE) / s).toLocaleString()} events/s, ${sched.n} runs scheduled`, target: 'measure' });

    await db.sql`update recovery_runs set due_at = now() where status = 'scheduled'`;
    const t2 = performance.now();
    let done = 0;
    for (;;) {
      const k = await runDueRecovery(deps, 200);
      if (!k) break;
      done += k;
    }
    const s2 = (performance.now() - t2) / 1000;
    const out = await db.sql<{ status: string; n: number }[]>`select status, count(*)::int as n from recovery_runs group by 1 order by 1`;
    rows.push({ name: 'recovery: carry out due runs (decide, cap, send / suggest), one worker', value: `${Math.round(done / s2).toLocaleString()} runs/s (${out.map((o) => `${o.status} ${o.n}`).join(', ')})`, target: 'measure' });
  } finally {
    await db.close();
  }
}

const database = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite (set DATABASE_URL for the real targets)';
if (want('bot')) await botBench();
if (want('routing')) await routingBench();
if (want('profile')) await profileBench();
if (want('commerce')) await commerceBench();
if (want('import')) await importBench();
if (want('recovery')) await recoveryBench();
if (want('scale')) await (await import('./scale.mts')).scaleBench(rows);
console.log(`\nHuike bench on ${database}, ${new Date().toISOString().slice(0, 10)}`);
const w = Math.max(...rows.map((r) => r.name.length));
const v = Math.max(...rows.map((r) => r.value.length));
console.log(`${'measure'.padEnd(w)} | ${'result'.padEnd(v)} | target`);
console.log(`${'-'.repeat(w)}-|-${'-'.repeat(v)}-|-------`);
for (const r of rows) console.log(`${r.name.padEnd(w)} | ${r.value.padEnd(v)} | ${r.target}`);
process.exit(0);
