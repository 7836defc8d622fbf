import type { Queryable } from '../db/client.ts';

/** Counts consecutive bot misses in a conversation; two in a row hand off to a human. */
export async function recordBotMiss(q: Queryable, conversationId: string): Promise<number> {
  const [row] = await q<{ botMisses: number }[]>`
    update conversations set bot_misses = bot_misses + 1 where id = ${conversationId} returning bot_misses`;
  return row?.botMisses ?? 0;
}

export async function resetBotMisses(q: Queryable, conversationId: string): Promise<void> {
  await q`update conversations set bot_misses = 0 where id = ${conversationId} and bot_misses <> 0`;
}
