import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Deps } from '../deps.ts';
import type { Tx } from '../db/client.ts';
import { inTransaction } from '../events.ts';
import { lockKeys } from '../db/locks.ts';
import { badRequest } from '../errors.ts';
import { canonical, IDENTITY_KINDS, isStrong, phoneHash, type IdentityInput } from '../customers/identities.ts';
import { mergeByStrongIdentity } from '../customers/merge.ts';
import { PLATFORMS } from './orders.ts';
import { withRecovery } from '../recovery/commerce.ts';
import { hasNul } from '../nul.ts';
import { retryAtOnce } from '../db/unavailable.ts';

export const COMMERCE_EVENT_TYPES = [
  'order.created',
  'order.paid',
  'order.shipped',
  'order.delivered',
  'order.completed',
  'order.refunded',
  'order.cancelled',
  'cart.updated',
  'cart.abandoned',
  'payment.failed',
  'browse',
  'logistics.update',
] as const;
export type CommerceEventType = (typeof COMMERCE_EVENT_TYPES)[number];

const when = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const fen = z.number().int().min(0).max(10_000_000_000);
const item = z.object({
  sku: z.string().max(64).default(''),
  name: z.string().max(200).default(''),
  category: z.string().max(50).default(''),
  qty: z.number().int().min(1).max(100_000).default(1),
  priceFen: fen.default(0),
});
const ref = z.string().min(1).max(128);

export const commerceEventSchema = z
  .object({
    id: ref,
    platform: z.enum(PLATFORMS),
    type: z.enum(COMMERCE_EVENT_TYPES),
    occurredAt: when,
    customer: z.object({
      name: z.string().trim().max(64).optional(),
      identities: z
        .array(z.object({ kind: z.enum(IDENTITY_KINDS), value: z.string().trim().min(1).max(256), verified: z.boolean().optional() }))
        .min(1)
        .max(10),
    }),
    order: z
      .object({
        id: ref,
        totalFen: fen,
        discountFen: fen.optional(),
        items: z.array(item).max(200).optional(),
        orderedAt: when.optional(),
        paidAt: when.optional(),
        address: z.string().max(300).optional(),
        cartId: ref.optional(),
      })
      .optional(),
    cart: z.object({ id: ref, items: z.array(item).max(200).default([]), totalFen: fen.default(0) }).optional(),
    payment: z.object({ orderId: ref, amountFen: fen, reason: z.string().max(200).optional() }).optional(),
    logistics: z
      .object({ orderId: ref, carrier: z.string().max(50).optional(), trackingNo: z.string().max(64).optional(), status: z.string().min(1).max(50), description: z.string().max(500).optional() })
      .optional(),
    browse: z.object({ sku: z.string().max(64).optional(), name: z.string().max(200).optional(), category: z.string().max(50).optional(), url: z.string().max(500).optional() }).optional(),
  })
  .superRefine((e, ctx) => {
    const need = e.type.startsWith('order.') ? 'order' : e.type.startsWith('cart.') ? 'cart' : e.type === 'payment.failed' ? 'payment' : e.type === 'logistics.update' ? 'logistics' : 'browse';
    if (!e[need]) ctx.addIssue({ code: 'custom', path: [need], message: `${e.type} 事件必须带 ${need} 字段` });
    for (const [i, id] of e.customer.identities.entries()) {
      try {
        canonical(id);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['customer', 'identities', i], message: (err as Error).message });
      }
    }
  });
export type CommerceEvent = z.infer<typeof commerceEventSchema>;

export const commerceBatchSchema = z.object({ events: z.array(z.unknown()).min(1).max(1000) });

/** Validates every event of a batch; any bad one rejects the whole batch, listing each problem with its index. */
export function parseCommerceBatch(input: unknown): CommerceEvent[] {
  const batch = commerceBatchSchema.safeParse(input);
  if (!batch.success) throw badRequest('invalid_batch', '请求体必须是 {"events":[...]}，含 1 到 1000 个事件');
  const problems: { index: number; path: string; message: string }[] = [];
  const events: CommerceEvent[] = [];
  batch.data.events.forEach((raw, index) => {
    const parsed = commerceEventSchema.safeParse(raw);
    if (parsed.success && hasNul(raw)) problems.push({ index, path: '', message: '不能包含空字符（U+0000）' });
    else if (parsed.success) events.push(parsed.data);
    else for (const i of parsed.error.issues) problems.push({ index, path: i.path.join('.'), message: i.message });
  });
  if (problems.length) throw badRequest('invalid_events', `${new Set(problems.map((p) => p.index)).size} 个事件格式不正确，整批未写入`, problems.slice(0, 100));
  return events;
}

