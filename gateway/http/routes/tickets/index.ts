import Router from '@koa/router';
import { z } from 'zod';
import { authorize, canReply, canViewConversation, isSupervisor } from '../../../../core/agents/policies.ts';
import { notFound } from '../../../../core/errors.ts';
import { isUuid } from '../../../../core/ids.ts';
import { addNote, claimTicket, setTicketStatus, transferTicket } from '../../../../core/tickets/actions.ts';
import { ticketHistory } from '../../../../core/tickets/history.ts';
import { presentNote, presentTicket, presentTicketEvent } from '../../../../core/tickets/presenter.ts';
import { queuePosition } from '../../../../core/tickets/queue.ts';
import type { TicketRow } from '../../../../core/tickets/rows.ts';
import { readJson } from '../../body.ts';
import type { HttpContext } from '../../context.ts';
import { actorOf, requireAgent } from '../../middleware/auth.ts';
import { parse } from '../../../validate.ts';

const listQuery = z.object({
  status: z.enum(['new', 'assigned', 'pending', 'solved', 'closed']).optional(),
  mine: z.enum(['1', 'true']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const transferBody = z.object({ toAgentId: z.string().optional(), toTeamId: z.string().optional(), note: z.string().max(2000).optional() });
const noteBody = z.object({ text: z.string().trim().min(1).max(2000) });
const statusBody = z.object({ status: z.enum(['pending', 'assigned', 'solved', 'closed']) });

/** `/api/v1/tickets`: list (with SLA), one ticket with its history and notes, transfer, notes, status. */
export function ticketRoutes(app: HttpContext): Router {
  const r = new Router({ prefix: '/api/v1/tickets' });
  r.use(requireAgent(app));
  const sql = app.deps.sql;

  const load = async (id: string) => {
    if (!isUuid(id)) throw notFound('工单');
    const [t] = await sql<TicketRow[]>`select * from tickets where id = ${id}`;
    if (!t) throw notFound('工单');
    return t;
  };

  r.get('/', async (ctx) => {
    const q = parse(listQuery, ctx.query);
    const actor = actorOf(ctx);
    const scoped = !isSupervisor(actor);
    const rows = await sql<TicketRow[]>`
      select * from tickets
       where (${q.status ?? null}::text is null or status = ${q.status ?? null})
         and (${q.mine ? actor.id : null}::uuid is null or assignee_id = ${q.mine ? actor.id : null})
         and (not ${scoped} or assignee_id = ${actor.id} or team_id = any(${actor.teamIds}::uuid[]))
       order by (status = 'new') desc, priority desc, created_at
       limit ${q.limit}`;
    ctx.body = { tickets: rows.map(presentTicket) };
  });

  r.get('/:id', async (ctx) => {
    const t = await load(ctx.params.id);
    authorize(canViewConversation(actorOf(ctx), t), '只能查看本组或分配给您的工单');
    const [history, notes, queue] = await Promise.all([
      ticketHistory(sql, t.id),
      sql<{ id: number; authorId: string; text: string; mentions: string[]; createdAt: Date }[]>`select * from ticket_notes where ticket_id = ${t.id} order by id`,
      queuePosition(sql, t.id),
    ]);
    ctx.body = { ticket: presentTicket(t), history: history.map(presentTicketEvent), notes: notes.map(presentNote), queue };
  });

  r.post('/:id/claim', async (ctx) => {
    ctx.body = { ticket: presentTicket(await claimTicket(app.deps, { ticketId: ctx.params.id, actor: actorOf(ctx) })) };
  });
  r.post('/:id/transfer', async (ctx) => {
    const body = await readJson(ctx, transferBody);
    const actor = actorOf(ctx);
    const t = await load(ctx.params.id);
    authorize(canReply(actor, t), '只有接待该工单的客服或主管可以转接');
    ctx.body = { ticket: presentTicket(await transferTicket(app.deps, { ticketId: t.id, actor, ...body })) };
  });

  r.post('/:id/notes', async (ctx) => {
    const { text } = await readJson(ctx, noteBody);
    const actor = actorOf(ctx);
    const t = await load(ctx.params.id);
    authorize(canViewConversation(actor, t), '只能在本组或分配给您的工单上写备注');
    await addNote(app.deps, { ticketId: t.id, actor, text });
    ctx.status = 201;
    ctx.body = { ok: true };
  });

  r.put('/:id/status', async (ctx) => {
    const { status } = await readJson(ctx, statusBody);
    const actor = actorOf(ctx);
    const t = await load(ctx.params.id);
    authorize(canReply(actor, t), '只有接待该工单的客服或主管可以修改状态');
    ctx.body = { ticket: presentTicket(await setTicketStatus(app.deps, { ticketId: t.id, actor, status })) };
  });
  return r;
}
