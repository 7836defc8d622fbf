import type { Queryable } from '../db/client.ts';
import type { OrderRow } from '../commerce/orders.ts';
import { notFound } from '../errors.ts';
import { isUuid } from '../ids.ts';
import { iso } from '../time.ts';
import type { IdentityRow } from './identities.ts';
import { maskAddress, maskPhone } from './mask.ts';
import { loadRules, ltvOf, segmentOf, tierOf, type Rfm } from './rules.ts';
import { autoTags } from './tags.ts';

export interface CustomerRow {
  id: string;
  displayName: string;
  avatarUrl: string | null;
  phone: string | null;
  tier: string;
  points: number;
  mergedInto: string | null;
  createdAt: Date;
}

// Orders that count as money actually spent.
export const SPENT_STATUSES = ['paid', 'shipped', 'delivered', 'completed'];

/** The customer, following merges: asking for a merged customer gives the one it was merged into. */
export async function getCustomer(q: Queryable, id: string): Promise<CustomerRow> {
  if (!isUuid(id)) throw notFound('客户');
  let [row] = await q<CustomerRow[]>`select * from customers where id = ${id}`;
  for (let hops = 0; row?.mergedInto && hops < 10; hops++) [row] = await q<CustomerRow[]>`select * from customers where id = ${row.mergedInto}`;
  if (!row) throw notFound('客户');
  return row;
}

interface Aggregates {
  orderCount: number;
  paidCount: number;
  spentFen: number;
  firstOrderAt: Date | null;
  lastOrderAt: Date | null;
  lastPaidAt: Date | null;
  windowOrders: number;
  windowFen: number;
  discounted: number;
}

/**
 * The unified profile the agent sees beside the conversation. Phone and address are masked unless `reveal`
 * (supervisors only, audited by the caller). Aggregates are computed in SQL so a customer with thousands of
 * orders costs the same handful of queries.
 */
