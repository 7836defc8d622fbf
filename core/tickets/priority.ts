import type { Queryable } from '../db/client.ts';
import { isVip } from '../customers/rules.ts';

/**
 * How urgent a handoff is, with the reasons (kept in the ticket's history so an agent can see why a ticket
 * jumped the queue): an angry customer first, then VIPs, then money at stake.
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
  const [stake] = await q<{ fen: number }[]>`
    select coalesce(max(total_fen), 0)::bigint as fen from orders
     where customer_id = ${input.customerId} and ordered_at > now() - interval '30 days' and status in ('created', 'paid', 'shipped', 'delivered')`;
  if (stake.fen >= 50_000) {
    priority += 10;
    factors.push('近期订单金额较高');
  }
  return { priority, factors };
}
