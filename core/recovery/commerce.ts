import type { Tx } from '../db/client.ts';
import type { CommerceEvent } from '../commerce/events.ts';
import { SPENT_STATUSES } from '../customers/profile.ts';
import { loadRules, tierOf } from '../customers/rules.ts';
import { cancelRuns, liveTriggers, scheduleRuns, type RunContext, type TriggerHit } from './schedule.ts';

const itemsOf = (e: CommerceEvent) => e.cart?.items ?? e.order?.items ?? [];
const contextOf = (e: CommerceEvent, extra: Partial<RunContext>): RunContext => {
  const items = itemsOf(e);
  return {
    at: e.occurredAt.toISOString(),
    platform: e.platform,
    product: items.find((i) => i.name)?.name,
    categories: [...new Set(items.map((i) => i.category).filter(Boolean))],
    ...extra,
  };
};

/** The run a commerce event starts, if any. */
function hitOf(e: CommerceEvent, customerId: string): TriggerHit | null {
  switch (e.type) {
    case 'cart.abandoned':
      return { type: 'cart_abandoned', customerId, reasonKey: `cart:${e.platform}:${e.cart!.id}`, context: contextOf(e, { cartId: e.cart!.id, amountFen: e.cart!.totalFen }) };
    case 'payment.failed':
      return { type: 'payment_failed', customerId, reasonKey: `pay:${e.platform}:${e.payment!.orderId}`, context: contextOf(e, { orderId: e.payment!.orderId, amountFen: e.payment!.amountFen }) };
    case 'order.cancelled':
      return { type: 'order_cancelled', customerId, reasonKey: `cancel:${e.platform}:${e.order!.id}`, context: contextOf(e, { orderId: e.order!.id, amountFen: e.order!.totalFen }) };
    case 'order.refunded':
      return { type: 'refund', customerId, reasonKey: `refund:${e.platform}:${e.order!.id}`, context: contextOf(e, { orderId: e.order!.id, amountFen: e.order!.totalFen }) };
    default:
      return null;
  }
}

/** Paying ends the reasons to chase: that order's failed payment, and the customer's open carts and cancellations. */
const PAID = new Set(['order.paid']);

/**
 * Recovery's part of storing a commerce batch, in the same transaction: `apply` writes the orders and carts;
 * around it, runs are scheduled for new reasons, cancelled for reasons that went away, payments are attributed
 * to the playbook message that came before them, and tier upgrades are noticed.
 */
export async function withRecovery(tx: Tx, events: CommerceEvent[], customerOf: string[], apply: () => Promise<void>): Promise<void> {
  const paid = events.map((e, i) => ({ e, customerId: customerOf[i] })).filter(({ e }) => PAID.has(e.type) && e.order);
  const hits = events.map((e, i) => hitOf(e, customerOf[i])).filter((h): h is TriggerHit => !!h);
  const live = hits.length || paid.length ? await liveTriggers(tx) : new Set();
  const watchTier = live.has('tier_upgrade') && paid.length > 0;
  const before = watchTier ? await tiers(tx, [...new Set(paid.map((p) => p.customerId))]) : null;

  await apply();

  if (hits.some((h) => live.has(h.type))) await scheduleRuns(tx, hits.filter((h) => live.has(h.type)));
  if (!paid.length) return;
  await cancelRuns(tx, {
    reasonKeys: paid.flatMap(({ e }) => [`pay:${e.platform}:${e.order!.id}`, ...(e.order!.cartId ? [`cart:${e.platform}:${e.order!.cartId}`] : [])]),
    customerTriggers: { customerIds: paid.map((p) => p.customerId), triggers: ['cart_abandoned', 'order_cancelled'] },
  });
  await attribute(tx, paid.map(({ e, customerId }) => ({ customer_id: customerId, platform: e.platform, order_id: e.order!.id, paid_at: (e.order!.paidAt ?? e.occurredAt).toISOString() })));
  if (before) {
    const after = await tiers(tx, [...before.keys()]);
    const ups: TriggerHit[] = [];
    for (const [customerId, t] of after)
      if (t.rank > (before.get(customerId)?.rank ?? t.rank))
        ups.push({ type: 'tier_upgrade', customerId, reasonKey: `tier:${customerId}:${t.code}`, context: { at: new Date().toISOString(), tier: t.name } });
    await scheduleRuns(tx, ups);
  }
}

async function tiers(tx: Tx, customerIds: string[]): Promise<Map<string, { rank: number; code: string; name: string }>> {
  const rules = await loadRules(tx);
  const rows = await tx<{ id: string; tier: string; spentFen: number }[]>`
    select c.id, c.tier, coalesce(sum(o.total_fen) filter (where o.status = any(${SPENT_STATUSES})), 0)::bigint as spent_fen
      from customers c left join orders o on o.customer_id = c.id
     where c.id = any(${customerIds}::uuid[]) group by c.id`;
  return new Map(
    rows.map((r) => {
      const t = tierOf(Number(r.spentFen), r.tier, rules);
      return [r.id, { rank: rules.tiers.findIndex((x) => x.code === t.code), code: t.code, name: t.name }];
    }),
  );
}

/**
 * Last touch: a paid order counts for the customer's latest playbook contact (a message sent, or a script given
 * to an agent) within that playbook's attribution window. An order recovers at most one run.
 */
async function attribute(tx: Tx, paid: { customer_id: string; platform: string; order_id: string; paid_at: string }[]): Promise<void> {
  await tx`
    with paid as (
      select * from jsonb_to_recordset(${tx.json(paid as never)}) as x(customer_id uuid, platform text, order_id text, paid_at timestamptz)
    ), o as (
      select p.customer_id, p.paid_at, orders.id as oid, orders.total_fen
        from paid p join orders on orders.platform = p.platform and orders.platform_order_id = p.order_id
       where not exists (select 1 from recovery_runs x where x.recovered_order_id = orders.id)
    ), pick as (
      select distinct on (r.id) r.id as run_id, o.oid, o.total_fen, o.paid_at
        from o join recovery_runs r on r.customer_id = o.customer_id
        join playbooks pb on pb.id = r.playbook_id
       where r.status in ('sent', 'suggested', 'fallback') and r.recovered_at is null
         and r.executed_at <= o.paid_at and r.executed_at > o.paid_at - pb.attribution_hours * interval '1 hour'
         and r.executed_at = (select max(r2.executed_at) from recovery_runs r2 join playbooks pb2 on pb2.id = r2.playbook_id
                               where r2.customer_id = o.customer_id and r2.status in ('sent', 'suggested', 'fallback') and r2.recovered_at is null
                                 and r2.executed_at <= o.paid_at and r2.executed_at > o.paid_at - pb2.attribution_hours * interval '1 hour')
       order by r.id, o.paid_at
    )
    update recovery_runs r set recovered_at = pick.paid_at, recovered_fen = pick.total_fen, recovered_order_id = pick.oid
      from pick where r.id = pick.run_id`;
}
