import type { Logger } from 'pino';
import type { Sql } from './db/client.ts';
import type { EventBus } from './events.ts';
import type { InlineAnswerer } from './conversations/inline-answer.ts';
import type { OutboxHandoff } from './conversations/delivery.ts';

export type BatchName = 'ingest' | 'reply' | 'delivered';

/** What core commands need from the process: the database, the event bus and a logger. */
export interface Deps {
  sql: Sql;
  bus: EventBus;
  log: Logger;
  /** sees each group-commit batch when it is done (its size, its seconds): for /metrics */
  observeBatch?: (batch: BatchName, size: number, seconds: number) => void;
  /** a batch was set aside as stalled (still running after STALL_MS): for /metrics and the log */
  batchStalled?: (batch: BatchName, size: number) => void;
  /** an ingest batch starts no sooner than this long after the one before it (INGEST_BATCH_SPACING_MS; unset: 0) */
  ingestSpacingMs?: number;
  /** a write ran again at once after a lost session or a concurrency failure (retryAtOnce): for /metrics */
  retried?: (what: string, code: string) => void;
  /** the bot's answers written with the messages they answer (conversations/inline-answer.ts) */
  answerInline?: InlineAnswerer;
  /** this node's outbox, when it runs one: the inline answers it wrote go out without a claim (delivery.ts) */
  outboxHandoff?: OutboxHandoff;
}
