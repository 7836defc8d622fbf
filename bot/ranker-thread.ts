import { Worker } from 'node:worker_threads';
import { trainRanker, type RankerProblem } from './ranker.ts';

export interface Training {
  weights: Promise<Float64Array>;
  /** stops a training whose index has been replaced meanwhile; `weights` then rejects */
  cancel(): void;
}

/**
 * Trains on a worker thread. If the thread cannot start or dies, trains on this thread instead, in slices
 * that yield to the event loop: slower for the answers meanwhile, but the ranker still arrives.
 */
export function trainOffThread(problem: RankerProblem): Training {
  let cancelled = false;
  let worker: Worker | undefined;
  const inline = async (): Promise<Float64Array> => {
    const steps = trainRanker(problem);
    for (let s = steps.next(); ; s = steps.next()) {
      if (cancelled) throw new Error('ranker training cancelled');
      if (s.done) return s.value;
      await new Promise((res) => setImmediate(res));
    }
  };
  const weights = new Promise<Float64Array>((resolve, reject) => {
    try {
      // execArgv [] : the parent's loaders (tsx, vitest) are not needed, the worker compiles ranker.ts itself
      worker = new Worker(new URL('./ranker-worker.mjs', import.meta.url), { workerData: problem, execArgv: [] });
    } catch {
      return void inline().then(resolve, reject);
    }
    let settled = false;
    worker.once('message', (w: Float64Array) => {
      settled = true;
      resolve(w);
      void worker!.terminate();
    });
    worker.once('error', () => {
      settled = true;
      if (cancelled) reject(new Error('ranker training cancelled'));
      else inline().then(resolve, reject);
    });
    worker.once('exit', () => {
      if (!settled) (cancelled ? reject(new Error('ranker training cancelled')) : inline().then(resolve, reject));
      settled = true;
    });
  });
  return {
    weights,
    cancel() {
      cancelled = true;
      void worker?.terminate();
    },
  };
}
