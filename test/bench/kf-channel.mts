// Measures the WeCom kf channel on this machine: callback ack latency, and customer message -> bot reply sent
// through kf/send_msg. Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx test/bench/kf-channel.mts
import { performance } from 'node:perf_hooks';
import { buildKb } from '../support/factories.ts';
import { startTestHuike } from '../support/huike.ts';
import { startWechat } from '../support/wechat.ts';

const CUSTOMERS = 50;
const ROUNDS = 4; // messages per customer
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

const { emulator, env } = await startWechat();
const huike = await startTestHuike({ env, workers: { idleMs: 20 } });
emulator.callbackBase = huike.url;
await buildKb(huike.deps.sql, [{ id: 'ship', category: '物流', question: '多久发货', similar: ['几天发货'], answer: '下单后 48 小时内发货。' }]);
await huike.bot.reload();

const ack: number[] = [];
const e2e: number[] = [];
const sentAt = new Map<string, number>();
const seen = () => emulator.kfSent.length;
const t0 = performance.now();
for (let r = 0; r < ROUNDS; r++) {
  await Promise.all(
    Array.from({ length: CUSTOMERS }, async (_, i) => {
      const user = `wmBENCH${i}`;
      emulator.kfText('wkBENCH', user, '几天发货');
      const start = performance.now();
      sentAt.set(`${user}:${r}`, start);
      const status = await emulator.notifyKf('wkBENCH');
      ack.push(performance.now() - start);
      if (status !== 200) throw new Error(`callback answered ${status}`);
    }),
  );
  // wait for this round's bot replies to leave through send_msg
  const want = (r + 1) * CUSTOMERS;
  while (seen() < want) await new Promise((res) => setTimeout(res, 2));
  const done = performance.now();
  for (let i = 0; i < CUSTOMERS; i++) e2e.push(done - sentAt.get(`wmBENCH${i}:${r}`)!);
}
const total = performance.now() - t0;
const [dups] = await huike.deps.sql`select count(channel_msg_id) - count(distinct channel_msg_id) as d from messages where channel = 'wecom_kf'`;
console.log(
  JSON.stringify({
    messages: CUSTOMERS * ROUNDS,
    callback_ack_p50_ms: +q(ack, 50).toFixed(1),
    callback_ack_p99_ms: +q(ack, 99).toFixed(1),
    round_trip_p50_ms: +q(e2e, 50).toFixed(1),
    round_trip_p99_ms: +q(e2e, 99).toFixed(1),
    throughput_msgs_per_s: Math.round((CUSTOMERS * ROUNDS) / (total / 1000)),
    duplicates: Number(dups.d),
    database: process.env.DATABASE_URL ? 'postgres' : 'pglite',
  }),
);
await huike.close();
await emulator.stop();
