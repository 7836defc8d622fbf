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
