import type { Context, Next } from 'koa';
import { errorReply } from '../error-reply.ts';

/** Maps every failure to `{"error":{code,message}}`; unexpected ones are logged and answered without details. */
export async function errorHandler(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) {
      ctx.status = 404;
      ctx.body = { error: { code: 'not_found', message: `没有这个地址：${ctx.method} ${ctx.path}` } };
    }
  } catch (err) {
    const reply = errorReply(err, ctx.state.log);
    ctx.status = reply.status;
    for (const [name, value] of Object.entries(reply.headers)) ctx.set(name, value);
    ctx.body = reply.body;
  }
}
