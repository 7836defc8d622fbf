import { describe, expect, it } from 'vitest';
import { Batcher } from '../../core/batcher.ts';

type Item = { key: string; id: number };

/** A batcher whose batches finish only when the test says so, recording what each batch held. */
function harness(opts: { concurrency: number; stallMs?: number; maxStalled?: number; onStall?: (size: number) => void; spacingMs?: number; spacingEndsAt?: number }) {
  const batches: { ids: number[]; at: number; finish: () => void }[] = [];
  const b = new Batcher<Item, number>(
    (items) =>
      new Promise((resolve) => {
        batches.push({ ids: items.map((i) => i.id), at: performance.now(), finish: () => resolve(items.map((i) => i.id)) });
      }),
    { max: 100, key: (i) => i.key, ...opts },
  );
  return { b, batches };
}

// a batch starts at the next turn of the event loop (setImmediate), and a timer of 0 ms may fire before or after
// that turn: the turn after the timer comes after any batch scheduled by then
const tick = async (ms = 0) => {
  await new Promise((r) => setTimeout(r, ms));
  await new Promise((r) => setImmediate(r));
};

describe('Batcher', () => {
  it('serves what arrives while a batch runs as the next batch, one at a time, each caller after its own batch', async () => {
    const { b, batches } = harness({ concurrency: 1 });
    const first = b.submit({ key: 'a', id: 1 });
    await tick();
    const later = [b.submit({ key: 'b', id: 2 }), b.submit({ key: 'c', id: 3 })];
    await tick();
    expect(batches.map((x) => x.ids)).toEqual([[1]]);
    batches[0].finish();
    expect(await first).toBe(1);
    await tick();
    expect(batches.map((x) => x.ids)).toEqual([[1], [2, 3]]);
    batches[1].finish();
    expect(await Promise.all(later)).toEqual([2, 3]);
  });

  it('keeps one key in order: a call waits while an earlier call of its key is in a running batch', async () => {
    const { b, batches } = harness({ concurrency: 2 });
    void b.submit({ key: 'a', id: 1 });
    await tick();
    void b.submit({ key: 'a', id: 2 });
    void b.submit({ key: 'b', id: 3 });
    await tick();
    // a free slot takes b's call; a's second call stays behind its first
    expect(batches.map((x) => x.ids)).toEqual([[1], [3]]);
    batches[0].finish();
    await tick();
    expect(batches.map((x) => x.ids)).toEqual([[1], [3], [2]]);
  });

  it('a batch stuck longer than stallMs gives up its slot: other keys go on, its own key still waits for it', async () => {
    const told: number[] = [];
    const { b, batches } = harness({ concurrency: 1, stallMs: 100, onStall: (n) => told.push(n) });
    const stuck = b.submit({ key: 'x', id: 1 });
    await tick();
    void b.submit({ key: 'x', id: 2 });
    void b.submit({ key: 'y', id: 3 });
    await tick(30);
    expect(batches.map((x) => x.ids)).toEqual([[1]]);
    expect(b.load).toMatchObject({ running: 1, stalled: 0 });
    await tick(120);
    // set aside: y is served, x's second call stays behind x's first
    expect(batches.map((x) => x.ids)).toEqual([[1], [3]]);
    expect(b.load).toMatchObject({ running: 1, stalled: 1, waiting: 1 });
    expect(told).toEqual([1]);
    batches[1].finish();
    await tick();
    batches[0].finish();
    expect(await stuck).toBe(1);
    await tick();
    expect(batches.map((x) => x.ids)).toEqual([[1], [3], [2]]);
    expect(b.load).toMatchObject({ running: 1, stalled: 0 });
  });

  it('sets aside at most maxStalled batches', async () => {
    const { b, batches } = harness({ concurrency: 1, stallMs: 20, maxStalled: 2 });
    for (let i = 1; i <= 5; i++) {
      void b.submit({ key: `k${i}`, id: i });
      await tick(40);
    }
    // 1 and 2 were set aside, 3 holds the one slot; 4 and 5 wait
    expect(batches.map((x) => x.ids)).toEqual([[1], [2], [3]]);
    expect(b.load).toMatchObject({ running: 1, stalled: 2, waiting: 2 });
    // a set-aside batch that ends makes room for 3 to be set aside in turn, and 4 and 5 go on
    batches[0].finish();
    await tick(60);
    expect(batches.map((x) => x.ids)).toEqual([[1], [2], [3], [4, 5]]);
  });

  it('without stallMs a stuck batch holds its slot', async () => {
    const { b, batches } = harness({ concurrency: 1 });
    void b.submit({ key: 'x', id: 1 });
    await tick();
    void b.submit({ key: 'y', id: 2 });
    await tick(150);
    expect(batches.map((x) => x.ids)).toEqual([[1]]);
  });

  it('with spacingMs, a batch starts no sooner than that after the one before it: what arrives meanwhile waits and goes together', async () => {
    const { b, batches } = harness({ concurrency: 1, spacingMs: 80 });
    const first = b.submit({ key: 'a', id: 1 });
    await tick();
    batches[0].finish();
    await first;
    // the slot is free again, but the next batch waits out the spacing and takes all three
    const later = [b.submit({ key: 'b', id: 2 }), b.submit({ key: 'c', id: 3 })];
    await tick(20);
    void b.submit({ key: 'd', id: 4 });
    await tick(20);
    expect(batches.map((x) => x.ids)).toEqual([[1]]);
    await tick(60);
    expect(batches.map((x) => x.ids)).toEqual([[1], [2, 3, 4]]);
    // a timer may fire up to a ms early (the event loop's cached time)
    expect(batches[1].at - batches[0].at).toBeGreaterThanOrEqual(79);
    batches[1].finish();
    expect(await Promise.all(later)).toEqual([2, 3]);
  });

  it('with spacingMs, a call made after a quiet spell starts at the next turn, not a spacing later', async () => {
    const { b, batches } = harness({ concurrency: 1, spacingMs: 80 });
    void b.submit({ key: 'a', id: 1 });
    await tick();
    batches[0].finish();
    await tick(100);
    const t = performance.now();
    void b.submit({ key: 'b', id: 2 });
    await tick();
    expect(batches.map((x) => x.ids)).toEqual([[1], [2]]);
    expect(batches[1].at - t).toBeLessThan(20);
  });

  it('with spacingEndsAt, that many calls waiting start the next batch before the spacing is over', async () => {
    const { b, batches } = harness({ concurrency: 1, spacingMs: 500, spacingEndsAt: 3 });
    void b.submit({ key: 'a', id: 1 });
    await tick();
    batches[0].finish();
    await tick();
    void b.submit({ key: 'b', id: 2 });
    void b.submit({ key: 'c', id: 3 });
    await tick(20);
    expect(batches.map((x) => x.ids)).toEqual([[1]]);
    void b.submit({ key: 'd', id: 4 });
    await tick();
    expect(batches.map((x) => x.ids)).toEqual([[1], [2, 3, 4]]);
    expect(batches[1].at - batches[0].at).toBeLessThan(200);
    // a backlog that built up while a batch ran goes as soon as that batch is done
    void b.submit({ key: 'e', id: 5 });
    void b.submit({ key: 'f', id: 6 });
    void b.submit({ key: 'g', id: 7 });
    await tick();
    batches[1].finish();
    await tick();
    await tick();
    expect(batches.map((x) => x.ids)).toEqual([[1], [2, 3, 4], [5, 6, 7]]);
  });
});
