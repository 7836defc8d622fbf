import type { Queryable } from '../db/client.ts';

export const PLATFORMS = ['taobao', 'tmall', 'jd', 'douyin', 'pdd', 'wechat_mall', 'own_site'] as const;
export type Platform = (typeof PLATFORMS)[number];

export interface OrderItem {
  sku: string;
  name: string;
  category: string;
  qty: number;
  priceFen: number;
}

export interface OrderRow {
  id: string;
  customerId: string;
  platform: Platform;
  platformOrderId: string;
  status: string;
  totalFen: number;
  items: OrderItem[];
  orderedAt: Date;
  paidAt: Date | null;
  statusAt: Date | null;
  discountFen: number;
  address: string | null;
  cartId: string | null;
  createdAt: Date;
}

export type NewOrder = Pick<OrderRow, 'customerId' | 'platform' | 'platformOrderId' | 'status' | 'totalFen' | 'items' | 'orderedAt'> & {
  paidAt?: Date | null;
  discountFen?: number;
  address?: string | null;
};

/** Idempotent by platform + platform order id: a replayed order changes nothing. */
export async function upsertOrder(q: Queryable, o: NewOrder): Promise<OrderRow> {
  const [row] = await q<OrderRow[]>`
    insert into orders (customer_id, platform, platform_order_id, status, total_fen, items, ordered_at, paid_at, status_at, discount_fen, address)
    values (${o.customerId}, ${o.platform}, ${o.platformOrderId}, ${o.status}, ${o.totalFen},
            ${q.json(o.items as never)}, ${o.orderedAt}, ${o.paidAt ?? null}, ${o.paidAt ?? o.orderedAt}, ${o.discountFen ?? 0}, ${o.address ?? null})
    on conflict (platform, platform_order_id) do update set status = excluded.status
    returning *`;
  return row;
}
