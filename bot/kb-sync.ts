import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Sql } from '../core/db/client.ts';

const CHANNEL = 'huike_kb_changed';

/** Tells every node following the KB that it changed; `from` is the sender, which does not rebuild again. */
export async function announceKbChange(sql: Sql, from = 'cli'): Promise<void> {
  await sql`select pg_notify(${CHANNEL}, ${from})`;
}

/**
 * Every node answers from its own index of the KB, so a change made through one node must reach the others.
 * The node that made it rebuilds at once and tells the others through Postgres NOTIFY; they rebuild too. A
 * notification sent while a node's listening connection was down is lost, so a node also rebuilds each time
 * that connection comes back.
 */
export class KbSync {
  private readonly node = randomUUID();
  private unlisten: (() => Promise<void>) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private rebuilding: Promise<void> = Promise.resolve();

  constructor(
    private readonly sql: Sql,
    private readonly bot: { reload(): Promise<void> },
    private readonly log: Logger,
  ) {}

  /** After a KB change committed: rebuilds here (awaited, so the caller's answer reflects it), then tells the others. */
  async changed(): Promise<void> {
    await this.bot.reload();
    try {
      await announceKbChange(this.sql, this.node);
    } catch (err) {
      // the change is stored; the other nodes rebuild when their listening connection comes back
      this.log.warn({ err }, 'kb change not announced to the other nodes');
    }
  }

  /** Starts following the other nodes' changes (PostgreSQL only: the embedded database serves one node). */
  async follow(): Promise<void> {
    let established = false;
    const { unlisten } = await this.sql.listen(
      CHANNEL,
      (from) => from !== this.node && this.rebuildSoon(),
      () => {
        if (established) this.rebuildSoon();
        established = true;
      },
    );
    this.unlisten = unlisten;
  }

  // an import or a burst of edits is many notifications: one rebuild after them
  private rebuildSoon(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.rebuilding = this.bot.reload().catch((err) => this.log.error({ err }, 'kb rebuild after another node’s change failed'));
    }, 100);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.unlisten?.().catch(() => {});
    await this.rebuilding;
  }
}
