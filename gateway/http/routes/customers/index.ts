import Router from '@koa/router';
import { z } from 'zod';
import { audit } from '../../../../core/audit.ts';
import { authorize, canViewConversation, isSupervisor } from '../../../../core/agents/policies.ts';
import type { Actor } from '../../../../core/agents/rows.ts';
import type { ConversationRow } from '../../../../core/conversations/rows.ts';
import { inTransaction } from '../../../../core/events.ts';
import { forbidden, notFound } from '../../../../core/errors.ts';
import { isUuid } from '../../../../core/ids.ts';
import { mergeCustomers, mergesOf, rootCustomer, splitMerge } from '../../../../core/customers/merge.ts';
import { assembleProfile, getCustomer } from '../../../../core/customers/profile.ts';
import { loadRules, saveRules } from '../../../../core/customers/rules.ts';
import { presentMerge } from '../../../../core/customers/presenter.ts';
import { searchCustomers } from '../../../../core/customers/search.ts';
import { addTag, removeTag } from '../../../../core/customers/tags.ts';
import type { Queryable } from '../../../../core/db/client.ts';
import { readJson } from '../../body.ts';
import type { HttpContext } from '../../context.ts';
import { actorOf, requireAgent } from '../../middleware/auth.ts';
import { parse } from '../../../validate.ts';

const profileQuery = z.object({ reveal: z.enum(['0', '1', 'true', 'false']).optional() });
const searchQuery = z.object({ q: z.string().trim().min(1, '请输入搜索内容').max(100) });
const tagBody = z.object({ tag: z.string().trim().min(1).max(20) });
const mergeBody = z.object({ otherCustomerId: z.string().refine(isUuid, '不是有效的客户 ID') });

/** Agents see a customer they serve (a conversation in their team or assigned to them); supervisors see all. */
async function authorizeCustomer(q: Queryable, actor: Actor, customerId: string): Promise<void> {
  if (isSupervisor(actor)) return;
  const convs = await q<Pick<ConversationRow, 'assigneeId' | 'teamId'>[]>`
    select assignee_id, team_id from conversations where customer_id = ${customerId}`;
  authorize(convs.some((c) => canViewConversation(actor, c)), '只能查看与您的会话相关的客户');
}

export function customerRoutes(app: HttpContext): Router {
  const r = new Router({ prefix: '/api/v1/customers' });
  r.use(requireAgent(app));
  const sql = app.deps.sql;

  r.get('/', async (ctx) => {
    const { q } = parse(searchQuery, ctx.query);
    ctx.body = { customers: await searchCustomers(sql, q) };
  });

  // the rules behind segments, tiers, auto tags and LTV
  r.get('/rules', async (ctx) => {
    ctx.body = { rules: await loadRules(sql) };
  });
  r.put('/rules', async (ctx) => {
    const actor = actorOf(ctx);
    authorize(isSupervisor(actor), '只有主管可以修改客户规则');
    const rules = await saveRules(sql, await readJson(ctx, z.unknown()), actor.id);
    await audit(sql, { actorId: actor.id, action: 'settings.customer_rules', targetType: 'settings', targetId: 'customer_rules' });
    ctx.body = { rules };
  });

  r.get('/:id/profile', async (ctx) => {
    const actor = actorOf(ctx);
    const q = parse(profileQuery, ctx.query);
    const reveal = q.reveal === '1' || q.reveal === 'true';
    const customer = await getCustomer(sql, ctx.params.id);
    await authorizeCustomer(sql, actor, customer.id);
    if (reveal) {
      if (!isSupervisor(actor)) throw forbidden('只有主管可以查看完整手机号和地址');
      await audit(sql, { actorId: actor.id, action: 'customer.reveal', targetType: 'customer', targetId: customer.id, details: { fields: ['phone', 'address'] } });
    }
    ctx.body = { profile: await assembleProfile(sql, customer.id, { reveal }) };
  });

  r.post('/:id/tags', async (ctx) => {
    const actor = actorOf(ctx);
    const { tag } = await readJson(ctx, tagBody);
    const customer = await getCustomer(sql, ctx.params.id);
    await authorizeCustomer(sql, actor, customer.id);
    await addTag(sql, customer.id, tag, actor.id);
    ctx.status = 201;
    ctx.body = { profile: await assembleProfile(sql, customer.id, { reveal: false }) };
  });

  r.delete('/:id/tags/:tag', async (ctx) => {
    const actor = actorOf(ctx);
    const customer = await getCustomer(sql, ctx.params.id);
    await authorizeCustomer(sql, actor, customer.id);
    if (!(await removeTag(sql, customer.id, ctx.params.tag))) throw notFound('标签');
    ctx.body = { profile: await assembleProfile(sql, customer.id, { reveal: false }) };
  });

  r.get('/:id/merges', async (ctx) => {
    const actor = actorOf(ctx);
    authorize(isSupervisor(actor), '只有主管可以查看合并记录');
    if (!isUuid(ctx.params.id)) throw notFound('客户');
    ctx.body = { merges: (await mergesOf(sql, ctx.params.id)).map(presentMerge) };
  });

  r.post('/:id/merge', async (ctx) => {
    const actor = actorOf(ctx);
    authorize(isSupervisor(actor), '只有主管可以合并客户');
    const { otherCustomerId } = await readJson(ctx, mergeBody);
    if (!isUuid(ctx.params.id)) throw notFound('客户');
    const merge = await inTransaction(sql, app.deps.bus, async (tx) => {
      const [a, b] = [await rootCustomer(tx, ctx.params.id), await rootCustomer(tx, otherCustomerId)];
      // the older customer keeps everything, as with automatic merges
      const [survivor, merged] = a.createdAt <= b.createdAt ? [a, b] : [b, a];
      return mergeCustomers(tx, { survivorId: survivor.id, mergedId: merged.id, reason: 'manual', actorId: actor.id });
    });
    ctx.status = 201;
    ctx.body = { merge: presentMerge(merge) };
  });

  r.post('/merges/:mergeId/split', async (ctx) => {
    const actor = actorOf(ctx);
    authorize(isSupervisor(actor), '只有主管可以拆分客户');
    const merge = await inTransaction(sql, app.deps.bus, (tx) => splitMerge(tx, ctx.params.mergeId, actor.id));
    ctx.body = { merge: presentMerge(merge) };
  });
  return r;
}
