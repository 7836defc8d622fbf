import Router from '@koa/router';
import { scriptsFor } from '../recovery/index.ts';
import { z } from 'zod';
import { authorize, canReply, canViewConversation, isSupervisor } from '../../../../core/agents/policies.ts';
import { sendOutbound } from '../../../../core/conversations/outbound.ts';
import { presentConversation, presentMessage } from '../../../../core/conversations/presenter.ts';
import { getConversation, listConversations, listMessages, listMessagesBefore } from '../../../../core/conversations/queries.ts';
import { resolveConversation } from '../../../../core/tickets/tickets.ts';
import { snoozeConversation } from '../../../../core/tickets/actions.ts';
import { readJson } from '../../body.ts';
import type { HttpContext } from '../../context.ts';
import { actorOf, requireAgent } from '../../middleware/auth.ts';
import { parse } from '../../../validate.ts';

const listQuery = z.object({
  status: z.enum(['bot', 'queued', 'open', 'resolved']).optional(),
  mentioned: z.enum(['1', 'true']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(100),
});
const messagesQuery = z.object({
  after: z.coerce.number().int().min(0).default(0),
  /** older pages for infinite scroll: the messages before this seq (newest `limit` of them) */
  before: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(200),
});
const snoozeSchema = z.object({ minutes: z.number().int().min(0).max(7 * 24 * 60) });
const replySchema = z.object({
  text: z.string().trim().min(1, '消息内容不能为空').max(4000),
  // the console's id for this reply: sent again (its answer lost), it is the same reply, not a second one
  clientMsgId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'clientMsgId 只能是 1-64 位字母、数字、- 或 _').optional(),
});

export function conversationRoutes(app: HttpContext): Router {
  const r = new Router({ prefix: '/api/v1/conversations' });
  r.use(requireAgent(app));

  r.get('/', async (ctx) => {
    const q = parse(listQuery, ctx.query);
    const actor = actorOf(ctx);
    const rows = await listConversations(app.deps.sql, {
      status: q.status,
      mentionedAgentId: q.mentioned ? actor.id : undefined,
      limit: q.limit,
      scope: isSupervisor(actor) ? undefined : { agentId: actor.id, teamIds: actor.teamIds },
    });
    ctx.body = { conversations: rows.map(presentConversation) };
  });

  r.get('/:id', async (ctx) => {
    const c = await getConversation(app.deps.sql, ctx.params.id);
    authorize(canViewConversation(actorOf(ctx), c));
    ctx.body = { conversation: presentConversation(c) };
  });

  r.get('/:id/messages', async (ctx) => {
    const q = parse(messagesQuery, ctx.query);
    const c = await getConversation(app.deps.sql, ctx.params.id);
    authorize(canViewConversation(actorOf(ctx), c));
    const messages = q.before ? await listMessagesBefore(app.deps.sql, c.id, q.before, q.limit) : await listMessages(app.deps.sql, c.id, q.after, q.limit);
    ctx.body = { messages: messages.map(presentMessage), lastSeq: c.lastSeq };
  });

  // agent assist: the KB answers that fit the customer's latest message, for one-click insert
  r.get('/:id/suggestions', async (ctx) => {
    const c = await getConversation(app.deps.sql, ctx.params.id);
    authorize(canViewConversation(actorOf(ctx), c));
    const [last] = await app.deps.sql<{ text: string | null }[]>`
      select text from messages where conversation_id = ${c.id} and sender_type = 'customer' and type = 'text' order by seq desc limit 1`;
    const suggestions = last?.text ? app.bot.suggest(last.text) : [];
    ctx.body = {
      forText: last?.text ?? null,
      suggestions: suggestions.map((s) => ({ entryId: s.entry.id, question: s.entry.question, answer: s.entry.answer, score: Math.round(s.score * 1000) / 1000 })),
      // recovery scripts for this customer (挽回话术), one click to insert like the KB answers
      scripts: await scriptsFor(app.deps.sql, c.customerId),
    };
  });

  r.post('/:id/messages', async (ctx) => {
    const body = await readJson(ctx, replySchema);
    const actor = actorOf(ctx);
    const c = await getConversation(app.deps.sql, ctx.params.id);
    authorize(canReply(actor, c), '只有接待该会话的客服或主管可以回复');
    const { message, replayed } = await sendOutbound(app.deps, { conversationId: c.id, senderType: 'agent', senderId: actor.id, text: body.text, clientMsgId: body.clientMsgId });
    ctx.status = replayed ? 200 : 201;
    ctx.body = { message: presentMessage(message) };
  });

  r.post('/:id/snooze', async (ctx) => {
    const { minutes } = await readJson(ctx, snoozeSchema);
    const c = await getConversation(app.deps.sql, ctx.params.id);
    authorize(canReply(actorOf(ctx), c), '只有接待该会话的客服或主管可以稍后处理');
    const until = minutes ? new Date(Date.now() + minutes * 60_000) : null;
    ctx.body = { conversation: presentConversation(await snoozeConversation(app.deps, c.id, until)) };
  });

  r.post('/:id/resolve', async (ctx) => {
    const actor = actorOf(ctx);
    const c = await getConversation(app.deps.sql, ctx.params.id);
    authorize(canReply(actor, c), '只有接待该会话的客服或主管可以结束会话');
    ctx.body = { conversation: presentConversation(await resolveConversation(app.deps, c.id, actorOf(ctx).id)) };
  });

  return r;
}
