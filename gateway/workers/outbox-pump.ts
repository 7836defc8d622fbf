import type { Deps } from '../../core/deps.ts';
import { claimDueDeliveries, type DueDelivery } from '../../core/conversations/delivery.ts';
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
 */
export function startOutbox(
  deps: Deps,
  senders: Partial<Record<Channel, ChannelSender>>,
  opts: OutboxOptions & { idleMs: number },
): WorkLoop {
  const o = { ...OUTBOX_DEFAULTS, ...opts };
  const refillAt = Math.max(1, Math.ceil(o.inFlight / 4));
  let calling = 0; // channel calls under way
  const unfinished = new Set<Promise<void>>(); // sends not yet recorded
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
        throw err;
      }
      if (due.length === 0) wait(o.idleMs, true);
      else if (due.length < limit) wait(o.gatherMs, false);
      for (const d of due) start(d);
      claiming = null;
      return due.length;
    })();
    claiming = c;
    return c;
  };

  function pump(): void {
    if (stopped || claiming || timer) return;
    const free = o.inFlight - calling;
    if (free <= 0 || (calling > 0 && free < refillAt)) return; // a call finishing comes back here
    claim(free).then(
      (got) => got === free && pump(),
      (err) => deps.log.warn({ err, worker: 'outbox', failures }, 'worker tick failed'),
    );
  }

  const settled = async () => {
    while (claiming || unfinished.size) await Promise.allSettled([claiming, ...unfinished]);
  };

  pump();
  return {
    nudge() {
      if (gathering || failures) return;
      if (timer) clearTimeout(timer);
      timer = null;
      pump();
    },
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
      await settled();
    },
  };
}