export interface BatchResult {
  received: number;
  stored: number;
  duplicates: number;
  customersCreated: number;
  merged: number;
}

// a phone and its sha256 are one key, so a platform that only sends hashed phones still meets the customer
const keyOf = (i: { kind: string; value: string }) => {
  const h = phoneHash(i as IdentityInput);
  return h ? `ph:${h}` : `${i.kind}:${i.value}`;
};
const kvOf = (i: { kind: string; value: string }) => `${i.kind}:${i.value}`;

const ORDER_STATUS: Partial<Record<CommerceEventType, string>> = {
  'order.created': 'created',
  'order.paid': 'paid',
  'order.shipped': 'shipped',
  'order.delivered': 'delivered',
  'order.completed': 'completed',
  'order.refunded': 'refunded',
  'order.cancelled': 'cancelled',
};

/**
 * Stores a batch of commerce events exactly once (platform + event id) in one transaction, in a handful of
 * set-based statements: identities resolved to customers (OneID, new customers created, strong identities
 * merging customers), events inserted, orders and carts upserted (an older event never overwrites a newer
 * status), logistics appended.
 */
export async function ingestCommerceBatch(deps: Deps, events: CommerceEvent[]): Promise<BatchResult> {
  // again at once after a lost session: idempotent by event id (a retry whose first try committed counts them as duplicates)
  return retryAtOnce(() => ingestOnce(deps, events), deps, 'commerce events');
}

async function ingestOnce(deps: Deps, events: CommerceEvent[]): Promise<BatchResult> {
  return inTransaction(deps.sql, deps.bus, async (tx) => {
    const result: BatchResult = { received: events.length, stored: 0, duplicates: 0, customersCreated: 0, merged: 0 };
    // the same event twice in one batch, or already stored by an earlier batch, is a duplicate
    const seen = new Set<string>();
    const unique = events.filter((e) => !seen.has(`${e.platform}:${e.id}`) && seen.add(`${e.platform}:${e.id}`));
    await lockKeys(tx, unique.map((e) => `commerce:${e.platform}:${e.id}`));
    const existing = new Set(
      (
        await tx<{ k: string }[]>`
          select platform || ':' || event_id as k from commerce_events
           where (platform, event_id) in (select * from unnest(${unique.map((e) => e.platform)}::text[], ${unique.map((e) => e.id)}::text[]))`
      ).map((r) => r.k),
    );
    const fresh = unique.filter((e) => !existing.has(`${e.platform}:${e.id}`));
    result.duplicates = events.length - fresh.length;
    if (!fresh.length) return result;

    const customerOf = await resolveCustomers(tx, fresh, result);
    await tx`insert into commerce_events ${tx(
      fresh.map((e, i) => ({ platform: e.platform, eventId: e.id, type: e.type, customerId: customerOf[i], occurredAt: e.occurredAt, payload: tx.json(e as never) })),
      'platform', 'eventId', 'type', 'customerId', 'occurredAt', 'payload',
    )}`;
    await withRecovery(tx, fresh, customerOf, async () => {
      // carts first: an order paid in the same batch then finds its cart and closes it
      await upsertCarts(tx, fresh, customerOf);
      await upsertOrders(tx, fresh, customerOf);
    });
    const logistics = fresh.filter((e) => e.type === 'logistics.update' && e.logistics);
    if (logistics.length)
      await tx`insert into logistics_events ${tx(
        logistics.map((e) => ({
          platform: e.platform,
          platformOrderId: e.logistics!.orderId,
          carrier: e.logistics!.carrier ?? null,
          trackingNo: e.logistics!.trackingNo ?? null,
          status: e.logistics!.status,
          description: e.logistics!.description ?? null,
          occurredAt: e.occurredAt,
        })),
      )}`;
    result.stored = fresh.length;
    return result;
  });
}

/**
 * The customer of each event. Identities already known point at their customer; an event whose identities are
 * all new gets a new customer; unknown identities join the event's customer. When one event's identities belong
 * to several customers and one of them is strong (unionid, verified phone), those customers merge; weak links
 * never merge anyone.
 */
