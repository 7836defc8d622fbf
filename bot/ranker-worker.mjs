// Trains the ranker on a worker thread, so a large KB's training never holds the gateway's event loop.
// Plain JS so it loads the same under tsx, vitest or node; tsImport compiles ranker.ts for this thread only.
import { parentPort, workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

const { trainRanker } = await tsImport('./ranker.ts', import.meta.url);
const steps = trainRanker(workerData);
let step = steps.next();
while (!step.done) step = steps.next();
parentPort.postMessage(step.value, [step.value.buffer]);
