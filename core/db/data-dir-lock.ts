import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { AppError } from '../errors.ts';

interface Holder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

/**
 * The embedded database's directory is one process's at a time. PGlite takes no lock of its own, and a second
 * process opening the same directory (`huike import` beside a running `npm start`) tears the first one's files:
 * the next start dies with `Aborted()` and the data is gone. Like PostgreSQL's postmaster.pid, a file beside the
 * directory names the holder; a live holder is never taken over, a dead one is.
 */
export function lockDataDir(dir: string): () => void {
  const path = `${dir}.lock`;
  const me: Holder = { pid: process.pid, host: hostname(), command: process.argv.slice(2).join(' ') || 'node', since: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const holder = readHolder(path);
      if (holder && isAlive(holder)) {
        const who = `${holder.pid}${holder.command ? `（${holder.command}）` : ''}`;
        throw new AppError(
          409,
          'database_in_use',
          `内置数据库 ${dir} 正被进程 ${who} 使用，同一时间只能有一个进程打开它：请先停止该进程，或改用 DATABASE_URL。若该进程已不存在，删除 ${path} 后重试 / ` +
            `the embedded database is in use by process ${holder.pid}: stop it first, or use DATABASE_URL (if that process is gone, remove ${path})`,
        );
      }
      // the holder died without letting go (killed, crashed): its lock is stale
      unlinkSync(path);
    }
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      if (readHolder(path)?.pid === me.pid) unlinkSync(path);
    } catch {
      // already gone
    }
  };
  process.on('exit', release);
  return release;
}

function readHolder(path: string): Holder | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Holder;
  } catch {
    return null; // unreadable or half-written: treated as stale
  }
}

function isAlive(h: Holder): boolean {
  // a holder on another host (a directory on shared storage) cannot be checked from here: assume it is alive
  if (h.host !== hostname()) return true;
  try {
    process.kill(h.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
