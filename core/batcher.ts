/**
 * Group commit for hot writes: calls that arrive while earlier ones are running are served together, in one
 * transaction of set-based statements. A call made when a slot is free starts at the next turn of the event loop
 * with whatever else arrived in that turn; under load the database sees a few large transactions instead of
 * many small ones, and each caller still resolves only after its own batch committed.
 *
 * Calls with the same key (one customer, one conversation) keep their order: a call never joins a batch while
 * an earlier call with its key is still in one that is running.
 *
 * A batch still running after `stallMs` gives up its slot, so one stuck batch does not hold up everyone: its
 * rows may be locked by a transaction that will not end soon (a node frozen in the middle of one), and the next
 * batch, for other customers, need not wait for that. At most `maxStalled` batches are set aside this way.
 */
/**
 * When the hot write batches (inbound messages, replies, deliveries) stop waiting for a stuck one: far above a
 * batch's normal 5-50 ms, well below WeChat's 5 s.
 */
export const STALL_MS = 1000;

export class Batcher<I, O> {
  private queue: { item: I; key: string; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private busyKeys = new Map<string, number>();
  private running = 0;
  private stalled = 0;
  private scheduled = false;
  private spacingTimer: NodeJS.Timeout | undefined;
  private lastStart = -Infinity;

  constructor(
    /** serves a batch: one result per item, in order; an Error fails only its own item */
    private readonly run: (items: I[]) => Promise<(O | Error)[]>,
    private readonly opts: {
      max: number;
      concurrency: number;
      key: (item: I) => string;
      observe?: (size: number, seconds: number) => void;
      /** a batch running this long no longer counts against `concurrency` (default: never) */
      stallMs?: number;
      /** how many batches may be set aside as stalled at once (default 4) */
      maxStalled?: number;
      /** told of each batch set aside, with its size */
      onStall?: (size: number) => void;
      /** a batch starts no sooner than this long after the previous one started (default 0) */
      spacingMs?: number;
      /** this many calls waiting start a batch before the spacing is over (default: never) */
      spacingEndsAt?: number;
    },
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, key: this.opts.key(item), resolve, reject });
      if (this.spacingTimer && this.queue.length >= (this.opts.spacingEndsAt ?? Infinity)) {
        clearTimeout(this.spacingTimer);
        this.spacingTimer = undefined;
        this.scheduled = false;
      }
      this.schedule();
    });
  }

  /** how many calls wait for a batch, and how many batches run (for metrics and tests) */
  get load(): { waiting: number; running: number; stalled: number } {
    return { waiting: this.queue.length, running: this.running, stalled: this.stalled };
  }

  private schedule(): void {
    if (this.scheduled || this.running >= this.opts.concurrency) return;
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      this.spacingTimer = undefined;
      this.pump();
    };
    const wait = this.untilSpaced();
    if (wait > 1) this.spacingTimer = setTimeout(go, wait);
    else setImmediate(go);
  }

  /** whole ms until the next batch may start (0: now) */
  private untilSpaced(): number {
    if (this.queue.length >= (this.opts.spacingEndsAt ?? Infinity)) return 0;
    return Math.max(0, Math.ceil(this.lastStart + (this.opts.spacingMs ?? 0) - performance.now()));
  }

  private pump(): void {
    while (this.running < this.opts.concurrency && this.queue.length) {
      // within a ms counts as due: a timer counts from the event loop's cached time, and may fire a little early
      if (this.untilSpaced() > 1) return this.schedule();
      const batch: typeof this.queue = [];
      const rest: typeof this.queue = [];
      const held = new Set<string>();
      for (const call of this.queue) {
        // behind an earlier call of its key: that one is running, or waits here too
        if (batch.length >= this.opts.max || this.busyKeys.has(call.key) || held.has(call.key)) {
          rest.push(call);
          held.add(call.key);
        } else batch.push(call);
      }
      // a key held back stays behind its earlier calls even if those made it into this batch
      this.queue = rest;
      if (!batch.length) return;
      for (const c of batch) this.busyKeys.set(c.key, (this.busyKeys.get(c.key) ?? 0) + 1);
      this.running++;
      const started = performance.now();
      this.lastStart = started;
      let setAside = false;
      let stall: NodeJS.Timeout | undefined;
      // with as many set aside as allowed already, it asks again later
      const watch = (stallMs: number) =>
        (stall = setTimeout(() => {
          if (this.stalled >= (this.opts.maxStalled ?? 4)) return watch(stallMs);
          setAside = true;
          this.stalled++;
          this.running--;
          this.opts.onStall?.(batch.length);
          this.schedule();
        }, stallMs).unref());
      if (this.opts.stallMs !== undefined) watch(this.opts.stallMs);
      this.run(batch.map((c) => c.item))
        .then(
          (results) => batch.forEach((c, i) => (results[i] instanceof Error ? c.reject(results[i]) : c.resolve(results[i] as O))),
          (err) => batch.forEach((c) => c.reject(err)),
        )
        .finally(() => {
          clearTimeout(stall);
          this.opts.observe?.(batch.length, (performance.now() - started) / 1000);
          for (const c of batch) {
            const n = this.busyKeys.get(c.key)! - 1;
            if (n) this.busyKeys.set(c.key, n);
            else this.busyKeys.delete(c.key);
          }
          if (setAside) this.stalled--;
          else this.running--;
          this.schedule();
        });
    }
  }
}
