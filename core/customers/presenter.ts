import type { MergeRow } from './merge.ts';

/** A merge as clients see it: who kept what, and whether it was split again. */
export function presentMerge(m: MergeRow) {
  return {
    id: m.id,
    survivorId: m.survivorId,
    mergedId: m.mergedId,
    reason: m.reason,
    moved: {
      identities: m.identityIds.length,
      conversations: m.conversationIds.length,
      orders: m.orderIds.length,
      tickets: m.ticketIds.length,
      carts: m.cartIds.length,
      events: m.eventIds.length,
      tags: m.tagsAdded.length,
      points: m.pointsMoved,
    },
    createdAt: m.createdAt.toISOString(),
    splitAt: m.splitAt?.toISOString() ?? null,
  };
}
