export const yuan = (fen: number) => `¥${(fen / 100).toFixed(2)}`;

export const time = (iso: string | null) =>
  iso ? new Date(iso).toLocaleString('zh-CN', { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }) : '';

/** Messages by seq, without duplicates: live events and gap fills may deliver the same one twice. */
export function mergeBySeq<T extends { seq: number }>(current: T[], incoming: T[]): T[] {
  const bySeq = new Map(current.map((m) => [m.seq, m]));
  for (const m of incoming) bySeq.set(m.seq, m);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** The highest seq with no gap before it: the point to ask the server to continue from. */
export function contiguousSeq(messages: { seq: number }[]): number {
  let last = 0;
  for (const m of messages) {
    if (m.seq !== last + 1) break;
    last = m.seq;
  }
  return last;
}

/**
 * Like contiguousSeq, for the console, which holds only the latest pages of a long conversation: the run
 * starts at the oldest message held (paging back fills below it), or at `floor` when nothing is held yet.
 */
export function heldThrough(messages: { seq: number }[], floor = 0): number {
  if (!messages.length) return floor;
  let last = messages[0].seq;
  for (const m of messages.slice(1)) {
    if (m.seq !== last + 1) break;
    last = m.seq;
  }
  return last;
}

/** An id a client gives what it sends, so that sending it again (its answer lost) is not a second message. */
export const newClientMsgId = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
