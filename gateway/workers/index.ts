import type { Deps } from '../../core/deps.ts';
import type { DomainEvent } from '../../core/events.ts';
import type { Channels } from '../channels/index.ts';
import { handleSyncedMessage } from '../channels/wecom-kf/handle-synced.ts';
import { createKfSync, type KfSyncOptions } from './kf-sync.ts';
import { startLoop, type WorkLoop } from './loop.ts';
import { createPresenceSweep, type Cluster } from './presence-sweep.ts';
import type { NodeHeartbeat } from '../node-heartbeat.ts';
import type { OutboxOptions } from './outbox.ts';
import { startOutbox } from './outbox-pump.ts';
import { checkSla } from '../../core/tickets/sla.ts';
import { runDueRecovery } from '../../core/recovery/execute.ts';
import { scanTimeTriggers } from '../../core/recovery/scan.ts';
import { claimUnansweredByBot } from '../../core/conversations/bot-redrive.ts';
import type { MessageRow } from '../../core/conversations/rows.ts';

export interface WorkerOptions {
  idleMs?: number;
  slaIdleMs?: number;
  /** how often the recovery worker looks for due runs; the time-based scan runs every `recoveryScanMs` */
  recoveryIdleMs?: number;
  recoveryScanMs?: number;
  outbox?: OutboxOptions;
  kfSync?: KfSyncOptions;
  /**
   * Customer messages no node answered are looked for every `everyMs` (a third of `afterMs`, at most 30 s) and
   * answered once they are `afterMs` old (BOT_REDRIVE_AFTER_S). The node that stored one may still be retrying
   * its answer while the database is away (for about a minute): the answer goes out once whichever writes first.
   */
  botRedrive?: { afterMs?: number; everyMs?: number };
  /**
   * Agents whose consoles all closed go offline `graceMs` later (AGENT_OFFLINE_GRACE_S), looked for every `everyMs`
   * (a fifth of the grace, between 0.2 and 5 s). A node that has not beaten for `nodeGoneAfterMs` (10 s; tests
   * shorten it) is dead, and the grace of the agents whose latest console was there starts.
   */
  presence?: { graceMs?: number; everyMs?: number; nodeGoneAfterMs?: number };
}

/** What the workers need of the bot: answering a message whose own node died first. */
export interface LateAnswers {
  answerLate(message: MessageRow): Promise<void>;
}

export interface Workers {
  outbox: WorkLoop;
  sla: WorkLoop;
  recovery: WorkLoop;
  kfSync: WorkLoop | null;
  botRedrive: WorkLoop | null;
  presence: WorkLoop | null;
  /** Runs each loop until it finds nothing due (tests); Huike.settle repeats it until the whole node is quiet. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

/** The background work of a node (SERVICES=worker). Every node may run it: rows are claimed, accounts leased. */
export function startWorkers(deps: Deps, channels: Channels, opts: WorkerOptions = {}, bot?: LateAnswers, cluster?: Cluster, self?: NodeHeartbeat): Workers {
  const idleMs = opts.idleMs ?? 1000;
  const outbox = startOutbox(deps, channels.senders, { idleMs, ...opts.outbox });
  deps.outboxHandoff = outbox.handoff;
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
  const redriveAfterMs = opts.botRedrive?.afterMs ?? 30_000;
  const botRedrive = bot
    ? startLoop(
        'bot-redrive',
        async () => {
          const late = await claimUnansweredByBot(deps.sql, { afterMs: redriveAfterMs, limit: 100 });
          await Promise.all(late.map((m) => bot.answerLate(m)));
          return late.length === 100;
        },
        { idleMs: opts.botRedrive?.everyMs ?? Math.min(30_000, Math.ceil(redriveAfterMs / 3)), log: deps.log },
      )
    : null;
  const graceMs = opts.presence?.graceMs ?? 30_000;
  const sweep = cluster && self ? createPresenceSweep(deps, cluster, graceMs, self) : null;
  const presence = sweep
    ? startLoop('presence', async () => (await sweep(), false), {
        idleMs: opts.presence?.everyMs ?? Math.min(5000, Math.max(200, Math.ceil(graceMs / 5))),
        log: deps.log,
      })
    : null;
  const unsubscribe = deps.bus.subscribe((e: DomainEvent) => {
    // an inline answer was handed to the outbox at its commit (OutboxHandoff), or announced by its writer
    if (e.type === 'message.created' && e.message.status === 'pending' && !e.inline) outbox.nudge();
  });
  return {
    outbox,
    sla,
    recovery,
    kfSync,
    botRedrive,
    presence,
    async drain() {
      await kfSync?.drain();
      await deps.bus.idle();
      await recovery.drain();
      await deps.bus.idle();
      await outbox.drain();
    },
    async stop() {
      unsubscribe();
      if (deps.outboxHandoff === outbox.handoff) delete deps.outboxHandoff;
      channels.kfNews.notify = () => {};
      await Promise.all([outbox.stop(), sla.stop(), recovery.stop(), kfSync?.stop(), botRedrive?.stop(), presence?.stop()]);
    },
  };
}
