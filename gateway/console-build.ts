import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CONSOLE_ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'agent-console');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** True when agent-console/dist is missing or older than any console source file. */
export function consoleIsStale(): boolean {
  const built = path.join(CONSOLE_ROOT, 'dist', 'index.html');
  if (!existsSync(built)) return true;
  return newestMtime(CONSOLE_ROOT) > statSync(built).mtimeMs;
}

/** Builds the console with Vite when its sources changed, so `npm start` on a fresh clone just works. */
export async function ensureConsoleBuilt(log: (msg: string) => void = () => {}): Promise<void> {
  if (!consoleIsStale()) return;
  log('正在构建客服控制台（仅首次，需数秒）… / building the console…');
  const { build } = await import('vite');
  // NODE_ENV may be "test" (vitest) or "development": the served console is always the production build
  const previous = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: path.join(CONSOLE_ROOT, 'vite.config.ts'), mode: 'production', logLevel: 'warn' });
  } finally {
    process.env.NODE_ENV = previous;
  }
}
