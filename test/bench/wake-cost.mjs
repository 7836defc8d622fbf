// What waking up costs on this machine, without Huike: the CPU of an empty timer wakeup, of a loopback TCP round
// trip with another process (back to back, and one every 2 ms, as at a moderate fixed rate), and how much slower a
// fixed piece of work runs when it follows a sleep than back to back. At low and moderate rates a message is a
// dozen such wakeups across the gateway, PostgreSQL and the load, so these figures set the floor of its cost there.
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
  const work = () => {
    for (let i = 0; i < 20; i++) createHash('sha256').update(buf).digest();
  };
  for (let i = 0; i < 2000; i++) work();

  async function timerWake(n, gapMs) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) await sleep(gapMs);
    return cpuUs(process.cpuUsage(c0)) / n;
  }

  async function workAfterSleep(n, gapMs) {
    let wall = 0;
    for (let i = 0; i < n; i++) {
      if (gapMs) await sleep(gapMs);
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
    const hot = await workAfterSleep(2000, 0);
    const cold = await workAfterSleep(500, 2);
    child.kill();
    server.close();
    const r = (x) => Math.round(x);
    if (process.argv.includes('--json'))
      return console.log(JSON.stringify({ wake: r(wake), roundTrip: [r(busy.own), r(busy.peer)], roundTripEvery2ms: [r(spaced.own), r(spaced.peer)], workHot: r(hot), workAfterSleep: r(cold) }));
    const us = (x) => `${r(x)} µs`;
    const rows = [
      ['an empty timer wakeup (every 2 ms), CPU', us(wake)],
      ...[busy, spaced].map((t) => [`a loopback TCP round trip with another process, ${t.gapMs ? `one every ${t.gapMs} ms` : 'back to back'}: CPU of each side`, `${us(t.own)} + ${us(t.peer)}`]),
      ['20 SHA-256 of 4 KB: back to back / right after a 2 ms sleep', `${us(hot)} / ${us(cold)} (${(cold / hot).toFixed(2)}×)`],
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) console.log(`${k.padEnd(w)} | ${v}`);
  });
  let child;
  server.listen(0, '127.0.0.1', () => {
    child = fork(new URL(import.meta.url).pathname, ['echo', String(server.address().port)]);
  });
}
