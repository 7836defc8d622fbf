// The thread's side of BatchThread (batch-thread.ts). Plain JavaScript, so a thread loads it as it is: under
// vitest, tsx and the compiled bundle alike.
//
// Calls come in batches of [id, input]; answers go back in batches of [id, 0, output] or [id, 1, error], one
// message per turn of this thread's event loop.
import { parentPort } from 'node:worker_threads';

/**
 * Answers each call with `handle(input)`, a value or a promise. `describe` turns what it threw into something
 * that crosses threads (the main thread's `revive` makes an error of it again). A call that throws fails alone.
 */
export function serveBatches(handle, describe) {
  let answers = [];
  const flush = () => {
    const batch = answers;
    answers = [];
    parentPort.postMessage(batch);
  };
  const answer = (a) => {
    if (answers.push(a) === 1) setImmediate(flush);
  };
  parentPort.on('message', (batch) => {
    for (const [id, input] of batch) {
      let out;
      try {
        out = handle(input);
      } catch (err) {
        answer([id, 1, describe(err)]);
        continue;
      }
      if (out instanceof Promise) out.then((v) => answer([id, 0, v]), (err) => answer([id, 1, describe(err)]));
      else answer([id, 0, out]);
    }
  });
}