export async function resolveCustomers(
  tx: Tx,
  events: { customer: { name?: string; identities: IdentityInput[] } }[],
  result: Pick<BatchResult, 'customersCreated' | 'merged'>,
): Promise<string[]> {
  const idsOf = events.map((e) => {
    const m = new Map<string, IdentityInput>();
    for (const raw of e.customer.identities) {
      const c = canonical(raw);
      m.set(keyOf(c), c);
    }
    return [...m.values()];
  });
  const all = new Map<string, IdentityInput>();
  for (const ids of idsOf) for (const i of ids) all.set(kvOf(i), { ...all.get(kvOf(i)), ...i, verified: all.get(kvOf(i))?.verified || i.verified });
  // the same lock key as resolveIdentity, so a chat message and an order for a new identity make one customer
  await lockKeys(tx, [...all.values()].map((i) => `identity:${i.kind}:${i.value}`));
  const list = [...all.values()];
  const hashes = list.map(phoneHash).filter((h): h is string => !!h);
  const known = await tx<{ kind: string; value: string; customerId: string }[]>`
    select kind, value, customer_id from identities
     where (kind, value) in (select * from unnest(${list.map((i) => i.kind)}::text[], ${list.map((i) => i.value)}::text[]))
        or (value_hash is not null and value_hash = any(${hashes}::text[]))`;
  const owner = new Map(known.map((r) => [keyOf(r), r.customerId]));
  const stored = new Set(known.map(kvOf));

  const newCustomers: { id: string; displayName: string }[] = [];
  const newIdentities = new Map<string, { customerId: string; kind: string; value: string; displayName: string | null; verified: boolean; valueHash: string | null }>();
  const flush = async () => {
    if (newCustomers.length) await tx`insert into customers ${tx(newCustomers.splice(0), 'id', 'displayName')}`;
    if (newIdentities.size) {
      await tx`insert into identities ${tx([...newIdentities.values()], 'customerId', 'kind', 'value', 'displayName', 'verified', 'valueHash')}
               on conflict (kind, value) do nothing`;
      newIdentities.clear();
    }
  };

  const customerOf: string[] = [];
  for (const [index, ids] of idsOf.entries()) {
    const e = events[index];
    const owners = [...new Set(ids.map((i) => owner.get(keyOf(i))).filter((c): c is string => !!c))];
    let customerId: string;
    if (owners.length === 0) {
      customerId = randomUUID();
      newCustomers.push({ id: customerId, displayName: e.customer.name || defaultName(ids[0]) });
      result.customersCreated++;
    } else if (owners.length > 1 && ids.some((i) => isStrong(i) && owner.has(keyOf(i)))) {
      await flush();
      customerId = await mergeByStrongIdentity(tx, owners, `shared:${ids.filter(isStrong).map((i) => i.kind).join(',')}`);
      result.merged += owners.length - 1;
      for (const [k, c] of owner) if (owners.includes(c)) owner.set(k, customerId);
    } else {
      // weak or single: the customer of the first identity the platform listed that we know
      customerId = owner.get(keyOf(ids.find((i) => owner.has(keyOf(i)))!))!;
    }
    for (const i of ids) {
      if (!owner.has(keyOf(i))) owner.set(keyOf(i), customerId);
      // an identity held by someone else (a weak link) stays where it is
      if (stored.has(kvOf(i)) || newIdentities.has(kvOf(i)) || owner.get(keyOf(i)) !== customerId) continue;
      newIdentities.set(kvOf(i), { customerId, kind: i.kind, value: i.value, displayName: e.customer.name ?? null, verified: !!i.verified, valueHash: phoneHash(i) });
    }
    customerOf.push(customerId);
  }
  await flush();
  // a platform now vouching for a phone we knew unverified
  const vouched = list.filter((i) => i.verified);
  if (vouched.length)
    await tx`update identities set verified = true
              where not verified and (kind, value) in (select * from unnest(${vouched.map((i) => i.kind)}::text[], ${vouched.map((i) => i.value)}::text[]))`;
  return customerOf;
}

function defaultName(i: IdentityInput): string {
  return i.kind === 'phone' ? `客户${i.value.slice(-4)}` : `${i.value.slice(0, 16)}`;
}

