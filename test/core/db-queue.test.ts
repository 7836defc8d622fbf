import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// the pool's queue as installed, after scripts/patch-postgres.mjs (not exported by the package: imported by path)
// @ts-expect-error plain JavaScript without types
import Queue from '../../node_modules/postgres/src/queue.js';

interface Q<T> {
  readonly length: number;
  push(x: T): T;
  shift(): T | undefined;
  remove(x: T): T | null;
}
const queue = <T>() => Queue() as Q<T>;

/** The idle connections of a pool under steady load: one taken (and removed from wherever it was), one back. */
function steady(q: Q<object>, idle: object[], rounds: number) {
  for (const c of idle) q.push(c);
  for (let i = 0; i < rounds; i++) {
    const c = q.shift()!;
    q.remove(c); // what the pool's move() does with the connection it took
    q.push(c);
  }
}

describe("postgres.js's pool queue (patched)", () => {
  it('is patched in both builds', () => {
    for (const file of ['src/queue.js', 'cjs/src/queue.js']) expect(readFileSync(new URL(`../../node_modules/postgres/${file}`, import.meta.url), 'utf8')).toContain('huike: queue head v6');
  });

  it('costs no more after 200,000 statements than at the first: a queue that never empties does not grow', () => {
    const idle = Array.from({ length: 5 }, (_, i) => ({ connection: i }));
    const time = (q: Q<object>) => {
      const absent = {};
      const t = performance.now();
      for (let i = 0; i < 2_000; i++) q.remove(absent);
      return performance.now() - t;
    };
    const fresh = queue<object>();
    steady(fresh, idle, 10);
    const old = queue<object>();
    steady(old, idle, 200_000);
    // unpatched, each removal scanned the 200,000 slots already shifted out: hundreds of times a fresh queue's (and
    // filling it took seconds, each of its statements scanning what the ones before had left)
    const [a, b] = [Math.min(time(fresh), time(fresh)), Math.min(time(old), time(old))];
    expect(b).toBeLessThan(Math.max(a, 0.25) * 20);
    // and it still holds the five, in order
    expect(Array.from({ length: 5 }, () => old.shift())).toEqual(Array.from({ length: 5 }, (_, i) => idle[(200_000 + i) % 5]));
    expect(old.length).toBe(0);
  });

  it('keeps first in, first out and removals right across its compactions', () => {
    const q = queue<number>();
    const ref: number[] = [];
    let next = 0;
    // a deterministic walk of pushes, shifts and removals, with the queue's length wandering between 0 and ~60
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let step = 0; step < 200_000; step++) {
      const r = rand();
      if (r < 0.5 || ref.length === 0) {
        q.push(next);
        ref.push(next++);
      } else if (r < 0.95) expect(q.shift()).toBe(ref.shift());
      else {
        const victim = ref[Math.floor(rand() * ref.length)];
        expect(q.remove(victim)).toBe(victim);
        ref.splice(ref.indexOf(victim), 1);
        expect(q.remove(victim)).toBeNull();
      }
      if (step % 997 === 0) expect(q.length).toBe(ref.length);
    }
    while (ref.length) expect(q.shift()).toBe(ref.shift());
    expect(q.length).toBe(0);
  });
});
