// Applied after every install (package.json "postinstall"). postgres.js 3.4.9 can kill the whole process when
// Postgres restarts: a write deferred with setImmediate runs after the socket was closed and throws outside any
// promise (porsager/postgres#1154, #1208; fixes proposed in #1168, #1209, not released). Huike must answer 503
// during a database outage, not crash. This guard settles the pending queries with CONNECTION_CLOSED instead,
// and resets the write timer on close so a reused connection can flush again. Idempotent; fails loudly if the
// driver's code changed so the patch no longer fits.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MARK = '/* huike: null-socket guard v2 */';
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'postgres');
const edits = [
  [
    '  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)',
    `  function nextWrite(fn) {\n    ${MARK}\n    if (!socket) {\n      chunk = nextWriteTimer = null\n      error(Errors.connection('CONNECTION_CLOSED', options))\n      return false\n    }\n    const x = socket.write(chunk, fn)`,
  ],
  ['    clearImmediate(nextWriteTimer)\n    socket.removeListener(\'data\', data)', "    clearImmediate(nextWriteTimer)\n    nextWriteTimer = chunk = null\n    socket.removeListener('data', data)"],
];
// a reserved connection that died must not go back to the open pool when released: it would be handed out
// again without reconnecting, and every query on it would fail
const releaseEdit = [
  '    sql.release = () => {\n      c.reserved = null\n      onopen(c)\n    }',
  `    sql.release = () => {\n      ${MARK}\n      c.reserved = null\n      c.queue === closed || onopen(c)\n    }`,
];
for (const [file, fileEdits] of [
  ['src/connection.js', edits],
  ['cjs/src/connection.js', edits],
  ['src/index.js', [releaseEdit]],
  ['cjs/src/index.js', [releaseEdit]],
]) {
  const p = path.join(root, file);
  let s = readFileSync(p, 'utf8');
  if (s.includes(MARK)) continue;
  for (const [from, to] of fileEdits) {
    if (!s.includes(from)) throw new Error(`patch-postgres: ${file} no longer matches; check the driver version`);
    s = s.replace(from, to);
  }
  writeFileSync(p, s);
  console.log(`patch-postgres: guarded ${file}`);
}
