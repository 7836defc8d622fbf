import type { Queryable } from '../db/client.ts';
import { isVip, loadRules, segmentOf } from '../customers/rules.ts';

/** The customer's RFM segment by the shop's rules, from three aggregates (not the whole profile). */
async function segmentNow(q: Queryable, customerId: string): Promise<string> {
  const rules = await loadRules(q);
  const [r] = await q<{ lastPaid: Date | null; f: number; m: number }[]>`
    select max(coalesce(paid_at, ordered_at)) as last_paid,
           (count(*) filter (where ordered_at >= now() - ${rules.rfmWindowDays} * interval '1 day'))::int as f,
           coalesce(sum(total_fen) filter (where ordered_at >= now() - ${rules.rfmWindowDays} * interval '1 day'), 0)::bigint as m
      from orders where customer_id = ${customerId} and status in ('paid', 'shipped', 'delivered', 'completed')`;
  const recencyDays = r.lastPaid ? Math.floor((Date.now() - r.lastPaid.getTime()) / 86_400_000) : null;
  return segmentOf({ recencyDays, frequency: r.f, monetaryFen: r.m }, rules);
}

/**
 * How urgent a handoff is, with the reasons (kept in the ticket's history so an agent can see why a ticket
 * jumped the queue): an angry customer first, then VIPs, then the RFM segment, then money at stake. Waiting
 * time counts too, through the queue's age order and the SLA escalation.
 */
export async function computePriority(q: Queryable, input: { customerId: string; reason: string }): Promise<{ priority: number; factors: string[] }> {
  const factors: string[] = [];
  let priority = 0;
  if (input.reason === 'negative_sentiment') {
    priority += 40;
    factors.push('情绪激动');
  }
  if (await isVip(q, input.customerId)) {
    priority += 30;
    factors.push('VIP 客户');
  }
  const segment = await segmentNow(q, input.customerId);
  if (segment === '高价值') {
    priority += 15;
    factors.push('高价值客户');
  } else if (segment === '流失风险') {
    priority += 10;
    factors.push('流失风险客户');
  }
  const [stake] = await q<{ fen: number }[]>`
    select coalesce(max(total_fen), 0)::bigint as fen from orders
     where customer_id = ${input.customerId} and ordered_at > now() - interval '30 days' and status in ('created', 'paid', 'shipped', 'delivered')`;
  if (stake.fen >= 50_000) {
    priority += 10;
    factors.push('近期订单金额较高');
  }
  return { priority, factors };
}
