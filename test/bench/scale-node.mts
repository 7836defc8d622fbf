// One server of the scale bench, in its own process so its CPU and memory are its own: `floor` (bare node:http +
// WeCom decrypt + one INSERT through postgres.js) or `huike` (the gateway). Started by scale.mts with fork();
// it reports {url} when listening, answers {cmd:'rss'} with its memory, {cmd:'heap'} with its live heap and {cmd:'cpu'} with its CPU time so far (ms),
// and exits on {cmd:'stop'}.
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import { decrypt } from '@wecom/crypto';
import pino from 'pino';
import postgres from 'postgres';
import { parseConfig } from '../../core/config.ts';
import { openDatabase } from '../../core/db/client.ts';
import { startHuike } from '../../gateway/huike.ts';

const role = process.env.SCALE_ROLE;
// SCALE_HEAP=huike: V8's sampling allocation profile of the gateway, objects already collected included (what the
// garbage collector has to clean up), written to /tmp/scale-heap-<pid>.heapprofile when it stops
const heap = process.env.SCALE_HEAP === role ? new Session() : null;
if (heap) {
  heap.connect();
  // SCALE_HEAP_SURVIVORS=1: only what outlived the young generation (promoted, so later swept by a full GC): the
  // allocations that make scavenges slow
  // SCALE_HEAP_AFTER_S: from that many seconds after start (to see the fixed-rate load alone)
  // SCALE_HEAP_FOR_S: and for that many seconds only (written then; the parent's SCALE_DEBUG log dates the phases)
  const start = () => {
    console.error('[scale-node] heap sampling starts');
    heap.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: !process.env.SCALE_HEAP_SURVIVORS });
  };
  const after = Number(process.env.SCALE_HEAP_AFTER_S ?? 0);
  if (after > 0) setTimeout(start, after * 1000).unref();
  else start();
  if (process.env.SCALE_HEAP_FOR_S) setTimeout(() => void writeHeapProfile(), (after + Number(process.env.SCALE_HEAP_FOR_S)) * 1000).unref();
}
const writeHeapProfile = () =>
  new Promise<void>((resolve) => {
    if (!heap) return resolve();
    heap.post('HeapProfiler.stopSampling', (err, r) => {
      if (err || !r) return resolve();
      writeFileSync(`/tmp/scale-heap-${process.pid}.heapprofile`, JSON.stringify(r.profile));
      console.error('[scale-node] heap sampling written');
      resolve();
    });
  });
const send = (m: unknown) => process.send!(m);
let stop: () => Promise<void> = async () => {};

if (role === 'floor') {
  const sql = postgres(process.env.DATABASE_URL!, { max: 10, onnotice: () => {} });
  await sql`create table if not exists floor_msgs (id bigserial primary key, msg_id text unique, body text)`;
  const aesKey = process.env.MP_AES_KEY!;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const outer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const inner = JSON.parse(decrypt(aesKey, outer.Encrypt).message);
        await sql`insert into floor_msgs (msg_id, body) values (${String(inner.MsgId)}, ${inner.Content}) on conflict do nothing`;
        res.end('success');
      } catch {
        res.statusCode = 400;
        res.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  stop = async () => {
    server.close();
    await sql.end();
  };
  send({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
} else {
  const parsed = parseConfig({ ...process.env, PORT: '0', LOG_LEVEL: 'silent' });
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  // SCALE_TRACE: every 2 s, the statements sent by kind (to see round trips per message under load)
  const counts = new Map<string, number>();
  const database = await openDatabase({ databaseUrl: parsed.config.DATABASE_URL, max: parsed.config.DATABASE_POOL_MAX, onQuery: process.env.SCALE_TRACE ? (q) => counts.set(q.replace(/\s+/g, ' ').trim().slice(0, 90), (counts.get(q.replace(/\s+/g, ' ').trim().slice(0, 90)) ?? 0) + 1) : undefined });
  const lag = monitorEventLoopDelay({ resolution: 1 });
  if (process.env.SCALE_TRACE) lag.enable();
  // SCALE_TRACE: every stall of the event loop over 15 ms, and how much of it the garbage collector took
  const stalls: { at: number; ms: number }[] = [];
  const gcs: { start: number; ms: number; kind: number }[] = [];
  if (process.env.SCALE_TRACE) {
    let last = performance.now();
    setInterval(() => {
      const now = performance.now();
      if (now - last > 15) stalls.push({ at: last, ms: now - last });
      last = now;
    }, 1).unref();
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcs.push({ start: e.startTime, ms: e.duration, kind: (e as unknown as { detail: { kind: number } }).detail.kind });
    }).observe({ entryTypes: ['gc'] });
  }
  if (process.env.SCALE_TRACE)
    setInterval(() => {
      console.error(`[trace] event-loop delay p50 ${(lag.percentile(50) / 1e6).toFixed(1)} p99 ${(lag.percentile(99) / 1e6).toFixed(1)} max ${(lag.max / 1e6).toFixed(1)} ms`);
      lag.reset();
      if (stalls.length) {
        const gcIn = (st: { at: number; ms: number }) => gcs.filter((g) => g.start < st.at + st.ms && g.start + g.ms > st.at).reduce((a, g) => a + g.ms, 0);
        const gcMs = stalls.map(gcIn);
        console.error(`[trace] ${stalls.length} stalls > 15 ms, ${stalls.reduce((a, x) => a + x.ms, 0).toFixed(0)} ms, of it GC ${gcMs.reduce((a, b) => a + b, 0).toFixed(0)} ms; worst ${stalls.map((x, i) => `${x.ms.toFixed(0)}(gc ${gcMs[i].toFixed(0)})`).sort((a, b) => parseFloat(b) - parseFloat(a)).slice(0, 6).join(' ')}; GC in 2 s: ${gcs.length} (scavenges ${gcs.filter((g) => g.kind === 1).length}, ${gcs.reduce((a, g) => a + g.ms, 0).toFixed(0)} ms)`);
      }
      stalls.length = 0;
      gcs.length = 0;
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      if (total) console.error(`[trace] ${total} statements: ${[...counts].sort((a, b) => b[1] - a[1]).slice(0, 30).map(([k, n]) => `\n  ${n} ${k}`).join('')}`);
      counts.clear();
    }, 2000).unref();
  const huike = await startHuike({ config: parsed.config, database, log: pino({ level: process.env.SCALE_LOG ?? 'silent' }) });
  stop = async () => {
    await huike.stop();
    await database.close();
  };
  send({ url: huike.url });
}

// the bench died (an error, ^C): a node left running would hold its database connections and CPU into the next run
process.on('disconnect', () => process.exit(1));

process.on('message', async (m: { cmd: string }) => {
  if (m.cmd === 'rss') send({ rss: process.memoryUsage().rss });
  // what is still reachable: a leak grows it, while RSS also grows with the heap V8 chooses to keep (SCALE_DEBUG
  // starts the node with --expose-gc; without it, the heap as it stands)
  if (m.cmd === 'heap') {
    (globalThis as { gc?: () => void }).gc?.();
    send({ heap: process.memoryUsage().heapUsed });
  }
  if (m.cmd === 'cpu') {
    const { user, system } = process.cpuUsage();
    send({ cpu: (user + system) / 1000 });
  }
  if (m.cmd === 'stop') {
    await writeHeapProfile();
    await stop();
    process.exit(0);
  }
});
