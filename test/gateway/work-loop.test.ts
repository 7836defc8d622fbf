import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { startLoop } from '../../gateway/workers/loop.ts';

/** Starts a loop whose first `busy` passes find work; returns when each pass started (ms). */
async function passes(busy: number) {
  const at: number[] = [];
  const loop = startLoop(
    'test',
    async () => {
      at.push(performance.now());
      return at.length <= busy;
    },
    { idleMs: 60_000, log: pino({ level: 'silent' }) },
  );
  // new rows keep arriving meanwhile: every one of them nudges
  const nudging = setInterval(() => loop.nudge(), 5);
  await expect.poll(() => at.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(busy + 1);
  clearInterval(nudging);
  await loop.stop();
  // the gaps after each pass that found work (later, idle passes are woken by the nudges)
  const first = at.slice(0, busy + 1);
  return first.slice(1).map((t, i) => t - first[i]);
}

describe('a worker loop', () => {
  it('runs again at once while a pass finds work', async () => {
    const gaps = await passes(4);
    // "at once": room for a machine busy with the rest of the suite
    expect(Math.max(...gaps)).toBeLessThan(100);
  });
});