async function upsertOrders(tx: Tx, events: CommerceEvent[], customerOf: string[]): Promise<void> {
  const byOrder = new Map<string, Record<string, unknown>>();
  events.forEach((e, i) => {
    const status = ORDER_STATUS[e.type];
    if (!status || !e.order) return;
    const key = `${e.platform}:${e.order.id}`;
    const prev = byOrder.get(key);
    const at = e.occurredAt.toISOString();
    const next = {
      customer_id: customerOf[i],
      platform: e.platform,
      platform_order_id: e.order.id,
      status,
      status_at: at,
      total_fen: e.order.totalFen,
      discount_fen: e.order.discountFen ?? 0,
      items: e.order.items ?? [],
      ordered_at: (e.order.orderedAt ?? e.occurredAt).toISOString(),
      paid_at: (e.order.paidAt ?? (status === 'paid' ? e.occurredAt : null))?.toISOString() ?? null,
      address: e.order.address ?? null,
      cart_id: e.order.cartId ?? null,
    };
    // two events for one order in a batch: the later status wins, known details are kept
    if (!prev) return void byOrder.set(key, next);
    const later = next.status_at >= (prev.status_at as string) ? next : prev;
    const earlier = later === next ? prev : next;
    byOrder.set(key, {
      ...later,
      items: (later.items as unknown[]).length ? later.items : earlier.items,
      ordered_at: [prev.ordered_at, next.ordered_at].sort()[0],
      paid_at: later.paid_at ?? earlier.paid_at,
      address: later.address ?? earlier.address,
      cart_id: later.cart_id ?? earlier.cart_id,
      discount_fen: Math.max(prev.discount_fen as number, next.discount_fen as number),
    });
  });
  if (!byOrder.size) return;
  const rows = [...byOrder.values()];
  await tx`
    insert into orders (customer_id, platform, platform_order_id, status, status_at, total_fen, discount_fen, items, ordered_at, paid_at, address, cart_id)
    select customer_id, platform, platform_order_id, status, status_at, total_fen, discount_fen, items, ordered_at, paid_at, address, cart_id
      from jsonb_to_recordset(${tx.json(rows as never)}) as x(
        customer_id uuid, platform text, platform_order_id text, status text, status_at timestamptz, total_fen bigint,
        discount_fen bigint, items jsonb, ordered_at timestamptz, paid_at timestamptz, address text, cart_id text)
    on conflict (platform, platform_order_id) do update set
      status = case when excluded.status_at >= coalesce(orders.status_at, '-infinity') then excluded.status else orders.status end,
      status_at = greatest(orders.status_at, excluded.status_at),
      total_fen = case when excluded.status_at >= coalesce(orders.status_at, '-infinity') then excluded.total_fen else orders.total_fen end,
      discount_fen = greatest(orders.discount_fen, excluded.discount_fen),
      items = case when jsonb_array_length(excluded.items) > 0 then excluded.items else orders.items end,
      ordered_at = least(orders.ordered_at, excluded.ordered_at),
      paid_at = coalesce(orders.paid_at, excluded.paid_at),
      address = coalesce(excluded.address, orders.address),
      cart_id = coalesce(excluded.cart_id, orders.cart_id)`;
  // paying for a cart closes it, so it is not "abandoned" any more
  const paidCarts = rows.filter((r) => r.cart_id && ['paid', 'shipped', 'delivered', 'completed'].includes(r.status as string));
  if (paidCarts.length)
    await tx`update carts set status = 'purchased'
              where (platform, platform_cart_id) in (select * from unnest(${paidCarts.map((r) => r.platform as string)}::text[], ${paidCarts.map((r) => r.cart_id as string)}::text[]))`;
}

async function upsertCarts(tx: Tx, events: CommerceEvent[], customerOf: string[]): Promise<void> {
  const byCart = new Map<string, Record<string, unknown>>();
  events.forEach((e, i) => {
    if (!e.cart || !e.type.startsWith('cart.')) return;
    const row = {
      customer_id: customerOf[i],
      platform: e.platform,
      platform_cart_id: e.cart.id,
      status: e.type === 'cart.abandoned' ? 'abandoned' : 'active',
      items: e.cart.items,
      total_fen: e.cart.totalFen,
      updated_at: e.occurredAt.toISOString(),
    };
    const prev = byCart.get(`${e.platform}:${e.cart.id}`);
    if (!prev || row.updated_at >= (prev.updated_at as string)) byCart.set(`${e.platform}:${e.cart.id}`, row);
  });
  if (!byCart.size) return;
  await tx`
    insert into carts (customer_id, platform, platform_cart_id, status, items, total_fen, updated_at)
    select customer_id, platform, platform_cart_id, status, items, total_fen, updated_at
      from jsonb_to_recordset(${tx.json([...byCart.values()] as never)}) as x(
        customer_id uuid, platform text, platform_cart_id text, status text, items jsonb, total_fen bigint, updated_at timestamptz)
    on conflict (platform, platform_cart_id) do update set
      status = case when carts.status = 'purchased' then carts.status else excluded.status end,
      items = excluded.items, total_fen = excluded.total_fen, updated_at = excluded.updated_at
    where excluded.updated_at >= carts.updated_at`;
}
