// Reproduces, without any of Huike's code, what V8's young generation does under the gateway's kind of load: a
// node:http server that takes a JSON body and awaits one postgres.js INSERT, 50 requests in flight from a child
// process. Run it with V8's GC accounting and read `promoted=` and `new_space_survived=` of each scavenge:
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --min-semi-space-size=16 --trace-gc-nvp \
//     test/bench/promotion-repro.mjs [db|timer] 2>&1 | grep 'gc=s'
//
// `db` (the default): most of what survives one scavenge is promoted at the next (0.4-0.6 of 13 MB allocated,
// 2026-12-07);
// `timer`: a 2 ms timer instead of the INSERT, and nothing is promoted. See README, issue #9, the ninth session.
import { Agent, createServer, request } from 'node:http';
import { fork } from 'node:child_process';
import postgres from 'postgres';

const REQUESTS = 40_000;
const IN_FLIGHT = 50;

if (process.argv[2] === 'client') {
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const port = Number(process.argv[3]);
  let sent = 0;
  const one = () =>
    new Promise((resolve) => {
      const body = JSON.stringify({ MsgId: String(sent), Content: 'x'.repeat(200) });
      const req = request({ port, host: '127.0.0.1', method: 'POST', path: '/callback', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.end(body);
    });
  const worker = async () => {
    while (sent++ < REQUESTS) await one();
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  process.exit(0);
} else {
  const mode = process.argv[2] ?? 'db';
  const sql = postgres(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', { max: 10, onnotice: () => {} });
  const table = sql(`promotion_repro_${process.pid}`);
  await sql`create table ${table} (id bigserial primary key, msg_id text unique, body text)`;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const m = JSON.parse(Buffer.concat(chunks).toString());
      if (mode === 'db') await sql`insert into ${table} (msg_id, body) values (${m.MsgId}, ${m.Content}) on conflict do nothing`;
      else await new Promise((r) => setTimeout(r, 2));
      res.end('success');
    });
  });
  server.listen(0, '127.0.0.1', () => {
    // the client without the parent's V8 flags: only the server's collections are printed
    const client = fork(new URL(import.meta.url).pathname, ['client', String(server.address().port)], { execArgv: [] });
    client.on('exit', async () => {
      await sql`drop table ${table}`;
      await sql.end();
      process.exit(0);
    });
  });
}
