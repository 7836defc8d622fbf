import type { Queryable } from '../db/client.ts';
import type { OrderRow } from '../commerce/orders.ts';
import { notFound } from '../errors.ts';
import { isUuid } from '../ids.ts';
import { iso } from '../time.ts';
import type { IdentityRow } from './identities.ts';
import { maskPhone } from './mask.ts';

interface CustomerRow {
  id: string;
  displayName: string;
  avatarUrl: string | null;
  phone: string | null;
  tier: string;
  points: number;
  createdAt: Date;
}

// Orders that count as money actually spent.
const SPENT_STATUSES = ['paid', 'shipped', 'delivered', 'completed'];

export async function getCustomer(q: Queryable, id: string): Promise<CustomerRow> {
  if (!isUuid(id)) throw notFound('客户');
  const [row] = await q<CustomerRow[]>`select * from customers where id = ${id}`;
  if (!row) throw notFound('客户');
  return row;
}

/** The unified profile the agent sees beside the conversation. Phone is masked unless `reveal`. */
export async function assembleProfile(q: Queryable, id: string, opts: { reveal: boolean; orderLimit?: number }) {
  const customer = await getCustomer(q, id);
  const [identities, orders, [totals]] = await Promise.all([
    q<IdentityRow[]>`select * from identities where customer_id = ${id} order by created_at`,
    q<OrderRow[]>`select * from orders where customer_id = ${id} order by ordered_at desc limit ${opts.orderLimit ?? 50}`,
    q<{ count: number; paidCount: number; spentFen: number; firstOrderAt: Date | null; lastOrderAt: Date | null }[]>`
      select count(*)::int as count,
             (count(*) filter (where status = any(${SPENT_STATUSES})))::int as paid_count,
             coalesce(sum(total_fen) filter (where status = any(${SPENT_STATUSES})), 0)::bigint as spent_fen,
             min(ordered_at) as first_order_at, max(ordered_at) as last_order_at
        from orders where customer_id = ${id}`,
  ]);
  return {
    id: customer.id,
    displayName: customer.displayName,
    avatarUrl: customer.avatarUrl,
    phone: opts.reveal ? customer.phone : maskPhone(customer.phone),
    tier: customer.tier,
    points: customer.points,
    createdAt: iso(customer.createdAt),
    identities: identities.map((i) => ({
      kind: i.kind,
      // a phone is a phone whether it sits on the customer or on an identity
      value: i.kind === 'phone' && !opts.reveal ? maskPhone(i.value) : i.value,
      displayName: i.displayName,
    })),
    orders: orders.map((o) => ({
      id: o.id,
      platform: o.platform,
      platformOrderId: o.platformOrderId,
      status: o.status,
      totalFen: o.totalFen,
      items: o.items,
      orderedAt: iso(o.orderedAt),
    })),
    totals: {
      orderCount: totals.count,
      spentFen: totals.spentFen,
      aovFen: totals.paidCount > 0 ? Math.round(totals.spentFen / totals.paidCount) : 0,
      firstOrderAt: iso(totals.firstOrderAt),
      lastOrderAt: iso(totals.lastOrderAt),
    },
  };
}
export type ProfileView = Awaited<ReturnType<typeof assembleProfile>>;
