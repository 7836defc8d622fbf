// What waking up costs on this machine, without Huike: the CPU of an empty timer wakeup, of a loopback TCP round
// trip with another process (back to back, and one every 2 ms, as at a moderate fixed rate), and how much slower a
// fixed piece of work runs when it follows a sleep of 2 or 20 ms than back to back. At low and moderate rates a
// message is a dozen such wakeups across the gateway, PostgreSQL and the load, and its work runs on caches that
// went cold while the process slept, so these figures set the floor of its cost there. Two pieces of work: SHA-256
// of 4 KB, which fits in the innermost cache, and a JSON round trip of a message-sized object, which like a
// message's own work allocates and reads more memory; the second is the one that slows down after an idle spell.
//
//   node test/bench/wake-cost.mjs           a small table
//   node test/bench/wake-cost.mjs --json    one JSON line (the scale bench's last row), in µs
import net from 'node:net';
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';

const cpuUs = (c) => c.user + c.system;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (process.argv[2] === 'echo') {
  // the peer: echoes every byte and, asked with 'c', reports its own CPU since the last report
  let since = process.cpuUsage();
  const s = net.connect(Number(process.argv[3]), '127.0.0.1');
  s.setNoDelay(true);
  s.on('data', (d) => {
    if (d[0] !== 0x63) return void s.write(d);
    s.write(JSON.stringify(process.cpuUsage(since)) + '\n');
    since = process.cpuUsage();
  });
} else {
  const buf = Buffer.alloc(4096, 7);
  const text = '请问多久发货呀，我昨天下的订单还没有物流信息，能帮我查一下吗';
  const message = { items: Array.from({ length: 50 }, (_, i) => ({ id: `m${i}`, text, seq: i, at: new Date(0).toISOString() })) };
  const works = {
    sha: () => {
      for (let i = 0; i < 20; i++) createHash('sha256').update(buf).digest();
    },
    json: () => JSON.parse(JSON.stringify(message)),
  };
  for (const work of Object.values(works)) for (let i = 0; i < 2000; i++) work();

  async function timerWake(n, gapMs) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) await sleep(gapMs);
    return cpuUs(process.cpuUsage(c0)) / n;
  }

  async function workAfterSleep(work, n, gapMs) {
    let wall = 0;
    for (let i = 0; i < n; i++) {
      // back to back still yields to the event loop, as the sleeps do, but without leaving the core idle
      await (gapMs ? sleep(gapMs) : new Promise((r) => setImmediate(r)));
      const t = performance.now();
      work();
      wall += performance.now() - t;
    }
    return (wall * 1000) / n;
  }

  async function roundTrips(socket, n, gapMs) {
    const peer = () => new Promise((r) => (socket.once('data', (d) => r(cpuUs(JSON.parse(String(d))))), socket.write('c')));
    await peer();
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      await new Promise((r) => (socket.once('data', r), socket.write('x')));
      if (gapMs) await sleep(gapMs);
    }
    const own = cpuUs(process.cpuUsage(c0)) / n;
    return { own, peer: (await peer()) / n, gapMs };
  }

  const server = net.createServer(async (socket) => {
    socket.setNoDelay(true);
    const wake = await timerWake(1000, 2);
    const [busy, spaced] = [await roundTrips(socket, 2000, 0), await roundTrips(socket, 2000, 2)];
    // each piece of work back to back, after 2 ms asleep, after 20 ms asleep (wall time a run, µs)
    const work = {};
    for (const [name, w] of Object.entries(works)) work[name] = [await workAfterSleep(w, 2000, 0), await workAfterSleep(w, 500, 2), await workAfterSleep(w, 100, 20)];
    child.kill();
    server.close();
    const r = (x) => Math.round(x);
    const r1 = (x) => Math.round(x * 10) / 10;
    if (process.argv.includes('--json'))
      return console.log(JSON.stringify({ wake: r(wake), roundTrip: [r(busy.own), r(busy.peer)], roundTripEvery2ms: [r(spaced.own), r(spaced.peer)], ...Object.fromEntries(Object.entries(work).map(([k, v]) => [k, v.map(r1)])) }));
    const us = (x) => `${r1(x)} µs`;
    const after = ([hot, ...slept]) => `${us(hot)} / ${slept.map((x) => `${us(x)} (${(x / hot).toFixed(2)}×)`).join(' / ')}`;
    const rows = [
      ['an empty timer wakeup (every 2 ms), CPU', us(wake)],
      ...[busy, spaced].map((t) => [`a loopback TCP round trip with another process, ${t.gapMs ? `one every ${t.gapMs} ms` : 'back to back'}: CPU of each side`, `${us(t.own)} + ${us(t.peer)}`]),
      ['20 SHA-256 of 4 KB: back to back / after 2 ms asleep / after 20 ms asleep', after(work.sha)],
      ['a JSON round trip of 50 small objects: the same', after(work.json)],
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) console.log(`${k.padEnd(w)} | ${v}`);
  });
  let child;
  server.listen(0, '127.0.0.1', () => {
    child = fork(new URL(import.meta.url).pathname, ['echo', String(server.address().port)]);
  });
}
