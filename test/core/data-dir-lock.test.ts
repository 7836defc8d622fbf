import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../core/db/client.ts';

const dirs: string[] = [];
const dataDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'huike-lock-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const cli = (args: string[], DATA_DIR: string) =>
  new Promise<{ code: number | null; err: string }>((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR, LOG_LEVEL: 'silent' };
    delete env.DATABASE_URL;
    const child = spawn(process.execPath, ['gateway/bin.js', ...args], { env });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, err }));
  });

// A second process on the embedded database's directory tears it (PGlite takes no lock): it is refused instead.
describe('the embedded database is one process’s at a time', { timeout: 60_000 }, () => {
  it('a command beside a running process that holds it is refused, with whom to stop; the data is untouched', async () => {
    const dir = dataDir();
    const db = await openDatabase({ pgliteDir: path.join(dir, 'pg') });
    await db.sql`create table kept (n int)`;
    await db.sql`insert into kept values (42)`;
    const r = await cli(['migrate'], dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`正被进程 ${process.pid}`);
    expect(r.err).toContain('DATABASE_URL');
    expect(r.err).not.toMatch(/\s+at |node_modules/);
    expect(await db.sql`select n from kept`).toEqual([{ n: 42 }]);
    // the same process opening it twice is refused too
    await expect(openDatabase({ pgliteDir: path.join(dir, 'pg') })).rejects.toMatchObject({ code: 'database_in_use' });
    await db.close();
    expect(existsSync(path.join(dir, 'pg.lock'))).toBe(false);

    // let go: the next process opens it, and finds the data
    const again = await cli(['migrate'], dir);
    expect(again.code, again.err).toBe(0);
    const reopened = await openDatabase({ pgliteDir: path.join(dir, 'pg') });
    expect(await reopened.sql`select n from kept`).toEqual([{ n: 42 }]);
    await reopened.close();
  });

  it('a lock left by a process that died is taken over', async () => {
    const dir = dataDir();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(path.join(dir, 'pg.lock'), JSON.stringify({ pid: Number(dead), host: (await import('node:os')).hostname(), command: 'serve', since: '2026-12-01T00:00:00Z' }));
    const db = await openDatabase({ pgliteDir: path.join(dir, 'pg') });
    expect(JSON.parse(readFileSync(path.join(dir, 'pg.lock'), 'utf8')).pid).toBe(process.pid);
    await db.close();
  });
});
