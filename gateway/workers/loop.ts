import type { Logger } from 'pino';

export interface WorkLoop {
  /** Wake the loop now instead of at the next poll (new work was just written). */
  nudge(): void;
  /** Run ticks until one finds nothing to do. Tests use it to wait for the work they caused. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Polls `tick` (which returns whether it did any work) forever: again at once while there is work, after `idleMs`
 * when there is none, and with growing pauses while it keeps failing (a channel API or the database being down
 * should not turn into a hot loop of errors).
 */
export function startLoop(name: string, tick: () => Promise<boolean>, opts: { idleMs: number; log: Logger }): WorkLoop {
  let stopped = false;
  let wake: (() => void) | null = null;
  let running: Promise<boolean> | null = null;
  let failures = 0;

  const runTick = (): Promise<boolean> => {
    if (!running) running = tick().finally(() => (running = null));
    return running;
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => ((wake = null), resolve()), ms);
      wake = () => {
        clearTimeout(t);
        wake = null;
        resolve();
      };
    });

  const done = (async () => {
    while (!stopped) {
      let worked = false;
      try {
        worked = await runTick();
        failures = 0;
      } catch (err) {
        failures++;
        opts.log.warn({ err, worker: name, failures }, 'worker tick failed');
      }
      if (stopped) break;
      if (!worked) await sleep(failures ? Math.min(30_000, opts.idleMs * 2 ** failures) : opts.idleMs);
    }
  })();

  return {
    nudge: () => wake?.(),
    async drain() {
      try {
        for (let i = 0; i < 1000; i++) if (!(await runTick())) return;
      } catch (err) {
        opts.log.warn({ err, worker: name }, 'worker tick failed while draining');
      }
    },
    async stop() {
      stopped = true;
      wake?.();
      await done;
    },
  };
}
