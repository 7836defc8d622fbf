import { createReadStream, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Context, Next } from 'koa';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.mp3': 'audio/mpeg',
};

/** Pages: the console is a single-page app under /, the customer chat page is /chat. */
const PAGES: Record<string, string> = { '/chat': 'chat.html' };

/** Serves the built console (agent-console/dist). Hashed assets are cached for a year; HTML never. */
export function serveConsole(distDir: string) {
  const root = path.resolve(distDir);
  return async (ctx: Context, next: Next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (ctx.path.startsWith('/api/') || ctx.path.startsWith('/channels/') || ctx.path.startsWith('/socket.io')) return next();
    let rel = PAGES[ctx.path] ?? (safeDecode(ctx.path).replace(/^\/+/, '') || 'index.html');
    let file = path.resolve(root, rel);
    if (!file.startsWith(root + path.sep)) return next(); // path traversal
    const isAsset = rel.startsWith('assets/');
    if (!existsSync(file) || !statSync(file).isFile()) {
      if (isAsset || path.extname(rel)) return next();
      rel = 'index.html'; // client-side routes of the console
      file = path.join(root, rel);
      if (!existsSync(file)) {
        ctx.status = 503;
        ctx.body = { error: { code: 'console_not_built', message: '控制台尚未构建：请运行 npm run build:console' } };
        return;
      }
    }
    ctx.type = TYPES[path.extname(file)] ?? 'application/octet-stream';
    ctx.set('Cache-Control', isAsset ? 'public, max-age=31536000, immutable' : 'no-cache');
    ctx.body = createReadStream(file);
  };
}

function safeDecode(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p; // malformed escapes are just a path that does not exist
  }
}
