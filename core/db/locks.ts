import type { Tx } from './client.ts';

/** Transaction-scoped advisory locks in one round trip, in sorted order so concurrent batches never deadlock. */
export async function lockKeys(tx: Tx, keys: string[]): Promise<void> {
  if (!keys.length) return;
  // executed at once (not when awaited), so statements the caller sends next are pipelined behind it
  await tx`select count(pg_advisory_xact_lock(hashtext(k))) from (select distinct unnest(${keys}::text[]) as k order by 1) s`.execute();
}
