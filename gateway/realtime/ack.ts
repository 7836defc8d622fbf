import type { Logger } from 'pino';
import { isAppError } from '../../core/errors.ts';
import { isUnavailable, UNAVAILABLE_ERROR } from '../../core/db/unavailable.ts';

export type Ack = (response: unknown) => void;

/**
 * Wraps a socket handler that answers through an ack: `{ok:true, ...result}` or `{ok:false, error:{code,message}}`.
 * A client that sent no ack callback still gets its work done.
 */
export function withAck<A>(log: Logger, fn: (arg: A) => Promise<Record<string, unknown>>) {
  return async (arg: A, ack?: Ack) => {
    const reply = typeof ack === 'function' ? ack : () => {};
    try {
      reply({ ok: true, ...(await fn(arg)) });
    } catch (err) {
      if (isAppError(err)) return reply({ ok: false, error: { code: err.code, message: err.message } });
      // not stored: the web chat page offers to send it again, with the same client message id
      if (isUnavailable(err)) return reply({ ok: false, error: UNAVAILABLE_ERROR });
      log.error({ err }, 'socket handler failed');
      reply({ ok: false, error: { code: 'internal', message: '服务器内部错误，请稍后重试' } });
    }
  };
}
