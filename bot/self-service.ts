import type { Queryable } from '../core/db/client.ts';
import { normalize } from './normalize.ts';

/** Order numbers (TB2026…, JD9000…, 20260101…) and mainland phone numbers in a message. */
export function entities(text: string): { orderIds: string[]; phones: string[] } {
  const t = normalize(text).toUpperCase();
  const phones = [...t.matchAll(/(?<!\d)1[3-9]\d{9}(?!\d)/g)].map((m) => m[0]);
  const orderIds = [...t.matchAll(/(?<![A-Z0-9])[A-Z]{0,4}\d{6,24}(?![A-Z0-9])/g)].map((m) => m[0]).filter((id) => !phones.includes(id));
  return { orderIds: [...new Set(orderIds)], phones: [...new Set(phones)] };
}

type Kind = 'logistics' | 'refund' | 'order';
const ASKS: [Kind, RegExp][] = [
  ['refund', /退款|退钱|到账|退的钱|钱退/],
  ['logistics', /快递|物流|包裹|到哪|派送|签收|运到|单号|发货了吗|发货没|发了吗|发出了吗/],
  ['order', /订单|什么状态|到哪一步|处理了吗/],
];
// "我的快递到哪了" is about this customer's parcel; "快递怎么查" is a general question the KB answers
const MINE = /我的|我买的|我下的|我拍的|我那|我订的|我刚买|我昨天|我前天|我上周/;

export interface SelfServiceReply {
  text: string;
  payload: Record<string, unknown>;
}

const STATUS: Record<string, string> = {
  created: '待付款', paid: '已付款，待发货', shipped: '已发货', delivered: '已签收', completed: '已完成', refunded: '已退款', cancelled: '已取消',
};
const yuan = (fen: number) => `¥${(fen / 100).toFixed(2)}`;
const when = (d: Date) => d.toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false }).slice(0, 16);

interface OrderRow {
  platform: string;
  platformOrderId: string;
  status: string;
  totalFen: number;
  items: { name: string }[];
  orderedAt: Date;
}

/** What a message asks about the customer's own orders, if it does: only such a message needs their orders. */
export function selfServiceAsk(text: string): { kind: Kind; orderIds: string[] } | null {
  const { orderIds } = entities(text);
  const kind = ASKS.find(([, re]) => re.test(text))?.[0];
  if (!kind || (!MINE.test(text) && !orderIds.length)) return null;
  return { kind, orderIds };
}

/**
 * Answers "where is my parcel / my refund / my order" from the customer's own orders and logistics events,
 * before the FAQ. Only the customer's own orders are ever looked at: an order number of someone else is
 * "not found", never shown.
 */
export async function selfService(q: Queryable, customerId: string, text: string): Promise<SelfServiceReply | null> {
  const asked = selfServiceAsk(text);
  if (!asked) return null;
  const { kind, orderIds } = asked;
  const orders = orderIds.length
    ? await q<OrderRow[]>`select platform, platform_order_id, status, total_fen, items, ordered_at from orders
                           where customer_id = ${customerId} and upper(platform_order_id) = any(${orderIds}::text[]) order by ordered_at desc`
    : await q<OrderRow[]>`select platform, platform_order_id, status, total_fen, items, ordered_at from orders
                           where customer_id = ${customerId} order by (status = 'refunded' and ${kind === 'refund'}) desc, ordered_at desc limit 1`;
  if (!orders.length)
    return {
      text: orderIds.length
        ? `没有在您的账户下找到订单 ${orderIds.join('、')}，请核对订单号；也可以回复「人工」由客服为您查询。`
        : '暂时没有查到您的订单。如果是用其他账号下的单，请发一下订单号；也可以回复「人工」由客服为您查询。',
      payload: { selfService: kind, found: false },
    };
  const o = orders[0];
  const goods = o.items.map((i) => i.name).filter(Boolean).join('、') || '商品';
  const head = `您的订单 ${o.platformOrderId}（${goods}，${yuan(o.totalFen)}）`;
  const payload = { selfService: kind, found: true, platform: o.platform, orderId: o.platformOrderId, status: o.status };
  if (kind === 'refund') {
    if (o.status === 'refunded') return { text: `${head}已退款，款项会原路退回，一般 1-3 个工作日到账。`, payload };
    return { text: `${head}目前${STATUS[o.status] ?? o.status}，还没有退款记录。需要申请退款可以在订单页点「申请售后」，或回复「人工」。`, payload };
  }
  if (kind === 'logistics') {
    const [last] = await q<{ carrier: string | null; trackingNo: string | null; status: string; description: string | null; occurredAt: Date }[]>`
      select carrier, tracking_no, status, description, occurred_at from logistics_events
       where platform = ${o.platform} and platform_order_id = ${o.platformOrderId} order by occurred_at desc limit 1`;
    if (last)
      return {
        text: `${head}${last.carrier ? `由${last.carrier}配送` : '正在配送'}${last.trackingNo ? `，运单号 ${last.trackingNo}` : ''}。最新物流（${when(last.occurredAt)}）：${last.description ?? last.status}`,
        payload: { ...payload, tracking: last.trackingNo },
      };
    if (['created', 'paid'].includes(o.status)) return { text: `${head}${STATUS[o.status]}，现货一般付款后 48 小时内发出，发货后可在订单页查看物流。`, payload };
  }
  return { text: `${head}当前状态：${STATUS[o.status] ?? o.status}（下单于 ${when(o.orderedAt)}）。`, payload };
}
