import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';
import type { z } from 'zod';
import { badRequest, payloadTooLarge, unsupportedMediaType } from '../../core/errors.ts';
import { parse } from '../validate.ts';

export const JSON_LIMIT = 64 * 1024;

/**
 * Reads a request's body, refusing before reading when Content-Length already says it is too big. Listeners, not
 * `for await`: the async iterator costs a callback several microseconds of promises and stream plumbing.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] || 0);
  if (declared > limit) return Promise.reject(payloadTooLarge(limit));
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  if (req.destroyed) return Promise.reject(badRequest('incomplete_body', '请求体不完整（连接已断开）'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      done();
      req.resume(); // drain the rest so the connection can answer
      reject(payloadTooLarge(limit));
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    };
    // the client went away before the end: nothing to answer, and nothing was read
    const onClose = () => {
      done();
      reject(badRequest('incomplete_body', '请求体不完整（连接已断开）'));
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', onError);
  });
}

/** The raw body of a Koa request (see readBody). */
export const readRaw = (ctx: Context, limit: number): Promise<Buffer> => readBody(ctx.req, limit);

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
