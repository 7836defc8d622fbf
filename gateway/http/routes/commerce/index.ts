import { createHmac, timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import { ingestCommerceBatch, parseCommerceBatch } from '../../../../core/commerce/events.ts';
import { AppError, badRequest, unsupportedMediaType } from '../../../../core/errors.ts';
import { readRaw } from '../../body.ts';
import type { HttpContext } from '../../context.ts';

export const COMMERCE_LIMIT = 4 * 1024 * 1024;

/** HMAC-SHA256 of the raw body, hex: what a shop system puts in X-Huike-Signature. */
export function commerceSignature(secret: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

function signatureOk(secret: string, raw: Buffer, given: string): boolean {
  if (!/^[0-9a-f]{64}$/i.test(given)) return false;
  return timingSafeEqual(Buffer.from(commerceSignature(secret, raw), 'hex'), Buffer.from(given.toLowerCase(), 'hex'));
}

/**
 * `POST /api/v1/commerce/events`: orders, carts, payments, logistics and browsing from any platform, in batches
 * of up to 1000. The signature is checked on the raw bytes before anything is parsed; a batch with any bad
 * event is refused whole, so nothing is half-stored.
 */
export function commerceRoutes(app: HttpContext): Router {
  const r = new Router({ prefix: '/api/v1/commerce' });
  r.post('/events', async (ctx) => {
    const secret = app.config.COMMERCE_WEBHOOK_SECRET;
    if (!secret) throw new AppError(404, 'commerce_not_configured', '未配置 COMMERCE_WEBHOOK_SECRET，电商事件接口未开启');
    if (!ctx.is('application/json')) throw unsupportedMediaType('application/json');
    const raw = await readRaw(ctx, COMMERCE_LIMIT);
    if (!signatureOk(secret, raw, ctx.get('x-huike-signature')))
      throw new AppError(401, 'bad_signature', 'X-Huike-Signature 签名校验失败（应为请求体的 HMAC-SHA256 十六进制）');
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      throw badRequest('invalid_json', '请求体不是合法的 JSON');
    }
    const events = parseCommerceBatch(body);
    ctx.body = await ingestCommerceBatch(app.deps, events);
  });
  return r;
}
