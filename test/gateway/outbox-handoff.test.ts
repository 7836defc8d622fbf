import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/client.ts';
import type { Deps } from '../../core/deps.ts';
import { ingestInbound } from '../../core/conversations/ingest.ts';
import { sendOutbound } from '../../core/conversations/outbound.ts';
import { startOutbox } from '../../gateway/workers/outbox-pump.ts';
import type { ChannelSender } from '../../gateway/workers/outbox.ts';
import pino from 'pino';
import { depsFor, testDatabase } from '../support/db.ts';
import type { WechatEmulator } from '../../gateway/channels/emulator/wechat-emulator.ts';
import { startHuikeOnWechat, type TestHuike } from '../support/huike.ts';

// The bot's inline answers are written with their outbox rows already claimed by the node's outbox, and go out
// at the commit: no claim, no poll, no nudge. These pumps poll once a minute, so only the handoff sends in time.
const IDLE = { idleMs: 60_000 };

const ask = (deps: Deps, who: string, text = `ask ${who}`) =>
  ingestInbound(deps, { channel: 'miniprogram', channelMsgId: `in-${who}`, identity: { kind: 'wx_openid', value: `o-${who}` }, type: 'text', text });

const outboxRow = async (deps: Deps, text: string) =>
  (await deps.sql<{ attempts: number; status: string; leased: boolean }[]>`
    select o.attempts, o.status, o.lease_until is not null as leased from outbox o join messages m on m.id = o.message_id where m.text = ${text}`)[0];

