/**
 * Failures that say "not now", not "never": the same request is likely to succeed a little later, so a caller
 * gets 503 (WeChat and shop systems retry) and our own work (the bot, the outbox) tries again.
 */
const UNAVAILABLE = new Set([
  // the way to the database: node sockets, DNS during a failover, postgres.js's own connection errors
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
  // class 08, connection exceptions
  '08000', '08001', '08003', '08004', '08006',
  // class 57: shutdown, crash restart, starting up; a query cancelled by an operator
  '57P01', '57P02', '57P03', '57014',
  // class 53, out of resources: too many connections (a fleet that outgrew max_connections), disk full, memory
  '53000', '53100', '53200', '53300', '53400',
  // read-only: a failover left us on a standby, or the database was set read-only for maintenance
  '25006',
  // our session was ended for idling in a transaction (the node was frozen or cut off meanwhile)
  '25P03',
  // concurrency: a deadlock victim or a serialization failure succeeds when run again
  '40001', '40P01',
]);

/** The database (or the way to it) cannot do this now: worth a 503 to a caller, or a later retry for work of our own. */
export function isUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && UNAVAILABLE.has(code);
}

/** What a client is told when isUnavailable: the same words over HTTP (a 503) and in a socket's ack. */
export const UNAVAILABLE_ERROR = { code: 'unavailable', message: '服务暂时不可用（数据库暂时无法处理请求），请稍后重试' } as const;

// errors after which the session is gone: the connection closed or reset, or the server ended it (shutdown,
// crash, idle in transaction too long)
const SESSION_LOST = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', '57P01', '57P02', '57P03', '25P03', '08000', '08003', '08006']);
const codeOf = (err: unknown) => String((err as { code?: unknown })?.code);
/** The session is gone: there is nothing left to roll back on it. */
export const sessionLost = (err: unknown) => SESSION_LOST.has(codeOf(err));

/**
 * Worth running again at once on a fresh session: a lost session says nothing about the server (a pool connection
 * ended while idle is found out only when the next statement is written to it), and deadlock victims and
 * serialization failures succeed when run again. Not a server starting up (57P03) or a network that timed out,
 * which a retry at once would only meet again.
 */
const RETRY_AT_ONCE = new Set([...SESSION_LOST, '40001', '40P01']);
RETRY_AT_ONCE.delete('57P03');
RETRY_AT_ONCE.delete('ETIMEDOUT');

/**
 * Runs `work` up to `times` more when it failed in a way a fresh session mends at once; anything else, or the
 * last failure, is thrown (a server that is down answers ECONNREFUSED or 57P03, not retried here). Only for work
 * that is idempotent even if the lost session had committed it before its answer was lost.
 */
export async function retryAtOnce<T>(
  work: () => Promise<T>,
  deps: { log: { warn(obj: object, msg: string): void }; retried?: (what: string, code: string) => void },
  what: string,
  times = 2,
): Promise<T> {
  for (let left = times; ; left--) {
    try {
      return await work();
    } catch (err) {
      if (left <= 0 || !RETRY_AT_ONCE.has(codeOf(err))) throw err;
      // worth a line: lost sessions come in bursts at a failover, which an operator wants to see
      deps.log.warn({ code: codeOf(err), what }, 'database session lost or a concurrency failure: running again at once');
      deps.retried?.(what, codeOf(err));
      // a failover ends every idle session of the pool together: their close events wait in the same turn of the
      // event loop, and a retry started before they are handled is handed the next dead session
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
