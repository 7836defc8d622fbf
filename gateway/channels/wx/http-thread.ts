import { Worker } from 'node:worker_threads';

/**
 * The calls to WeChat and WeCom leave from a thread of their own (http-thread.mjs). A busy gateway sends one
 * answer for every customer message, and node:http's client with its sockets cost the main thread about 0.2 ms
 * of CPU a call: as much again as receiving the customer's callback. On its own thread that work runs on the
 * second core, beside the callbacks, the database and the agents' sockets. Requests and answers cross in batches,
 * one message each way per turn of either event loop.
 */
export interface HttpAnswer {
  status: number;
  text: string;
}

interface Pending {
  resolve(a: HttpAnswer): void;
  reject(err: Error): void;
}

type Answer = { id: number; status: number; text: string } | { id: number; error: string; code?: string };

export class HttpThread {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private outgoing: { id: number; url: string; body: string | undefined; timeoutMs: number }[] = [];
  private nextId = 1;

  constructor(private readonly sockets: number) {}

  request(url: string, body: string | undefined, timeoutMs: number): Promise<HttpAnswer> {
    const id = this.nextId++;
    return new Promise<HttpAnswer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.outgoing.push({ id, url, body, timeoutMs }) === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.outgoing;
    this.outgoing = [];
    if (!batch.length) return; // failed meanwhile (fail)
    const w = this.thread();
    // a thread that is idle must not keep a process alive (a CLI command ends when its work is done)
    w.ref();
    w.postMessage(batch);
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    // plain JavaScript: none of the process's own flags (a loader, --eval) apply to it
    const w = new Worker(new URL('./http-thread.mjs', import.meta.url), { workerData: { sockets: this.sockets }, execArgv: [] });
    w.on('message', (answers: Answer[]) => {
      for (const a of answers) {
        const p = this.pending.get(a.id);
        if (!p) continue;
        this.pending.delete(a.id);
        if ('error' in a) p.reject(Object.assign(new Error(a.error), { code: a.code }));
        else p.resolve(a);
      }
      if (!this.pending.size) w.unref();
    });
    const lost = (why: string) => {
      if (this.worker !== w) return;
      this.worker = null;
      this.fail(why);
    };
    w.on('error', (err: Error) => lost(`HTTP thread failed: ${err.message}`));
    w.on('exit', (code) => lost(`HTTP thread exited (${code})`));
    this.worker = w;
    return w;
  }

  /**
   * Every call not answered yet fails. Whether one reached the API is unknown, as after a timeout: callers treat
   * it as a transport failure (the outbox retries; a WeCom send carries its msgid, so WeChat drops a repeat).
   * Calls not posted yet are dropped with them, so none leaves after its caller was told it failed.
   */
  private fail(why: string): void {
    this.outgoing = [];
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(new Error(why));
  }

  /** Ends the thread; calls still out fail. The next call starts a new one. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    this.fail('HTTP thread closed');
    if (w) await w.terminate();
  }
}