describe('the outbox taking the inline answers its node wrote', () => {
  let db: Database;
  const nodes: { deps: Deps; stop(): Promise<void> }[] = [];
  beforeAll(async () => {
    db = await testDatabase();
  });
  // each test's nodes stop before the next starts: a pump left running could claim the next test's rows
  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.stop();
  });
  afterAll(() => db?.close());

  /** a node: its own bus (its own batchers), the bot answering "ask …" inline, its outbox sending through `send` */
  const node = (send: ChannelSender, opts: Parameters<typeof startOutbox>[2]) => {
    const deps = depsFor(db);
    deps.answerInline = (q) => (q.text?.startsWith('ask') ? { text: `answer: ${q.text}` } : null);
    const outbox = startOutbox(deps, { miniprogram: send }, opts);
    deps.outboxHandoff = outbox.handoff;
    const n = { deps, outbox, stop: () => outbox.stop() };
    nodes.push(n);
    return n;
  };
  const recorder = () => {
    const sent: string[] = [];
    const send: ChannelSender = async (d) => {
      sent.push(d.message.text!);
      return { channelMsgId: null };
    };
    return { sent, send };
  };

  it('sends an answer at its commit, with the conversation and recipient a claim would read', { timeout: 20_000 }, async () => {
    const seen: { text: string; recipient: string; conversationId: string; attempts: number }[] = [];
    const { deps, outbox } = node(async (d) => {
      seen.push({ text: d.message.text!, recipient: d.recipient, conversationId: d.conversation.id, attempts: d.attempts });
      return { channelMsgId: null };
    }, IDLE);
    await outbox.drain(); // its first claim found nothing: from now on it would wait a minute
    const { conversation } = await ask(deps, 'handed');
    await expect.poll(() => seen.length, { timeout: 2_000, interval: 5 }).toBe(1);
    expect(seen[0]).toEqual({ text: 'answer: ask handed', recipient: 'o-handed', conversationId: conversation.id, attempts: 1 });
    await expect.poll(() => outboxRow(deps, 'answer: ask handed'), { timeout: 2_000, interval: 10 }).toEqual({ attempts: 1, status: 'sent', leased: false });
  });

  it('sets aside no more places than are free, and gives them back when released', { timeout: 20_000 }, async () => {
    const { outbox } = node(recorder().send, { ...IDLE, inFlight: 4, handoffQueue: 0 });
    await outbox.drain();
    const first = outbox.handoff.reserve(3);
    const second = outbox.handoff.reserve(3);
    expect([first.count, second.count]).toEqual([3, 1]);
    expect(outbox.handoff.reserve(1).count).toBe(0);
    first.release();
    first.release(); // twice is once
    expect(outbox.handoff.reserve(5).count).toBe(3);
  });

  it('while older rows wait for a claim, a new answer is written unclaimed and goes out after them', { timeout: 20_000 }, async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const sent: string[] = [];
    const { deps, outbox } = node(
      async (d) => {
        sent.push(d.message.text!);
        if (d.message.text!.startsWith('old-') && d.message.text !== 'old-0') await gate;
        return { channelMsgId: null };
      },
      { ...IDLE, inFlight: 8 },
    );
    // ten agent replies waiting (not inline: written for a claim); the first claim takes eight, one of them returns
    for (let i = 0; i < 10; i++) {
      const { conversation } = await ask(deps, `old-${i}`, '在吗');
      await sendOutbound(deps, { conversationId: conversation.id, senderType: 'agent', text: `old-${i}` });
    }
    outbox.nudge();
    await expect.poll(() => sent.length, { timeout: 5_000, interval: 5 }).toBe(8);
    // one place is free, too few to claim again (a quarter of eight), and two old rows still wait
    await ask(deps, 'late');
    expect(await outboxRow(deps, 'answer: ask late')).toEqual({ attempts: 0, status: 'pending', leased: false });
    open();
    await expect.poll(() => sent.length, { timeout: 5_000, interval: 5 }).toBe(11);
    expect(sent.indexOf('answer: ask late')).toBeGreaterThan(Math.max(sent.indexOf('old-8'), sent.indexOf('old-9')));
  });

  /** a sender whose calls for `hold` wait until released */
  const gated = (hold: (text: string) => boolean) => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const sent: string[] = [];
    const send: ChannelSender = async (d) => {
      sent.push(d.message.text!);
      if (hold(d.message.text!)) await gate;
      return { channelMsgId: null };
    };
    return { sent, send, open };
  };

  it('with every place busy, the answers wait in the queue, claimed, and go out in order as places free', { timeout: 20_000 }, async () => {
    const g = gated((t) => t === 'answer: ask q-0');
    const { deps, outbox } = node(g.send, { ...IDLE, inFlight: 1, sendTimeoutMs: 1_000 });
    await outbox.drain();
    for (let i = 0; i < 4; i++) await ask(deps, `q-${i}`);
    expect(g.sent).toEqual(['answer: ask q-0']);
    for (let i = 1; i < 4; i++) expect(await outboxRow(deps, `answer: ask q-${i}`)).toEqual({ attempts: 1, status: 'pending', leased: true });
    g.open();
    await expect.poll(() => g.sent.length, { timeout: 2_000, interval: 5 }).toBe(4);
    expect(g.sent).toEqual([0, 1, 2, 3].map((i) => `answer: ask q-${i}`));
  });

  it('an answer that waited too long to start within its lease is given back, then claimed and sent once', { timeout: 20_000 }, async () => {
    const g = gated((t) => t === 'answer: ask slow-0');
    const lines: { msg: string; rows?: number }[] = [];
    // lease 1.2 s, calls up to 0.5 s: an answer must start within 0.2 s of its commit
    const { deps, outbox } = node(g.send, { ...IDLE, inFlight: 1, leaseMs: 1_200, sendTimeoutMs: 500 });
    deps.log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    await outbox.drain();
    await ask(deps, 'slow-0');
    await ask(deps, 'slow-1');
    expect(await outboxRow(deps, 'answer: ask slow-1')).toMatchObject({ leased: true });
    await new Promise((r) => setTimeout(r, 400));
    g.open();
    await expect.poll(() => g.sent.length, { timeout: 3_000, interval: 5 }).toBe(2);
    expect(lines.filter((l) => l.msg.includes('given back'))).toMatchObject([{ rows: 1 }]);
    await expect.poll(() => outboxRow(deps, 'answer: ask slow-1'), { timeout: 2_000, interval: 10 }).toEqual({ attempts: 1, status: 'sent', leased: false });
    await new Promise((r) => setTimeout(r, 300));
    expect(g.sent).toEqual(['answer: ask slow-0', 'answer: ask slow-1']);
  });

  it('stopping gives back the answers still waiting for a place: another node sends them at once', { timeout: 20_000 }, async () => {
    const g = gated((t) => t === 'answer: ask left-0');
    const a = node(g.send, { ...IDLE, inFlight: 1, sendTimeoutMs: 1_000 });
    await a.outbox.drain();
    await ask(a.deps, 'left-0');
    await ask(a.deps, 'left-1');
    expect(await outboxRow(a.deps, 'answer: ask left-1')).toEqual({ attempts: 1, status: 'pending', leased: true });
    const stopped = a.stop();
    g.open();
    await stopped;
    expect(await outboxRow(a.deps, 'answer: ask left-1')).toEqual({ attempts: 0, status: 'pending', leased: false });
    const b = recorder();
    node(b.send, { idleMs: 50 });
    await expect.poll(() => b.sent, { timeout: 2_000, interval: 10 }).toContain('answer: ask left-1');
    expect(g.sent).toEqual(['answer: ask left-0']);
  });

  it('an answer whose node stops sending is leased to it, and another node sends it once the lease ends', { timeout: 20_000 }, async () => {
    let wake!: () => void;
    const never = new Promise<void>((r) => (wake = r));
    const a = node(async () => {
      // the node's call does not return: as if it had died mid-send
      await never;
      return { channelMsgId: null };
    }, { ...IDLE, leaseMs: 1_500 });
    await a.outbox.drain();
    const b = recorder();
    node(b.send, { idleMs: 50 });
    const asked = performance.now();
    await ask(a.deps, 'orphan');
    expect(await outboxRow(a.deps, 'answer: ask orphan')).toMatchObject({ attempts: 1, leased: true });
    await new Promise((r) => setTimeout(r, 800));
    expect(b.sent).not.toContain('answer: ask orphan'); // the lease hides it from the other node
    await expect.poll(() => b.sent.includes('answer: ask orphan'), { timeout: 5_000, interval: 20 }).toBe(true);
    expect(performance.now() - asked).toBeGreaterThanOrEqual(1_400);
    expect(await outboxRow(a.deps, 'answer: ask orphan')).toMatchObject({ attempts: 2 });
    wake(); // so that the node can stop
  });
});

describe('a node with workers, its outbox polling once a minute', () => {
  let emulator: WechatEmulator;
  let huike: TestHuike;
  beforeAll(async () => {
    ({ emulator, huike } = await startHuikeOnWechat({ workers: { idleMs: 60_000 }, kb: [{ id: 'ship', category: '物流', question: '多久发货', similar: ['几天发货'], answer: '下单后 48 小时内发货。' }] }));
  });
  afterAll(async () => {
    await huike?.close();
    await emulator?.stop();
  });

  it('sends the bot\'s inline answer to WeChat at once: the node hands it to its own outbox', { timeout: 20_000 }, async () => {
    await new Promise((r) => setTimeout(r, 200)); // the outbox's first claim has found nothing: next poll in a minute
    const asked = performance.now();
    expect(await emulator.mpCustomerSays('oHANDED', '几天发货')).toBe(200);
    await expect.poll(() => emulator.mpSent.filter((m) => m.touser === 'oHANDED'), { timeout: 3_000, interval: 10 }).toEqual([
      { touser: 'oHANDED', msgtype: 'text', text: { content: '下单后 48 小时内发货。' } },
    ]);
    expect(performance.now() - asked).toBeLessThan(2_000);
    expect(emulator.unexpected).toEqual([]);
  });
});
