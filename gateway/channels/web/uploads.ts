import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import Router from '@koa/router';
import { AppError, badRequest, notFound, unsupportedMediaType } from '../../../core/errors.ts';
import { readRaw } from '../../http/body.ts';
import type { HttpContext } from '../../http/context.ts';
import { VISITOR_ID } from './inbound.ts';

export const UPLOAD_LIMIT = 5 * 1024 * 1024;
const NAME = /^[0-9a-f]{64}\.(png|jpg|gif|webp)$/;
const TYPES: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp' };

/** The picture format by its first bytes, not by what the client claims: anything else is refused. */
export function sniffImage(b: Buffer): keyof typeof TYPES | null {
  if (b.length > 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpg';
  if (b.length > 6 && (b.subarray(0, 6).toString('latin1') === 'GIF87a' || b.subarray(0, 6).toString('latin1') === 'GIF89a')) return 'gif';
  if (b.length > 12 && b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP') return 'webp';
  return null;
}

/**
 * Pictures from the H5 chat page: `POST /channels/web/upload` (the raw image, the visitor id in X-Visitor-Id)
 * stores it in the database by its sha256, so the same picture twice is one row, and answers its URL once it
 * is stored; the page then sends it as an image message. `GET /uploads/:name` serves it to the console, from
 * any node.
 */
export function webUploadRoutes(app: HttpContext): Router {
  // where versions before 2026-12 kept them: still served, never written
  const legacyDir = path.resolve(app.config.DATA_DIR, 'uploads');
  const sql = app.deps.sql;
  const r = new Router();
  r.post('/channels/web/upload', async (ctx) => {
    if (!VISITOR_ID.test(ctx.get('x-visitor-id'))) throw new AppError(401, 'unknown_visitor', '缺少访客标识，请刷新聊天页面后重试');
    if (!ctx.is('image/*')) throw unsupportedMediaType('image/png、image/jpeg、image/gif 或 image/webp');
    const raw = await readRaw(ctx, UPLOAD_LIMIT);
    const kind = sniffImage(raw);
    if (!kind) throw badRequest('invalid_image', '只支持 PNG、JPEG、GIF、WebP 图片');
    const name = `${createHash('sha256').update(raw).digest('hex')}.${kind}`;
    await sql`insert into uploads (name, bytes) values (${name}, ${raw}) on conflict (name) do nothing`;
    ctx.status = 201;
    ctx.body = { url: `/uploads/${name}`, bytes: raw.length };
  });
  r.get('/uploads/:name', async (ctx) => {
    const name = ctx.params.name;
    if (!NAME.test(name)) throw notFound('图片');
    const [row] = await sql<{ bytes: Buffer }[]>`select bytes from uploads where name = ${name}`;
    const bytes = row?.bytes ?? (await readFile(path.join(legacyDir, name)).catch(() => null));
    if (!bytes) throw notFound('图片');
    ctx.type = TYPES[name.split('.')[1]];
    ctx.set('cache-control', 'public, max-age=31536000, immutable');
    ctx.set('x-content-type-options', 'nosniff');
    ctx.body = bytes;
  });
  return r;
}
