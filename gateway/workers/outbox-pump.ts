import type { Deps } from '../../core/deps.ts';
import { claimDueDeliveries, releaseClaims, type DueDelivery, type OutboxHandoff, type Reserved } from '../../core/conversations/delivery.ts';
import type { Channel } from '../../core/conversations/rows.ts';
import type { WorkLoop } from './loop.ts';
import { OUTBOX_DEFAULTS, sendOne, type ChannelSender, type OutboxOptions } from './outbox.ts';

/**
 * The outbox worker. It keeps up to `inFlight` calls to the channels going and claims more rows as calls finish,
 * instead of passes that claim, send all and record all before the next: there, each pass waited for its slowest
 * send and its records, and a busy node sent about 1,100 messages a second whatever WeChat could take.
 *
 * Claims are one at a time and wait for a quarter of the places to be free, so a busy outbox claims (a transaction
 * of two round trips) in batches, not row by row. After a claim that found fewer rows than it asked for, the next
 * waits `gatherMs` even when new rows are announced: under load every new reply announces itself, and claiming
 * each alone cost more CPU than the sends. With nothing due it polls every `idleMs`, or at once when nudged.
 *
 * The node's own inline answers come through `handoff` instead (OutboxHandoff), written already claimed: into a
 * free place at their commit, or else into a queue that goes before any claim. Only while no older rows wait for a
 * claim, so replies still leave in order. One that waited too long to start within its lease is given back.
 */
export function startOutbox(
  deps: Deps,
  senders: Partial<Record<Channel, ChannelSender>>,
  opts: OutboxOptions & { idleMs: number },
): WorkLoop & { handoff: OutboxHandoff } {
  const o = { ...OUTBOX_DEFAULTS, ...opts };
  const refillAt = Math.max(1, Math.ceil(o.inFlight / 4));
  // how long a handed row may wait for a place: a call started later could outlive its lease (OutboxOptions)
  const startWithinMs = o.leaseMs - 2 * o.sendTimeoutMs;
  const queueMax = startWithinMs > 0 ? o.handoffQueue : 0;
  let calling = 0; // channel calls under way
  const queued: { d: DueDelivery; by: number }[] = []; // handed rows waiting for a place, oldest first
  let reserved = 0; // places set aside for rows a transaction of the node's is claiming (handoff)
  let claimingFor = 0; // places the claim under way may fill
  // rows may be waiting for a claim: true until a claim finds fewer than it asked for, and again when one is announced
  let backlog = true;
  const unfinished = new Set<Promise<void>>(); // sends not yet recorded, and rows being given back
  let claiming: Promise<number> | null = null;
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | null = null;
  let gathering = false; // a pause nudges do not cut short

  const wait = (ms: number, nudgeable: boolean) => {
    if (timer) clearTimeout(timer);
    if (stopped) return void (timer = null); // a claim that ends after stop() must not keep the process alive
    gathering = !nudgeable;
    timer = setTimeout(() => {
      timer = null;
      gathering = false;
      pump();
    }, ms);
  };

  const start = (d: DueDelivery) => {
    calling++;
    let freed = false;
    const free = () => {
      if (freed) return;
      freed = true;
      calling--;
      pump();
    };
    const p = sendOne(deps, senders, d, o, free)
      .catch((err) => deps.log.warn({ err, messageId: d.message.id }, 'outcome of a send not recorded: the message comes back when its lease ends'))
      .finally(() => {
        free();
        unfinished.delete(p);
      });
    unfinished.add(p);
  };

  /** claimable again at once (unsent), and claimed by the next claim; on failure, when their lease ends */
  const giveBack = (rows: DueDelivery[]) => {
    if (!rows.length) return;
    const p = releaseClaims(deps, rows)
      .then(() => nudge())
      .catch((err) => deps.log.warn({ err, rows: rows.length }, 'claimed rows not given back: they come back when their lease ends'))
      .finally(() => unfinished.delete(p));
    unfinished.add(p);
  };

  // what comes next is decided before the sends start: a call that returns at once must find the pause already set
  const claim = (limit: number): Promise<number> => {
    const c = (async () => {
      let due: DueDelivery[];
      try {
        due = await claimDueDeliveries(deps, limit, o.leaseMs);
        failures = 0;
      } catch (err) {
        failures++;
        wait(Math.min(30_000, o.idleMs * 2 ** failures), false);
        claiming = null;
        claimingFor = 0;
        throw err;
      }
      if (due.length === 0) wait(o.idleMs, true);
      else if (due.length < limit) wait(o.gatherMs, false);
      if (due.length < limit) backlog = false;
      for (const d of due) start(d);
      claiming = null;
      claimingFor = 0;
      return due.length;
    })();
    claiming = c;
    claimingFor = limit;
    return c;
  };

  function pump(): void {
    if (stopped) return;
    // the handed rows first: they are claimed already
    const stale: DueDelivery[] = [];
    while (queued.length && calling < o.inFlight) {
      const { d, by } = queued.shift()!;
      if (performance.now() > by) stale.push(d);
      else start(d);
    }
    if (stale.length) {
      deps.log.warn({ rows: stale.length, waitedMs: startWithinMs }, 'answers waited too long for a place to start within their lease: given back for a claim');
      giveBack(stale);
      backlog = true;
    }
    if (queued.length || claiming || timer) return;
    const busy = calling + reserved;
    const free = o.inFlight - busy;
    if (free <= 0 || (busy > 0 && free < refillAt)) return; // a call finishing comes back here
    claim(free).then(
      (got) => got === free && pump(),
      (err) => deps.log.warn({ err, worker: 'outbox', failures }, 'worker tick failed'),
    );
  }

  const settled = async () => {
    while (claiming || unfinished.size) await Promise.allSettled([claiming, ...unfinished]);
  };

  const nudge = () => {
    backlog = true;
    if (gathering || failures) return;
    if (timer) clearTimeout(timer);
    timer = null;
    pump();
  };

  const reserve = (n: number): Reserved => {
    const room = o.inFlight + queueMax - calling - queued.length - reserved - claimingFor;
    const count = stopped || backlog ? 0 : Math.max(0, Math.min(n, room));
    // taken before the rows are written: their leases end later. Without a queue, the places are set aside: a row
    // starts at its commit, as a claimed one does
    const by = queueMax ? performance.now() + startWithinMs : Infinity;
    reserved += count;
    let open = true;
    const close = () => {
      if (!open) return false;
      open = false;
      reserved -= count;
      return true;
    };
    return {
      count,
      take(due, unclaimed) {
        if (!close()) return;
        const mine = due.slice(0, count);
        if (stopped) giveBack(mine);
        else for (const d of mine) queued.push({ d, by });
        if (unclaimed) nudge();
        else pump();
      },
      release() {
        if (close()) pump();
      },
    };
  };

  pump();
  return {
    nudge,
    handoff: { leaseMs: o.leaseMs, reserve },
    // tests: until a claim finds nothing and every send it started is recorded
    async drain() {
      for (let i = 0; i < 1000; i++) {
        await settled();
        if (claiming) continue; // the worker's own claim started in between
        let got: number;
        try {
          got = await claim(o.inFlight);
        } catch (err) {
          deps.log.warn({ err, worker: 'outbox' }, 'worker tick failed while draining');
          return;
        }
        if (!got) return void (await settled());
      }
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      // handed rows not started yet: any node may send them now, not when their lease ends
      giveBack(queued.splice(0).map((q) => q.d));
      await settled();
    },
  };
}
