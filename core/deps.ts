import type { Logger } from 'pino';
import type { Sql } from './db/client.ts';
import type { EventBus } from './events.ts';

/** What core commands need from the process: the database, the event bus and a logger. */
export interface Deps {
  sql: Sql;
  bus: EventBus;
  log: Logger;
  /** sees each group-commit batch when it is done (its size, its seconds): for /metrics */
  observeBatch?: (batch: 'ingest' | 'reply' | 'delivered', size: number, seconds: number) => void;
}
