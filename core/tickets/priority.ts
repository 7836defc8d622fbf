import type { Queryable } from '../db/client.ts';
import { loadRules, segmentOf, tierOf } from '../customers/rules.ts';

const PAID = ['paid', 'shipped', 'delivered', 'completed'];

/**
 * How urgent a handoff is, with the reasons (kept in the ticket's history so an agent can see why a ticket
 * jumped the queue): an angry customer first, then VIPs, then the RFM segment, then money at stake. Waiting
 * time counts too, through the queue's age order and the SLA escalation. One query: this runs on every handoff.
 */
export async function computePriority(q: Queryable, input: { customerId: string; reason: string }): Promise<{ priority: number; factors: string[] }> {
  const rules = await loadRules(q);
  const [c] = await q<{ tier: string; spentFen: number; lastPaid: Date | null; f: number; m: number; stakeFen: number }[]>`
    select c.tier,
           coalesce(sum(o.total_fen) filter (where o.status = any(${PAID})), 0)::bigint as spent_fen,
           max(coalesce(o.paid_at, o.ordered_at)) filter (where o.status = any(${PAID})) as last_paid,
           (count(*) filter (where o.status = any(${PAID}) and o.ordered_at >= now() - ${rules.rfmWindowDays} * interval '1 day'))::int as f,
           coalesce(sum(o.total_fen) filter (where o.status = any(${PAID}) and o.ordered_at >= now() - ${rules.rfmWindowDays} * interval '1 day'), 0)::bigint as m,
           coalesce(max(o.total_fen) filter (where o.status in ('created', 'paid', 'shipped', 'delivered') and o.ordered_at > now() - interval '30 days'), 0)::bigint as stake_fen
      from customers c left join orders o on o.customer_id = c.id
     where c.id = ${input.customerId}
     group by c.id`;
  const factors: string[] = [];
  let priority = 0;
  const add = (points: number, why: string) => {
    priority += points;
    factors.push(why);
  };
  if (input.reason === 'negative_sentiment') add(40, '情绪激动');
  if (!c) return { priority, factors };
  if (rules.vipTiers.includes(tierOf(c.spentFen, c.tier, rules).code)) add(30, 'VIP 客户');
  const recencyDays = c.lastPaid ? Math.floor((Date.now() - c.lastPaid.getTime()) / 86_400_000) : null;
  const segment = segmentOf({ recencyDays, frequency: c.f, monetaryFen: c.m }, rules);
  if (segment === '高价值') add(15, '高价值客户');
  else if (segment === '流失风险') add(10, '流失风险客户');
  if (c.stakeFen >= 50_000) add(10, '近期订单金额较高');
  return { priority, factors };
}
