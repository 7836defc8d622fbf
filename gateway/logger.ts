import pino, { type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'huike' },
    redact: ['req.headers.authorization', 'password', '*.password', 'token'],
  });
}
