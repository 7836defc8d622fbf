import type { Context } from 'koa';
import type { z } from 'zod';
import { badRequest, payloadTooLarge, unsupportedMediaType } from '../../core/errors.ts';
import { parse } from '../validate.ts';

export const JSON_LIMIT = 64 * 1024;

/** Reads the raw body, refusing before reading when Content-Length already says it is too big. */
export async function readRaw(ctx: Context, limit: number): Promise<Buffer> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw payloadTooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      ctx.req.resume(); // drain the rest so the connection can answer
      throw payloadTooLarge(limit);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function readJson<S extends z.ZodType>(ctx: Context, schema: S, limit = JSON_LIMIT): Promise<z.infer<S>> {
  if (!ctx.is('application/json')) throw unsupportedMediaType('application/json');
  const raw = await readRaw(ctx, limit);
  let data: unknown;
  try {
    data = JSON.parse(raw.toString('utf8'));
  } catch {
    throw badRequest('invalid_json', '请求体不是合法的 JSON');
  }
  return parse(schema, data);
}