export async function assembleProfile(q: Queryable, id: string, opts: { reveal: boolean; orderLimit?: number }) {
  const customer = await getCustomer(q, id);
  const cid = customer.id;
  const rules = await loadRules(q);
  const [identities, orders, [agg], categories, tags, carts, browsing, tickets, conversations] = await Promise.all([
    q<IdentityRow[]>`select * from identities where customer_id = ${cid} order by created_at`,
    q<OrderRow[]>`select * from orders where customer_id = ${cid} order by ordered_at desc limit ${opts.orderLimit ?? 20}`,
    q<Aggregates[]>`
      select count(*)::int as order_count,
             (count(*) filter (where status = any(${SPENT_STATUSES})))::int as paid_count,
             coalesce(sum(total_fen) filter (where status = any(${SPENT_STATUSES})), 0)::bigint as spent_fen,
             min(ordered_at) as first_order_at, max(ordered_at) as last_order_at,
             max(coalesce(paid_at, ordered_at)) filter (where status = any(${SPENT_STATUSES})) as last_paid_at,
             (count(*) filter (where status = any(${SPENT_STATUSES}) and ordered_at >= now() - ${rules.rfmWindowDays} * interval '1 day'))::int as window_orders,
             coalesce(sum(total_fen) filter (where status = any(${SPENT_STATUSES}) and ordered_at >= now() - ${rules.rfmWindowDays} * interval '1 day'), 0)::bigint as window_fen,
             (count(*) filter (where status = any(${SPENT_STATUSES}) and discount_fen > 0))::int as discounted
        from orders where customer_id = ${cid}`,
    q<{ category: string; qty: number }[]>`
      select i->>'category' as category, sum(coalesce((i->>'qty')::int, 1))::int as qty
        from orders o, jsonb_array_elements(o.items) i
       where o.customer_id = ${cid} and o.status = any(${SPENT_STATUSES}) and i ? 'category'
       group by 1`,
    q<{ tag: string; source: string }[]>`select tag, source from customer_tags where customer_id = ${cid} order by created_at`,
    q<{ platform: string; platformCartId: string; status: string; items: unknown; totalFen: number; updatedAt: Date }[]>`
      select platform, platform_cart_id, status, items, total_fen, updated_at from carts
       where customer_id = ${cid} order by updated_at desc limit 5`,
    q<{ platform: string; payload: { browse?: Record<string, unknown> }; occurredAt: Date }[]>`
      select platform, payload, occurred_at from commerce_events
       where customer_id = ${cid} and type = 'browse' order by occurred_at desc limit 5`,
    q<{ id: string; number: number; status: string; category: string | null; csatScore: number | null; csatComment: string | null; csatAt: Date | null; createdAt: Date }[]>`
      select id, number, status, category, csat_score, csat_comment, csat_at, created_at from tickets
       where customer_id = ${cid} order by created_at desc limit 50`,
    q<{ id: string; channel: string; status: string; lastMessageAt: Date | null; createdAt: Date }[]>`
      select id, channel, status, last_message_at, created_at from conversations
       where customer_id = ${cid} order by coalesce(last_message_at, created_at) desc limit 10`,
  ]);

  const rfm: Rfm = {
    recencyDays: agg.lastPaidAt ? Math.max(0, Math.floor((Date.now() - agg.lastPaidAt.getTime()) / 86_400_000)) : null,
    frequency: agg.windowOrders,
    monetaryFen: agg.windowFen,
  };
  const aovFen = agg.paidCount > 0 ? Math.round(agg.spentFen / agg.paidCount) : 0;
  const tier = tierOf(agg.spentFen, customer.tier, rules);
  const computed = autoTags({ windowOrders: agg.windowOrders, paidOrders: agg.paidCount, discountedOrders: agg.discounted, categories }, rules);

  return {
    id: cid,
    displayName: customer.displayName,
    avatarUrl: customer.avatarUrl,
    phone: opts.reveal ? customer.phone : maskPhone(customer.phone),
    revealed: opts.reveal,
    tier: tier.code,
    tierName: tier.name,
    tierSource: tier.source,
    points: customer.points,
    createdAt: iso(customer.createdAt),
    identities: identities.map((i) => ({
      kind: i.kind,
      // a phone is a phone whether it sits on the customer or on an identity
      value: i.kind === 'phone' && !opts.reveal ? maskPhone(i.value) : i.kind === 'phone_sha256' ? `${i.value.slice(0, 8)}…` : i.value,
      displayName: i.displayName,
      verified: i.verified,
    })),
    orders: orders.map((o) => ({
      id: o.id,
      platform: o.platform,
      platformOrderId: o.platformOrderId,
      status: o.status,
      totalFen: o.totalFen,
      discountFen: o.discountFen,
      items: o.items,
      address: opts.reveal ? o.address : maskAddress(o.address),
      orderedAt: iso(o.orderedAt),
      paidAt: iso(o.paidAt),
    })),
    totals: {
      orderCount: agg.orderCount,
      paidOrderCount: agg.paidCount,
      spentFen: agg.spentFen,
      aovFen,
      firstOrderAt: iso(agg.firstOrderAt),
      lastOrderAt: iso(agg.lastOrderAt),
    },
    rfm: { ...rfm, windowDays: rules.rfmWindowDays, segment: segmentOf(rfm, rules) },
    ltvFen: ltvOf(agg.spentFen, rfm, aovFen, rules),
    tags: [...tags.map((t) => ({ tag: t.tag, source: t.source })), ...computed.map((tag) => ({ tag, source: 'auto' }))],
    carts: carts.map((c) => ({ platform: c.platform, cartId: c.platformCartId, status: c.status, items: c.items, totalFen: c.totalFen, updatedAt: iso(c.updatedAt) })),
    browsing: browsing.map((b) => ({ platform: b.platform, ...(b.payload.browse ?? {}), at: iso(b.occurredAt) })),
    openTickets: tickets
      .filter((t) => ['new', 'assigned', 'pending'].includes(t.status))
      .map((t) => ({ id: t.id, number: t.number, status: t.status, category: t.category, createdAt: iso(t.createdAt) })),
    csat: tickets
      .filter((t) => t.csatScore !== null)
      .map((t) => ({ ticketNumber: t.number, score: t.csatScore, comment: t.csatComment, at: iso(t.csatAt) })),
    conversations: conversations.map((c) => ({ id: c.id, channel: c.channel, status: c.status, lastMessageAt: iso(c.lastMessageAt ?? c.createdAt) })),
  };
}
export type ProfileView = Awaited<ReturnType<typeof assembleProfile>>;
