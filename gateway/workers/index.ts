import type { Deps } from '../../core/deps.ts';
import type { DomainEvent } from '../../core/events.ts';
import type { Channels } from '../channels/index.ts';
import { handleSyncedMessage } from '../channels/wecom-kf/handle-synced.ts';
import { createKfSync, type KfSyncOptions } from './kf-sync.ts';
import { startLoop, type WorkLoop } from './loop.ts';
import { sendDueMessages, type OutboxOptions } from './outbox.ts';
import { checkSla } from '../../core/tickets/sla.ts';

export interface WorkerOptions {
  idleMs?: number;
  slaIdleMs?: number;
  outbox?: OutboxOptions;
  kfSync?: KfSyncOptions;
}

export interface Workers {
  outbox: WorkLoop;
  sla: WorkLoop;
  kfSync: WorkLoop | null;
  /** Runs each loop until it finds nothing due (tests); Huike.settle repeats it until the whole node is quiet. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

/** The background work of a node (SERVICES=worker). Every node may run it: rows are claimed, accounts leased. */
export function startWorkers(deps: Deps, channels: Channels, opts: WorkerOptions = {}): Workers {
  const idleMs = opts.idleMs ?? 1000;
  const outbox = startLoop('outbox', () => sendDueMessages(deps, channels.senders, opts.outbox), { idleMs, log: deps.log });
  // the SLA clock is a pass every 15 s, never back to back: reporting "no work" makes the loop wait
  const sla = startLoop(
    'sla',
    async () => {
      await checkSla(deps);
      return false;
    },
    { idleMs: opts.slaIdleMs ?? 15_000, log: deps.log },
  );
  const kf = channels.kf;
  const kfSync = kf
    ? startLoop('kf-sync', createKfSync(deps, kf, (msg) => handleSyncedMessage({ deps, client: kf }, msg), opts.kfSync).tick, { idleMs, log: deps.log })
    : null;
  if (kfSync) channels.kfNews.notify = () => kfSync.nudge();
  const unsubscribe = deps.bus.subscribe((e: DomainEvent) => {
    if (e.type === 'message.created' && e.message.status === 'pending') outbox.nudge();
  });
  return {
    outbox,
    sla,
    kfSync,
    async drain() {
      await kfSync?.drain();
      await deps.bus.idle();
      await outbox.drain();
    },
    async stop() {
      unsubscribe();
      channels.kfNews.notify = () => {};
      await Promise.all([outbox.stop(), sla.stop(), kfSync?.stop()]);
    },
  };
}
