import Router from '@koa/router';
import { canViewConversation, authorize, isSupervisor } from '../../../../core/agents/policies.ts';
import { assembleProfile, getCustomer } from '../../../../core/customers/profile.ts';
import type { ConversationRow } from '../../../../core/conversations/rows.ts';
import type { HttpContext } from '../../context.ts';
import { actorOf, requireAgent } from '../../middleware/auth.ts';

export function customerRoutes(app: HttpContext): Router {
  const r = new Router({ prefix: '/api/v1/customers' });
  r.use(requireAgent(app));
  r.get('/:id/profile', async (ctx) => {
    const actor = actorOf(ctx);
    const customer = await getCustomer(app.deps.sql, ctx.params.id);
    if (!isSupervisor(actor)) {
      const convs = await app.deps.sql<Pick<ConversationRow, 'assigneeId' | 'teamId'>[]>`
        select assignee_id, team_id from conversations where customer_id = ${customer.id}`;
      authorize(convs.some((c) => canViewConversation(actor, c)), '只能查看与您的会话相关的客户');
    }
    ctx.body = { profile: await assembleProfile(app.deps.sql, customer.id, { reveal: false }) };
  });
  return r;
}
