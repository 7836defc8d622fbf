import path from 'node:path';
import postgres from 'postgres';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './pglite.ts';
import { settleWithin } from '../time-limit.ts';
import { sessionLost } from './unavailable.ts';

export type Sql = postgres.Sql<{}>;
export type Tx = postgres.TransactionSql<{}>;
/** Anything that runs queries: the pool or an open transaction. */
export type Queryable = Sql | Tx;

export interface Database {
  sql: Sql;
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

export interface OpenOptions {
  databaseUrl?: string;
  /** Where PGlite keeps its files; `null` means in memory. */
  pgliteDir?: string | null;
  max?: number;
  /**
   * Postgres ends a session left idle inside a transaction this long (default 30 s), and with it the locks it
   * holds: a node frozen or cut off mid-transaction otherwise keeps its customers' rows locked until TCP gives
   * up on it, hours later on Linux. Ours never idle in a transaction for more than a few milliseconds.
   */
  idleInTransactionMs?: number;
  /** sees every query sent (its text); for tests that count round trips on hot paths */
  onQuery?: (query: string) => void;
}

export const IDLE_IN_TRANSACTION_MS = 30_000;
// the idle limit of each pool's transactions (real PostgreSQL only; 0 = none)
const idleInTransaction = new WeakMap<Sql, number>();

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let url = opts.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres(opts.pgliteDir === null ? undefined : path.resolve(opts.pgliteDir ?? './data/pg'));
    url = embedded.url;
  }
  const sql = postgres(url, {
    // PGlite is one backend: pglite-socket interleaves the extended-protocol messages of several connections
    // (unnamed portals collide), so the embedded default gets exactly one connection and postgres.js queues.
    max: embedded ? 1 : (opts.max ?? 20),
    onnotice: () => {},
    // rows come back camelCase; sql(obj) helpers write snake_case columns
    transform: postgres.camel,
    // int8 counts come back as JS numbers; our counts and fen amounts stay far below 2^53.
    types: { bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) } },
    connection: { application_name: 'huike' },
    // The driver's default backoff grows with failures counted across the whole pool (3^n / 100 s, up to 20 s):
    // after a 2 s restart, 20 connections' refused attempts pushed the next try out by many seconds, and
    // callbacks timed out at WeChat's 5 s long after Postgres was back. Capped at 1 s, a node serves again
    // within about a second of the database.
    backoff: (retries: number) => (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** retries, 1),
    ...(opts.onQuery ? { debug: (_conn: number, query: string) => opts.onQuery!(query) } : {}),
  });
  if (!embedded) idleInTransaction.set(sql, opts.idleInTransactionMs ?? IDLE_IN_TRANSACTION_MS);
  return {
    sql,
    kind: embedded ? 'pglite' : 'postgres',
    async close() {
      await sql.end({ timeout: 5 });
      await embedded?.stop();
    },
  };
}

/**
 * Runs `fn` in a transaction on a reserved connection. postgres.js 3.4's `sql.begin()` can send BEGIN without
 * marking its connection reserved when BEGIN fills the connection's pipeline (porsager/postgres#823, #1189):
 * the call fails with UNSAFE_TRANSACTION, and the open transaction can swallow unrelated pooled queries.
 * Reserving first, then BEGIN, never takes that path.
 */
export async function transaction<T>(sql: Sql, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const conn = await reserveWithin(sql, RESERVE_TIMEOUT_MS);
  try {
    let result: T;
    try {
      // BEGIN goes out in the same write as fn's first statements (pipelined): one round trip fewer. The idle
      // limit is set per transaction, not at connect: PgBouncer refuses startup parameters it does not know. Both
      // go as one simple-protocol query, not as two extended-protocol statements (parse, bind, execute each).
      // BEGIN is written before fn runs: fn's first statements go out synchronously
      const begun = conn.unsafe(beginStatement(idleInTransaction.get(sql))).execute();
      [, result] = await Promise.all([begun, fn(conn as unknown as Tx)]);
    } catch (err) {
      // after a failed statement the server has aborted the transaction (an early COMMIT only ended it). On a
      // connection that died there is nothing to roll back (the server did it as the session ended). A ROLLBACK
      // sent there after a read ECONNRESET used to hang for good, and the batch in the transaction with it (the
      // driver patch v4 settles it now); the deadline guards against any other way a ROLLBACK could hang.
      if (!sessionLost(err)) await settleWithin(conn`rollback`.execute(), ROLLBACK_TIMEOUT_MS);
      throw err;
    }
    await (committing.get(conn) ?? conn`commit`);
    return result;
  } finally {
    committing.delete(conn);
    conn.release();
  }
}

/** BEGIN, with the session's idle limit for this transaction only (SET LOCAL ends with it) */
function beginStatement(idleMs: number | undefined): string {
  return idleMs ? `begin; set local idle_in_transaction_session_timeout = ${Math.floor(idleMs)}` : 'begin';
}

// the COMMIT sent behind a transaction's last statements (commitWith), which transaction() waits for instead
const committing = new WeakMap<object, Promise<unknown>>();

/**
 * Sends COMMIT right behind `statements`, already sent with `.execute()`, so the transaction's last statements
 * and its commit share one round trip. Resolves with the statements' results; the caller must send nothing more
 * on `tx`, and sees the transaction as committed only when transaction() returns. A statement that fails aborts
 * the transaction on the server, so the COMMIT behind it changes nothing, and the statement's error is thrown.
 */
export function commitWith<T extends readonly unknown[] | []>(tx: Tx, statements: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const commit = tx`commit`.execute();
  // awaited by transaction(); a failure there is the caller's error, not an unhandled rejection
  commit.catch(() => {});
  committing.set(tx, commit);
  return Promise.all(statements);
}

const ROLLBACK_TIMEOUT_MS = 5000;

/** How long a transaction waits for a connection before answering "unavailable" (WeChat gives up after 5 s). */
export const RESERVE_TIMEOUT_MS = 5000;

/**
 * sql.reserve() with a deadline. While Postgres restarts, postgres.js 3.4.9 can leave a reserve waiter queued
 * forever; the caller gets CONNECT_TIMEOUT (a 503) instead, and a connection handed over after the deadline is
 * released at once rather than leaked.
 */
export async function reserveWithin(sql: Sql, ms: number): Promise<Awaited<ReturnType<Sql['reserve']>>> {
  let late = false;
  let timer: NodeJS.Timeout | undefined;
  const reserving = sql.reserve();
  reserving.then(
    (c) => {
      if (late) c.release();
    },
    () => {},
  );
  try {
    return await Promise.race([
      reserving,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          late = true;
          reject(Object.assign(new Error('数据库连接超时'), { code: 'CONNECT_TIMEOUT' }));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
