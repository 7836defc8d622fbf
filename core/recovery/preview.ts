import type { Queryable } from '../db/client.ts';
import { SPENT_STATUSES } from '../customers/profile.ts';
import { zonedParts } from '../time.ts';
import { assess } from './assess.ts';
import type { PlaybookRow } from './playbooks.ts';
import type { RunContext } from './schedule.ts';
import { loadRecoverySettings } from './settings.ts';

interface Candidate {
  customerId: string;
  name: string;
  context: RunContext;
}

const LIMIT = 200;

/**
 * Who a playbook would reach if it ran now: the customers whose situation fits its trigger today (carts left in
 * the last week, failed payments of the last day, lapsed buyers, today's birthdays ...), each with the verdict the
 * worker would reach (message, agent task, or why not). Nothing is stored or sent.
 */
export async function previewPlaybook(q: Queryable, p: PlaybookRow, now = new Date()) {
  const settings = await loadRecoverySettings(q);
  const candidates = await candidatesOf(q, p, now, settings.timezone);
  const rows = [];
  const counts: Record<string, number> = {};
  for (const c of candidates) {
    const v = await assess(q, p, { customerId: c.customerId, trigger: p.trigger.type, context: c.context }, settings, now);
    const verdict =
      v.kind === 'skip' ? v.outcome : v.kind === 'wait' ? 'quiet_hours' : !v.reach ? 'act' : v.reach.blocked ? `fallback:${v.reach.blocked}` : 'send';
    counts[verdict] = (counts[verdict] ?? 0) + 1;
    rows.push({ customerId: c.customerId, name: c.name, verdict, channel: v.kind === 'go' ? (v.reach?.conversation?.channel ?? null) : null, context: c.context });
  }
  return { total: rows.length, truncated: rows.length >= LIMIT, counts, customers: rows };
}

async function candidatesOf(q: Queryable, p: PlaybookRow, now: Date, tz: string): Promise<Candidate[]> {
  const t = p.trigger;
  const at = now.toISOString();
  const week = new Date(now.getTime() - 7 * 86_400_000);
  switch (t.type) {
    case 'cart_abandoned':
      return q<Candidate[]>`
        select c.customer_id, cu.display_name as name,
               jsonb_build_object('at', c.updated_at, 'platform', c.platform, 'cartId', c.platform_cart_id, 'amountFen', c.total_fen,
                                  'product', c.items->0->>'name') as context
          from carts c join customers cu on cu.id = c.customer_id
         where c.status = 'abandoned' and c.updated_at >= ${week} and c.updated_at <= ${new Date(now.getTime() - t.delayMinutes * 60_000)}
         order by c.updated_at desc limit ${LIMIT}`;
    case 'payment_failed':
      return q<Candidate[]>`
        select distinct on (e.customer_id) e.customer_id, cu.display_name as name,
               jsonb_build_object('at', e.occurred_at, 'platform', e.platform, 'orderId', e.payload->'payment'->>'orderId',
                                  'amountFen', (e.payload->'payment'->>'amountFen')::bigint) as context
          from commerce_events e join customers cu on cu.id = e.customer_id
         where e.type = 'payment.failed' and e.occurred_at >= ${new Date(now.getTime() - 86_400_000)}
         order by e.customer_id, e.occurred_at desc limit ${LIMIT}`;
    case 'order_cancelled':
    case 'refund':
      return q<Candidate[]>`
        select o.customer_id, cu.display_name as name,
               jsonb_build_object('at', o.status_at, 'platform', o.platform, 'orderId', o.platform_order_id, 'amountFen', o.total_fen,
                                  'product', o.items->0->>'name') as context
          from orders o join customers cu on cu.id = o.customer_id
         where o.status = ${t.type === 'refund' ? 'refunded' : 'cancelled'} and o.status_at >= ${week}
         order by o.status_at desc limit ${LIMIT}`;
    case 'lapsed':
      return q<Candidate[]>`
        select c.customer_id, cu.display_name as name, jsonb_build_object('at', ${at}::timestamptz, 'amountFen', c.last_fen) as context
          from (select customer_id, max(coalesce(paid_at, ordered_at)) as last_paid,
                       (array_agg(total_fen order by coalesce(paid_at, ordered_at) desc))[1] as last_fen
                  from orders where status = any(${SPENT_STATUSES}) group by customer_id) c
          join customers cu on cu.id = c.customer_id and cu.merged_into is null
         where c.last_paid < ${now}::timestamptz - ${t.days} * interval '1 day'
         order by c.last_paid desc limit ${LIMIT}`;
    case 'unhappy':
      return q<Candidate[]>`
        select distinct on (t.customer_id) t.customer_id, cu.display_name as name,
               jsonb_build_object('at', coalesce(t.csat_at, t.created_at), 'ticketId', t.id, 'csat', t.csat_score,
                                  'angry', t.reason = 'negative_sentiment') as context
          from tickets t join customers cu on cu.id = t.customer_id
         where t.created_at >= ${week}
           and ((t.csat_score is not null and t.csat_score <= ${t.maxCsat}) or (${t.angry} and t.reason = 'negative_sentiment'))
         order by t.customer_id, t.created_at desc limit ${LIMIT}`;
    case 'birthday': {
      const d = zonedParts(now, tz);
      const mmdd = `${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
      return q<Candidate[]>`
        select id as customer_id, display_name as name, jsonb_build_object('at', ${at}::timestamptz) as context
          from customers where birthday = ${mmdd} and merged_into is null limit ${LIMIT}`;
    }
    case 'member_day':
      return q<Candidate[]>`
        select c.id as customer_id, c.display_name as name, jsonb_build_object('at', ${at}::timestamptz) as context
          from customers c
         where c.merged_into is null and exists (select 1 from orders o where o.customer_id = c.id and o.status = any(${SPENT_STATUSES}))
         limit ${LIMIT}`;
    case 'tier_upgrade':
      // upgrades happen at the moment of payment; there is no standing audience to show
      return [];
  }
}
