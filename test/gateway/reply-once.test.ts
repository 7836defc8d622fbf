import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendOutbound } from '../../core/conversations/outbound.ts';
import { buildAgent, buildTeam } from '../support/factories.ts';
import { emitAck, startTestHuike, type TestHuike } from '../support/huike.ts';

// An agent's send whose answer was lost (its node died, a proxy timed out) is sent again by the console. Without an
// id of its own, that was a second reply to the customer; with the console's clientMsgId it is the same reply.
describe('an agent reply sent again with its clientMsgId', () => {
  let h: TestHuike;
  let token: string;
  let conversationId: string;
  const heard: string[] = [];
  beforeAll(async () => {
    h = await startTestHuike();
    const team = await buildTeam(h.deps.sql, { isDefault: true });
    const sup = await buildAgent(h.deps.sql, { role: 'supervisor', teamIds: [team.id] });
    token = await h.login(sup.email);
    const { socket } = await h.customerSocket();
    socket.on('message:new', (e: { message: { senderType: string; text: string } }) => e.message.senderType === 'agent' && heard.push(e.message.text));
    conversationId = (await emitAck<{ message: { conversationId: string } }>(socket, 'message:send', { clientMsgId: 'c-1', text: '转人工' })).message.conversationId;
    await h.settle();
  });
  afterAll(() => h?.close());

  const reply = (body: unknown) => h.api(token, `/conversations/${conversationId}/messages`, { method: 'POST', body: JSON.stringify(body) });
  const agentReplies = () => h.deps.sql<{ text: string }[]>`select text from messages where conversation_id = ${conversationId} and sender_type = 'agent' order by seq`.then((r) => r.map((m) => m.text));

  it('is written and sent once, sent again one after the other or both at once', async () => {
    const first = await reply({ text: '您好，已为您查询', clientMsgId: 'r-1' });
    expect(first.status).toBe(201);
    const again = await reply({ text: '您好，已为您查询', clientMsgId: 'r-1' });
    expect(again.status).toBe(200);
    expect(again.body.message.id).toBe(first.body.message.id);

    const both = await Promise.all([reply({ text: '稍等', clientMsgId: 'r-2' }), reply({ text: '稍等', clientMsgId: 'r-2' })]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 201]);
    expect(both[0].body.message.id).toBe(both[1].body.message.id);

    // the same two in one write batch (submitted in the same tick): one reply, the second a replay of it
    const input = { conversationId, senderType: 'agent' as const, text: '马上处理', clientMsgId: 'r-batch' };
    const pair = await Promise.all([sendOutbound(h.deps, input), sendOutbound(h.deps, input)]);
    expect(pair.map((p) => p.replayed ?? false)).toEqual([false, true]);
    expect(pair[0].message.id).toBe(pair[1].message.id);

    // another id is another reply; so is every send without one (API clients that send none)
    expect((await reply({ text: '好的', clientMsgId: 'r-3' })).status).toBe(201);
    expect((await reply({ text: '好的' })).status).toBe(201);
    expect((await reply({ text: '好的' })).status).toBe(201);
    await h.settle();
    expect(await agentReplies()).toEqual(['您好，已为您查询', '稍等', '马上处理', '好的', '好的', '好的']);
    await expect.poll(() => heard.length).toBe(6);
    expect(heard).toEqual(['您好，已为您查询', '稍等', '马上处理', '好的', '好的', '好的']);
  });

  it('sent twice at once where no reply may go, both get the same refusal', async () => {
    const resolved = await h.api(token, `/conversations/${conversationId}/resolve`, { method: 'POST' });
    expect(resolved.status).toBe(200);
    const before = await agentReplies();
    const both = await Promise.all([reply({ text: '还在吗', clientMsgId: 'r-closed' }), reply({ text: '还在吗', clientMsgId: 'r-closed' })]);
    expect(both.map((r) => [r.status, r.body.error?.code])).toEqual([
      [409, 'conversation_resolved'],
      [409, 'conversation_resolved'],
    ]);
    expect(await agentReplies()).toEqual(before);
    // the same two in one write batch (submitted in the same tick): the second gets the first's refusal
    const input = { conversationId, senderType: 'agent' as const, text: '还在吗', clientMsgId: 'r-closed-2' };
    const settled = await Promise.allSettled([sendOutbound(h.deps, input), sendOutbound(h.deps, input)]);
    expect(settled.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'written'))).toEqual(['conversation_resolved', 'conversation_resolved']);
    expect(await agentReplies()).toEqual(before);
  });

  it('refuses an id that is not one, and writes nothing', async () => {
    const before = await agentReplies();
    for (const clientMsgId of [123, '', 'has space', 'x'.repeat(65), '../etc', { $ne: 1 }]) {
      const res = await reply({ text: '你好', clientMsgId });
      expect(res.status, JSON.stringify(clientMsgId)).toBe(400);
      expect(res.body.error.code).toBeTruthy();
    }
    expect(await agentReplies()).toEqual(before);
  });
});
