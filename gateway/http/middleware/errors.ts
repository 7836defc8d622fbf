import type { Context, Next } from 'koa';
import { isAppError } from '../../../core/errors.ts';
import { isUnavailable, UNAVAILABLE_ERROR } from '../../../core/db/unavailable.ts';

/** Maps every failure to `{"error":{code,message}}`; unexpected ones are logged and answered without details. */
export async function errorHandler(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) {
      ctx.status = 404;
      ctx.body = { error: { code: 'not_found', message: `没有这个地址：${ctx.method} ${ctx.path}` } };
    }
  } catch (err) {
    if (isAppError(err)) {
      ctx.status = err.status;
      ctx.body = { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } };
      return;
    }
    if (isUnavailable(err)) {
      // the database is away or cannot write now: 503 tells WeChat and shop systems to retry, and nothing was
      // acknowledged
      ctx.state.log?.warn({ err: (err as Error).message, code: (err as { code?: string }).code }, 'dependency unavailable');
      ctx.status = 503;
      ctx.set('Retry-After', '5');
      ctx.body = { error: UNAVAILABLE_ERROR };
      return;
    }
    ctx.state.log?.error({ err }, 'unhandled error');
    ctx.status = 500;
    ctx.body = { error: { code: 'internal', message: '服务器内部错误，请稍后重试' } };
  }
}
