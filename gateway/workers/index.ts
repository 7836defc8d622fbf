import type { Deps } from '../../core/deps.ts';
import type { DomainEvent } from '../../core/events.ts';
import type { Channels } from '../channels/index.ts';
import { handleSyncedMessage } from '../channels/wecom-kf/handle-synced.ts';
import { createKfSync, type KfSyncOptions } from './kf-sync.ts';
import { startLoop, type WorkLoop } from './loop.ts';
import { sendDueMessages, type OutboxOptions } from './outbox.ts';
import { checkSla } from '../../core/tickets/sla.ts';
import { runDueRecovery } from '../../core/recovery/execute.ts';
import { scanTimeTriggers } from '../../core/recovery/scan.ts';

export interface WorkerOptions {
  idleMs?: number;
  slaIdleMs?: number;
  /** how often the recovery worker looks for due runs; the time-based scan runs every `recoveryScanMs` */
  recoveryIdleMs?: number;
  recoveryScanMs?: number;
  outbox?: OutboxOptions;
  kfSync?: KfSyncOptions;
}

export interface Workers {
  outbox: WorkLoop;
  sla: WorkLoop;
  recovery: WorkLoop;
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
  // playbook runs: due ones every few seconds, the birthday / lapsed / member-day scan every few minutes
  let lastScan = 0;
  const scanMs = opts.recoveryScanMs ?? 5 * 60_000;
  const recovery = startLoop(
    'recovery',
    async () => {
      if (Date.now() - lastScan >= scanMs) {
        lastScan = Date.now();
        await scanTimeTriggers(deps.sql);
      }
      return (await runDueRecovery(deps)) > 0;
    },
    { idleMs: opts.recoveryIdleMs ?? 5000, log: deps.log },
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
    recovery,
    kfSync,
    async drain() {
      await kfSync?.drain();
      await deps.bus.idle();
      await recovery.drain();
      await deps.bus.idle();
      await outbox.drain();
    },
    async stop() {
      unsubscribe();
      channels.kfNews.notify = () => {};
      await Promise.all([outbox.stop(), sla.stop(), recovery.stop(), kfSync?.stop()]);
    },
  };
}
