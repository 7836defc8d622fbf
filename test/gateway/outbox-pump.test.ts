import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/client.ts';
import type { Deps } from '../../core/deps.ts';
import type { DueDelivery } from '../../core/conversations/delivery.ts';
import { ingestInbound } from '../../core/conversations/ingest.ts';
import { sendOutbound } from '../../core/conversations/outbound.ts';
import { startOutbox } from '../../gateway/workers/outbox-pump.ts';
import type { ChannelSender } from '../../gateway/workers/outbox.ts';
import type { WorkLoop } from '../../gateway/workers/loop.ts';
import { WxTransportError } from '../../gateway/channels/wx/api.ts';
import { depsFor, testDatabase } from '../support/db.ts';

/** One mini-program reply waiting in the outbox for each text, each to its own customer (no 5-reply rule in the way). */
async function waitingReplies(deps: Deps, texts: string[]): Promise<void> {
  await Promise.all(
    texts.map(async (text) => {
      const { conversation } = await ingestInbound(deps, { channel: 'miniprogram', channelMsgId: `in-${text}`, identity: { kind: 'wx_openid', value: `o-${text}` }, type: 'text', text: '在吗' });
      await sendOutbound(deps, { conversationId: conversation.id, senderType: 'agent', text });
    }),
  );
}

const statusOf = async (deps: Deps, text: string) => (await deps.sql<{ status: string }[]>`select status from messages where text = ${text}`)[0]?.status;

describe('the outbox worker', () => {
  let db: Database;
  let deps: Deps;
  let outbox: WorkLoop | null = null;
  beforeAll(async () => {
    db = await testDatabase();
    deps = depsFor(db);
  });
  afterAll(async () => {
    await outbox?.stop();
    await db?.close();
  });
  const stop = async () => {
    await outbox?.stop();
    outbox = null;
  };
  // a test that failed midway left its worker running: stopped first, so it cannot claim the next test's rows
  const run = async (send: ChannelSender, opts: Parameters<typeof startOutbox>[2]) => {
    await stop();
    return (outbox = startOutbox(deps, { miniprogram: send }, opts));
  };

  // it sent in passes: claim 100, send them all, record them all, then the next claim. One slow call held back
  // every message behind it, and a busy node sent about 1,100 a second whatever WeChat could take
  it('keeps sending while one call hangs: the rest go out through the other places', { timeout: 20_000 }, async () => {
    await waitingReplies(deps, ['hang']);
    const fast = Array.from({ length: 150 }, (_, i) => `fast-${i}`);
    await waitingReplies(deps, fast);
    let release!: () => void;
    const hung = new Promise<void>((r) => (release = r));
    const sent: string[] = [];
    await run(
      async (d) => {
        if (d.message.text === 'hang') await hung;
        sent.push(d.message.text!);
        return { channelMsgId: null };
      },
      { idleMs: 50, inFlight: 16 },
    );
    try {
      await expect.poll(() => sent.length, { timeout: 10_000, interval: 20 }).toBe(150);
      expect(sent).not.toContain('hang');
      // a send is recorded a moment after the call returns
      const unsent = async () => (await deps.sql<{ n: number }[]>`select count(*)::int as n from messages where text like 'fast-%' and status <> 'sent'`)[0].n;
      await expect.poll(unsent, { timeout: 5_000, interval: 20 }).toBe(0);
      expect(await statusOf(deps, 'hang')).toBe('pending');
    } finally {
      release();
    }
    await expect.poll(() => statusOf(deps, 'hang'), { timeout: 5_000, interval: 20 }).toBe('sent');
    await stop();
    expect(sent.sort()).toEqual(['hang', ...fast].sort());
  });

  it('makes at most `inFlight` calls at once, sends each message once, and stop() waits until each is recorded', { timeout: 20_000 }, async () => {
    const texts = Array.from({ length: 80 }, (_, i) => `bounded-${i}`);
    await waitingReplies(deps, texts);
    let calling = 0;
    let most = 0;
    const sent: string[] = [];
    await run(
      async (d) => {
        most = Math.max(most, ++calling);
        await new Promise((r) => setTimeout(r, 2 + Math.random() * 8));
        calling--;
        sent.push(d.message.text!);
        return { channelMsgId: null };
      },
      { idleMs: 50, inFlight: 8 },
    );
    await expect.poll(() => sent.length, { timeout: 10_000, interval: 10 }).toBe(80);
    await stop();
    expect(most).toBe(8);
    expect(sent.sort()).toEqual(texts.sort());
    const [left] = await deps.sql<{ n: number }[]>`select count(*)::int as n from messages where text like 'bounded-%' and status <> 'sent'`;
    expect(left.n).toBe(0);
  });

  it('wakes at once when nudged with nothing due, and after a claim that found less than it asked waits gatherMs however often nudged', { timeout: 20_000 }, async () => {
    const at = new Map<string, number>();
    const loop = await run(
      async (d) => {
        at.set(d.message.text!, performance.now());
        return { channelMsgId: null };
      },
      { idleMs: 60_000, inFlight: 8, gatherMs: 400 },
    );
    await new Promise((r) => setTimeout(r, 100)); // its first claim found nothing: it waits idleMs, a minute
    await waitingReplies(deps, ['first']);
    const nudged = performance.now();
    loop.nudge();
    await expect.poll(() => at.has('first'), { timeout: 2_000, interval: 5 }).toBe(true);
    expect(at.get('first')! - nudged).toBeLessThan(300);
    // that claim found one row where it had eight places: the next one waits, whatever the nudges say
    await waitingReplies(deps, ['second']);
    const nudging = setInterval(() => loop.nudge(), 5);
    try {
      await expect.poll(() => at.has('second'), { timeout: 5_000, interval: 5 }).toBe(true);
    } finally {
      clearInterval(nudging);
    }
    expect(at.get('second')! - at.get('first')!).toBeGreaterThanOrEqual(350);
    await stop();
  });

  it('a failed call frees its place: the next messages still go out, and the failed one comes back later', { timeout: 20_000 }, async () => {
    await waitingReplies(deps, ['flaky', 'after-flaky-1', 'after-flaky-2']);
    let failed = 0;
    const sent: string[] = [];
    await run(
      async (d: DueDelivery) => {
        if (d.message.text === 'flaky' && failed++ === 0) throw new WxTransportError('request to /cgi-bin/message/custom/send failed: socket hang up');
        sent.push(d.message.text!);
        return { channelMsgId: null };
      },
      { idleMs: 50, inFlight: 1, baseDelayMs: 100 },
    );
    await expect.poll(() => sent.length, { timeout: 10_000, interval: 10 }).toBe(3);
    await stop();
    expect(failed).toBe(2);
    expect(sent.indexOf('flaky')).toBe(2);
    const [row] = await deps.sql<{ attempts: number; status: string }[]>`select o.attempts, o.status from outbox o join messages m on m.id = o.message_id where m.text = 'flaky'`;
    expect(row).toEqual({ attempts: 2, status: 'sent' });
  });
});
