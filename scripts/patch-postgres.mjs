// Applied after every install (package.json "postinstall"). postgres.js 3.4.9 can kill the whole process when
// Postgres restarts: a write deferred with setImmediate runs after the socket was closed and throws outside any
// promise (porsager/postgres#1154, #1208; fixes proposed in #1168, #1209, not released). Huike must answer 503
// during a database outage, not crash. This guard settles the pending queries with CONNECTION_CLOSED instead,
// and resets the write timer on close so a reused connection can flush again. Idempotent; fails loudly if the
// driver's code changed so the patch no longer fits.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MARK = '/* huike: null-socket guard v3 */';
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'postgres');
const edits = [
  [
    '  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)',
    `  function nextWrite(fn) {\n    ${MARK}\n    if (!socket) {\n      chunk = nextWriteTimer = null\n      error(Errors.connection('CONNECTION_CLOSED', options))\n      return false\n    }\n    const x = socket.write(chunk, fn)`,
  ],
  ['    clearImmediate(nextWriteTimer)\n    socket.removeListener(\'data\', data)', "    clearImmediate(nextWriteTimer)\n    nextWriteTimer = chunk = null\n    socket.removeListener('data', data)"],
];
// A reserved connection that died is no longer the reservation's: the pool may already have reconnected it for
// other queries. So (1) releasing it must not hand it to the pool again (it would be handed out twice, or
// without reconnecting); (2) a query sent on the dead reservation (a ROLLBACK after the error) is rejected at
// once instead of being written into someone else's session or parked forever in the reservation's queue; and
// (3) queries parked in that queue when it died are rejected too. Without these a transaction's ROLLBACK hung
// forever after a database restart, and every later message of that customer waited behind it.
const reserveEdits = [
  [
    '    sql.release = () => {\n      c.reserved = null\n      onopen(c)\n    }',
    `    sql.release = () => {\n      ${MARK}\n      const mine = c.reserved\n      c.reserved = null\n      c.onclose === rejectParked && (c.onclose = null)\n      mine && c.queue !== closed && onopen(c)\n    }`,
  ],
  [
    '    c.reserved.release = true\n',
    '    c.reserved.release = true\n    c.onclose = rejectParked\n    function rejectParked(e) {\n      while (queue.length) queue.shift().reject(e)\n    }\n',
  ],
  [
    '    function handler(q) {\n      c.queue === full\n        ? queue.push(q)',
    "    function handler(q) {\n      if (!c.reserved)\n        return q.reject(Errors.connection('CONNECTION_CLOSED', options, options))\n      c.queue === full\n        ? queue.push(q)",
  ],
];
// A connection that dies while fetching the array types rejects a promise nobody awaits: Node ends the whole
// process on an unhandled rejection. The queries waiting on that connection are failed by its close handler.
const typesEdit = ['        return fetchArrayTypes()\n', '        return fetchArrayTypes().catch(() => {})\n'];
patchFiles(MARK, [...bothBuilds('connection.js', [...edits, typesEdit]), ...bothBuilds('index.js', reserveEdits)], 'guarded');

// A socket that errors (a read ECONNRESET: the server ended the session as a statement went out) and then
// closes: queries written between the error and the close were never settled, since the close handler settles
// them only when there was no error. The next query a pool handed that connection hung forever. Now the close
// settles whatever is still in flight, error or not (test/faults/db-session-ended.test.ts).
const MARK4 = '/* huike: settle on close v4 */';
const closeEdit = [
  "    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))",
  `    ${MARK4}\n    ;(query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))`,
];
patchFiles(MARK4, bothBuilds('connection.js', [closeEdit]), 'settle-on-close');

// The close settles the statement that was running, but kept it as the connection's current one until the
// connection was used again. `sql.end()` waits for a connection with a current statement, so a node stopping
// after it had lost sessions (a failover) waited out end's whole timeout (test/faults/db-session-lost.test.ts).
const MARK5 = '/* huike: forget the settled statement v5 */';
const forgetEdit = [
  `    ${MARK4}\n    ;(query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))\n`,
  `    ${MARK4}\n    ;(query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))\n    ${MARK5}\n    query = null\n`,
];
patchFiles(MARK5, bothBuilds('connection.js', [forgetEdit]), 'forget-settled');

// The pool's queues are arrays read from a moving head; the array was only dropped when the queue emptied. The
// queue of idle connections never empties while the pool has more connections than its busiest moment since
// needs, so under steady load it grew by one slot a statement, forever (69,000 after two minutes at 300 msgs/s),
// and every statement scanned all of it: taking an idle connection removes it from that queue by `indexOf` from
// the start, over every slot already shifted out. A statement took 65 µs at first and 116 µs 200,000 statements
// later, growing without end. Now a removal looks from the head only, and a head past half of a long array
// drops what is behind it (test/core/db-queue.test.ts).
const MARK6 = '/* huike: queue head v6 */';
const queueEdits = [
  [
    '    remove: (x) => {\n      const index = xs.indexOf(x)\n      return index === -1\n        ? null\n        : (xs.splice(index, 1), x)\n    },',
    `    remove: (x) => {\n      ${MARK6}\n      const at = xs.indexOf(x, index)\n      return at === -1\n        ? null\n        : (xs.splice(at, 1), x)\n    },`,
  ],
  [
    '      } else {\n        xs[index - 1] = undefined\n      }',
    '      } else {\n        xs[index - 1] = undefined\n        if (index >= 1024 && index * 2 >= xs.length) {\n          xs = xs.slice(index)\n          index = 0\n        }\n      }',
  ],
];
patchFiles(MARK6, bothBuilds('queue.js', queueEdits), 'queue head');

/** Edits to the driver's files, each file skipped where its mark is already in; fails loudly where one no longer fits. */
function patchFiles(mark, fileEdits, label) {
  for (const [file, edits] of fileEdits) {
    const p = path.join(root, file);
    let s = readFileSync(p, 'utf8');
    if (s.includes(mark)) continue;
    for (const [from, to] of edits) {
      if (!s.includes(from)) throw new Error(`patch-postgres: ${file} no longer matches; check the driver version`);
      s = s.replace(from, to);
    }
    writeFileSync(p, s);
    console.log(`patch-postgres: ${label} ${file}`);
  }
}

/** The same edits to the ESM and the CommonJS build of one file. */
function bothBuilds(file, edits) {
  return [[`src/${file}`, edits], [`cjs/src/${file}`, edits]];
}
