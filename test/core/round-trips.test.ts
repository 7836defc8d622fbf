import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../core/deps.ts';
import { EventBus } from '../../core/events.ts';
import { ingestInbound, type InboundMessage } from '../../core/conversations/ingest.ts';
import { sendBotReply } from '../../core/conversations/outbound.ts';
import { claimDueDeliveries, markDelivered } from '../../core/conversations/delivery.ts';
import { depsFor } from '../support/db.ts';
import { databaseBehindRelay } from '../support/tcp-proxy.ts';

// Under load every round trip of a hot path waits for a busy event loop and a busy database, so their number is
// what the latency of a message is made of. Here a relay in front of a real Postgres counts them: each send of
// the client that follows an answer is one. Answers are held back RTT ms, so that the statements a path sends
// together reach the relay together (a busy machine cannot split them into two turns).
const RTT = 50;

describe.skipIf(!process.env.DATABASE_URL)(`round trips of the hot paths, with Postgres ${RTT} ms away`, () => {
  let env: Awaited<ReturnType<typeof databaseBehindRelay>>;
  let deps: Deps;
  beforeAll(async () => {
    // one connection: statements are prepared per connection, and a second one would pay a describe for each
    env = await databaseBehindRelay({ max: 1 });
    deps = depsFor(env.database);
  });
  afterAll(() => env.close());

  const msg = (openid: string, id: string): InboundMessage => ({
    channel: 'miniprogram',
    channelMsgId: `${openid}:${id}`,
    identity: { kind: 'wx_openid', value: openid },
    type: 'text',
    text: '在吗',
  });
  /** The fewest round trips `fn` took over three tries. `prepare` runs before each try, at full speed. */
  const trips = async <T,>(fn: () => Promise<T>, prepare: () => Promise<unknown> = async () => {}): Promise<{ results: T[]; trips: number }> => {
    const results: T[] = [];
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      await prepare();
      env.proxy.answerDelayMs = RTT;
      env.proxy.turns = 0;
      try {
        results.push(await fn());
      } finally {
        env.proxy.answerDelayMs = 0;
      }
      best = Math.min(best, env.proxy.turns);
    }
    return { results, trips: best };
  };
  /** everything once at full speed first: the connection opened, the statements prepared, the settings cached */
  async function warm(openid: string) {
    const first = await ingestInbound(deps, msg(openid, 'warm-1'));
    await ingestInbound(deps, msg(openid, 'warm-2'));
    await sendBotReply(deps, { conversationId: first.conversation.id, text: '您好' });
    for (const d of await claimDueDeliveries(deps, 10, 30_000)) await markDelivered(deps, d, null);
    return first.conversation.id;
  }

  it('stores a known customer\'s message in two: the lookups under the locks, then the writes with the COMMIT', async () => {
    const conversationId = await warm('o-rt-inbound');
    let n = 0;
    const { results, trips: t } = await trips(() => ingestInbound(deps, msg('o-rt-inbound', `m${++n}`)));
    expect(results.map((r) => [r.duplicate, r.conversation.id, r.message.seq])).toEqual([4, 5, 6].map((seq) => [false, conversationId, seq]));
    expect(t).toBe(2);
    // and they are committed: another connection sees them
    const [{ count }] = await deps.sql<{ count: number }[]>`select count(*)::int as count from messages where channel_msg_id like 'o-rt-inbound:m%'`;
    expect(count).toBe(3);
  });

  it("stores a message with the bot's answer to it in the same two, its outbox row included", async () => {
    const conversationId = await warm('o-rt-inline');
    // a node whose bot answers '在吗' from the KB (its own bus: a batcher serves the deps it was made for)
    const answering: Deps = { ...deps, bus: new EventBus(), answerInline: (q) => (q.text === '在吗' ? { text: '在的，请问有什么可以帮您？' } : null) };
    let n = 0;
    const { results, trips: t } = await trips(() => ingestInbound(answering, msg('o-rt-inline', `m${++n}`)));
    expect(results.map((r) => r.message.seq)).toEqual([4, 6, 8]);
    expect(t).toBe(2);
    const answers = await deps.sql`
      select m.seq, m.status, o.status as outbox from messages m left join outbox o on o.message_id = m.id
       where m.conversation_id = ${conversationId} and m.sender_type = 'bot' and m.seq > 3 order by m.seq`;
    expect(answers).toEqual([5, 7, 9].map((seq) => ({ seq, status: 'pending', outbox: 'pending' })));
  });

  it('writes a bot reply in two: the conversation locked, then the writes with the COMMIT', async () => {
    const conversationId = await warm('o-rt-reply');
    const { results, trips: t } = await trips(() => sendBotReply(deps, { conversationId, text: '请问有什么可以帮您' }));
    expect(results.map((r) => r?.message.seq)).toEqual([4, 5, 6]);
    expect(t).toBe(2);
  });

  it("still in two with the reply's own id: the lookup of a reply already written goes out behind the lock", async () => {
    const conversationId = await warm('o-rt-reply-id');
    let n = 0;
    const { results, trips: t } = await trips(() => sendBotReply(deps, { conversationId, text: '您好', clientMsgId: `bot-rt-${++n}` }));
    expect(results.map((r) => [r?.message.seq, r?.replayed])).toEqual([[4, undefined], [5, undefined], [6, undefined]]);
    expect(t).toBe(2);
    // the same id again: found, nothing written
    const again = await trips(() => sendBotReply(deps, { conversationId, text: '您好', clientMsgId: 'bot-rt-1' }));
    expect(again.results.map((r) => [r?.message.seq, r?.replayed])).toEqual(Array(3).fill([4, true]));
  });

  it('claims due sends in two and records them as sent in one', async () => {
    const conversationId = await warm('o-rt-outbox');
    const claim = await trips(
      () => claimDueDeliveries(deps, 10, 30_000),
      () => sendBotReply(deps, { conversationId, text: '马上为您查询' }),
    );
    expect(claim.results.map((r) => r.map((d) => [d.message.text, d.recipient]))).toEqual(Array(3).fill([['马上为您查询', 'o-rt-outbox']]));
    expect(claim.trips).toBe(2);
    const due = claim.results.map((r) => r[0]);
    let i = 0;
    const mark = await trips(() => markDelivered(deps, due[i++], null));
    expect(mark.trips).toBe(1);
    const rows = await deps.sql<{ status: string }[]>`select status from outbox where id = any(${due.map((d) => d.outboxId)}::bigint[])`;
    expect(rows.map((r) => r.status)).toEqual(['sent', 'sent', 'sent']);
  });

  it('commits nothing when a statement sent ahead of the COMMIT fails', async () => {
    const conversationId = await warm('o-rt-fail');
    // a reply over the length limit is refused before any write; this one fails in the database instead
    await deps.sql`alter table messages add constraint rt_no_boom check (text is distinct from 'boom')`;
    try {
      await expect(sendBotReply(deps, { conversationId, text: 'boom' })).rejects.toThrow(/rt_no_boom/);
    } finally {
      await deps.sql`alter table messages drop constraint rt_no_boom`;
    }
    const [c] = await deps.sql<{ lastSeq: number }[]>`select last_seq from conversations where id = ${conversationId}`;
    expect(c.lastSeq).toBe(3);
    const [{ n }] = await deps.sql<{ n: number }[]>`select count(*)::int as n from messages where conversation_id = ${conversationId}`;
    expect(n).toBe(3);
    // and the connection is usable again
    expect((await sendBotReply(deps, { conversationId, text: '好的' }))?.message.seq).toBe(4);
  });
});
