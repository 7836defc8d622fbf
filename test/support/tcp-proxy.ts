import net from 'node:net';
import { openDatabase, type Database } from '../../core/db/client.ts';
import { testDatabase } from './db.ts';

/**
 * A TCP relay in front of a real service (Postgres, Redis) that a test can cut and restore: the service keeps
 * running for every other test, while the node under test sees exactly what a restart looks like from outside
 * (connections dropped, new ones refused, then accepted again on the same port).
 */
export class TcpProxy {
  private server: net.Server | null = null;
  private sockets = new Set<net.Socket>();
  port = 0;
  /** holds every answer of the service this long before passing it on: a far-away database, where round trips count */
  answerDelayMs = 0;
  /**
   * Round trips since it was last set to 0: the client's sends that opened an exchange or followed an answer.
   * Counted, not timed, so a busy machine cannot add one.
   */
  turns = 0;
  private answered = true;
  /**
   * The next answer that contains these bytes (Postgres's "COMMIT" command tag, say) is not passed on: its
   * connection is dropped instead, as when a session is lost after the server did the work but before the answer
   * arrived.
   */
  loseAnswerWith: string | null = null;
  constructor(private target: { host: string; port: number }) {}

  async start(port = 0): Promise<number> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream);
      client.on('data', () => {
        if (this.answered) this.turns++;
        this.answered = false;
      });
      const answer = (chunk: Buffer) => {
        if (this.loseAnswerWith !== null && chunk.includes(this.loseAnswerWith)) {
          this.loseAnswerWith = null;
          client.destroy();
          return upstream.destroy();
        }
        this.answered = true;
        client.write(chunk);
      };
      // in arrival order: timers of equal delay fire in the order they were set
      upstream.on('data', (chunk: Buffer) => (this.answerDelayMs ? setTimeout(() => answer(chunk), this.answerDelayMs) : answer(chunk)));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Drops every connection and refuses new ones (the service "goes down"). */
  async cut(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const sock of this.sockets) sock.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /**
   * Drops every open connection at once but goes on accepting new ones: the sessions end (an idle timeout, a
   * restarted pooler, a reset network path) while the service itself stays up.
   */
  drop(): void {
    for (const sock of this.sockets) sock.destroy();
  }

  /** Accepts connections again on the same port (the service "is back"). */
  async restore(): Promise<void> {
    await this.start(this.port);
  }

  async stop(): Promise<void> {
    await this.cut();
  }
}

/**
 * A fresh test database on the real Postgres, reached through a relay the test can cut: `database` is this
 * node's pool over the relay, `url` the relayed address, `direct` a pool that bypasses the relay; close() drops
 * them and the database.
 */
export async function databaseBehindRelay(opts: { max?: number; onQuery?: (query: string) => void } = {}): Promise<{ proxy: TcpProxy; url: string; database: Database; direct: Database; close(): Promise<void> }> {
  const owned = await testDatabase();
  const real = new URL(owned.url!);
  const proxy = new TcpProxy({ host: real.hostname, port: Number(real.port || 5432) });
  await proxy.start();
  real.port = String(proxy.port);
  const database = await openDatabase({ databaseUrl: real.toString(), max: opts.max, onQuery: opts.onQuery });
  return {
    proxy,
    url: real.toString(),
    database,
    /** the same database, not through the relay: another node that keeps its connection */
    direct: owned,
    async close() {
      await proxy.restore().catch(() => {});
      await database.close();
      await proxy.stop();
      await owned.close();
    },
  };
}
