import type { Logger } from 'pino';
import { isAppError } from '../../core/errors.ts';
import { isUnavailable, UNAVAILABLE_ERROR } from '../../core/db/unavailable.ts';

export interface ErrorReply {
  status: number;
  headers: Record<string, string>;
  body: { error: { code: string; message: string; details?: unknown } };
}

/**
 * What a failure answers, for the Koa app and the channel callbacks alike: typed errors their status and stable
 * code; the database away 503 (WeChat and shop systems retry, nothing was acknowledged); anything else a 500
 * without details, logged.
 */
export function errorReply(err: unknown, log: Logger | undefined): ErrorReply {
  if (isAppError(err)) return { status: err.status, headers: {}, body: { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } } };
  if (isUnavailable(err)) {
    log?.warn({ err: (err as Error).message, code: (err as { code?: string }).code }, 'dependency unavailable');
    return { status: 503, headers: { 'Retry-After': '5' }, body: { error: UNAVAILABLE_ERROR } };
  }
  log?.error({ err }, 'unhandled error');
  return { status: 500, headers: {}, body: { error: { code: 'internal', message: '服务器内部错误，请稍后重试' } } };
}
