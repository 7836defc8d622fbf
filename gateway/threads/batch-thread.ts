import { Worker, type ResourceLimits } from 'node:worker_threads';

/**
 * Calls to a worker thread that serves them with `serveBatches` (serve-batches.mjs). Calls made in one turn of
 * the event loop cross in one message, and their answers come back in one message per turn of the thread's:
 * under load the cost of crossing is shared by many calls.
 *
 * The thread starts at the first call. If it ends, the calls still out fail, and the next call starts a new one.
 * An idle thread does not keep the process alive.
 */
export class BatchThread<I, O> {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, { resolve(o: O): void; reject(err: Error): void }>();
  private outgoing: [number, I][] = [];
  private nextId = 1;

  constructor(
    private readonly url: URL,
    private readonly opts: {
      /** names the thread in the errors of calls it did not answer: "HTTP thread closed" */
      name: string;
      workerData?: unknown;
      /** the thread's heap: the process's V8 flags (a young generation of 3 × 32 MB) apply to it too otherwise */
      resourceLimits?: ResourceLimits;
      /** the error a failed call rejects with, from what the thread's `describe` made of it */
      revive(described: unknown): Error;
    },
  ) {}

  call(input: I): Promise<O> {
    const id = this.nextId++;
    return new Promise<O>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.outgoing.push([id, input]) === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.outgoing;
    this.outgoing = [];
    if (!batch.length) return; // failed meanwhile (fail)
    const w = this.thread();
    w.ref();
    w.postMessage(batch);
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    // none of the process's own flags (a loader, --eval) apply to the thread
    const w = new Worker(this.url, { workerData: this.opts.workerData, execArgv: [], resourceLimits: this.opts.resourceLimits });
    w.on('message', (answers: [number, 0 | 1, unknown][]) => {
      for (const [id, failed, value] of answers) {
        const p = this.pending.get(id);
        if (!p) continue;
        this.pending.delete(id);
        if (failed) p.reject(this.opts.revive(value));
        else p.resolve(value as O);
      }
      if (!this.pending.size) w.unref();
    });
    const lost = (why: string) => {
      if (this.worker !== w) return;
      this.worker = null;
      this.fail(why);
    };
    w.on('error', (err: Error) => lost(`${this.opts.name} failed: ${err.message}`));
    w.on('exit', (code) => lost(`${this.opts.name} exited (${code})`));
    this.worker = w;
    return w;
  }

  /**
   * Every call not answered yet fails: whether the thread did its work is unknown, as after a timeout. Calls not
   * posted yet are dropped with them, so none is served after its caller was told it failed.
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
    this.fail(`${this.opts.name} closed`);
    if (w) await w.terminate();
  }
}
