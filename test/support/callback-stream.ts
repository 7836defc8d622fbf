import type { WechatEmulator } from '../../gateway/channels/emulator/wechat-emulator.ts';

/** What each callback got: an HTTP status, -1 where WeChat stopped waiting (5 s), 0 where the connection failed. */
export interface CallbackStream {
  statuses: Map<number, number[]>;
  acked: Set<number>;
  /** every status of every try, flattened */
  all(): number[];
}

/**
 * `n` mini-program messages from `customers` customers, one every `spacingMs`, delivered the way WeChat does:
 * the same MsgId again every 150 ms until it gets "success" (up to 60 tries), a try given up after 5 s. Resolves
 * when every message was acknowledged or ran out of tries.
 */
export async function streamCallbacks(
  emulator: WechatEmulator,
  opts: { n: number; customers: number; openidPrefix: string; msgIdPrefix: string; content: (i: number) => string; spacingMs?: number },
): Promise<CallbackStream> {
  const statuses = new Map<number, number[]>();
  const acked = new Set<number>();
  const deliver = async (i: number) => {
    for (let attempt = 0; attempt < 60 && !acked.has(i); attempt++) {
      const status = await Promise.race([
        emulator.mpPush(`${opts.openidPrefix}${i % opts.customers}`, { MsgType: 'text', Content: opts.content(i), MsgId: `${opts.msgIdPrefix}${String(i).padStart(15, '0')}` }).catch(() => 0),
        new Promise<number>((r) => setTimeout(() => r(-1), 5000)),
      ]);
      if (process.env.DEBUG_FAULTS) console.log(i, attempt, status, Date.now() % 100000);
      statuses.set(i, [...(statuses.get(i) ?? []), status]);
      if (status === 200) acked.add(i);
      else await new Promise((r) => setTimeout(r, 150));
    }
  };
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < opts.n; i++) {
    inFlight.push(deliver(i));
    await new Promise((r) => setTimeout(r, opts.spacingMs ?? 25));
  }
  await Promise.all(inFlight);
  return { statuses, acked, all: () => [...statuses.values()].flat() };
}
