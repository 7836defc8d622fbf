import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commerceSignature } from '../../gateway/http/routes/commerce/index.ts';
import { startTestHuike, type TestHuike } from '../support/huike.ts';

const SECRET = 'commerce-secret-for-tests';
let h: TestHuike;
beforeAll(async () => {
  h = await startTestHuike({ env: { COMMERCE_WEBHOOK_SECRET: SECRET } });
});
afterAll(() => h?.close());

const at = (min: number) => new Date(Date.UTC(2026, 10, 1, 10, min)).toISOString();
let seq = 0;
const ev = (type: string, extra: Record<string, unknown>, who: Record<string, unknown>[] = [{ kind: 'taobao_nick', value: 'tb_小林' }]) => ({
  id: `e${++seq}`,
  platform: 'taobao',
  type,
  occurredAt: at(seq),
  customer: { name: '小林', identities: who },
  ...extra,
});

async function post(body: unknown, opts: { sig?: string; type?: string } = {}) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(`${h.url}/api/v1/commerce/events`, {
    method: 'POST',
    headers: { 'content-type': opts.type ?? 'application/json', 'x-huike-signature': opts.sig ?? commerceSignature(SECRET, raw) },
    body: raw,
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function counts() {
  const [c] = await h.deps.sql`
    select (select count(*)::int from commerce_events) as events, (select count(*)::int from orders) as orders,
           (select count(*)::int from customers) as customers, (select count(*)::int from carts) as carts,
           (select count(*)::int from logistics_events) as logistics`;
  return c;
}

describe('POST /api/v1/commerce/events: bad input changes nothing', () => {
  const good = { events: [ev('order.created', { order: { id: 'T1', totalFen: 100 } })] };
  it.each([
    ['a wrong signature', () => post(good, { sig: 'a'.repeat(64) }), 401, 'bad_signature'],
    ['no signature', () => post(good, { sig: '' }), 401, 'bad_signature'],
    ['a signature over other bytes', () => post(JSON.stringify(good) + ' ', { sig: commerceSignature(SECRET, JSON.stringify(good)) }), 401, 'bad_signature'],
    ['not JSON', () => post('{"events": [', {}), 400, 'invalid_json'],
    ['not a batch', () => post({ event: {} }), 400, 'invalid_batch'],
    ['an empty batch', () => post({ events: [] }), 400, 'invalid_batch'],
    ['the wrong content type', () => post(good, { type: 'text/plain' }), 415, 'unsupported_media_type'],
  ])('%s', async (_, send, status, code) => {
    const before = await counts();
    const r = await send();
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    expect(await counts()).toEqual(before);
  });

  it('one malformed event refuses the whole batch, naming each problem by index', async () => {
    const before = await counts();
    const r = await post({
      events: [
        ev('order.created', { order: { id: 'OK1', totalFen: 100 } }),
        ev('order.paid', {}), // no order
        ev('cart.updated', { cart: { id: 'C1' } }, [{ kind: 'phone', value: '12345' }]), // not a phone
        { ...ev('browse', { browse: {} }), platform: 'ebay' },
        { ...ev('order.created', { order: { id: 'X', totalFen: -5 } }) },
        // PostgreSQL cannot store U+0000: refused here rather than failing the batch's transaction (a 500)
        ev('order.created', { order: { id: 'NUL\u00001', totalFen: 100 } }),
      ],
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_events');
    expect([...new Set(r.body.error.details.map((d: { index: number }) => d.index))]).toEqual([1, 2, 3, 4, 5]);
    expect(await counts()).toEqual(before);
  });

  it('without COMMERCE_WEBHOOK_SECRET the endpoint is off (404)', async () => {
    const off = await startTestHuike();
    try {
      const res = await fetch(`${off.url}/api/v1/commerce/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(res.status).toBe(404);
      expect(((await res.json()) as any).error.code).toBe('commerce_not_configured');
    } finally {
      await off.close();
    }
  });
});

describe('POST /api/v1/commerce/events: storing', () => {
  it('stores a mixed batch once; a replay is all duplicates and changes nothing', async () => {
    const who = [{ kind: 'jd_pin', value: 'jd_wang' }];
    const batch = {
      events: [
        { ...ev('order.created', { order: { id: 'JD100', totalFen: 25900, items: [{ sku: 'DR-1', name: '连衣裙', category: '连衣裙', priceFen: 25900 }], address: '广东省广州市天河区体育西路1号', cartId: 'CART1' } }, who), platform: 'jd' },
        { ...ev('cart.updated', { cart: { id: 'CART1', items: [{ name: '连衣裙', priceFen: 25900 }], totalFen: 25900 } }, who), platform: 'jd' },
        { ...ev('order.paid', { order: { id: 'JD100', totalFen: 25900, cartId: 'CART1' } }, who), platform: 'jd' },
        { ...ev('logistics.update', { logistics: { orderId: 'JD100', carrier: '顺丰', trackingNo: 'SF1', status: 'in_transit', description: '已到达广州中转场' } }, who), platform: 'jd' },
        { ...ev('browse', { browse: { sku: 'SK-1', name: '百褶半身裙', category: '半身裙' } }, who), platform: 'jd' },
        { ...ev('payment.failed', { payment: { orderId: 'JD101', amountFen: 9900, reason: '余额不足' } }, who), platform: 'jd' },
      ],
    };
    const before = await counts();
    const first = await post(batch);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ received: 6, stored: 6, duplicates: 0, customersCreated: 1 });
    const after = await counts();
    expect(after).toEqual({ events: before.events + 6, orders: before.orders + 1, customers: before.customers + 1, carts: before.carts + 1, logistics: before.logistics + 1 });
    const [order] = await h.deps.sql`select status, paid_at is not null as paid, address from orders where platform_order_id = 'JD100'`;
    expect(order).toEqual({ status: 'paid', paid: true, address: '广东省广州市天河区体育西路1号' });
    // the cart was bought with that order: it is not "abandoned" material any more
    const [cart] = await h.deps.sql`select status from carts where platform_cart_id = 'CART1'`;
    expect(cart.status).toBe('purchased');

    const again = await post(batch);
    expect(again.body).toMatchObject({ received: 6, stored: 0, duplicates: 6 });
    expect(await counts()).toEqual(after);
  });

  it('an older event never overwrites a newer status (out-of-order delivery)', async () => {
    const who = [{ kind: 'douyin_openid', value: 'dy_1' }];
    const shipped = { ...ev('order.shipped', { order: { id: 'DY9', totalFen: 5000 } }, who), platform: 'douyin', occurredAt: at(50) };
    const paid = { ...ev('order.paid', { order: { id: 'DY9', totalFen: 5000 } }, who), platform: 'douyin', occurredAt: at(40) };
    await post({ events: [shipped] });
    await post({ events: [paid] });
    const [o] = await h.deps.sql`select status, paid_at from orders where platform_order_id = 'DY9'`;
    expect(o.status).toBe('shipped');
    expect(o.paidAt).toEqual(new Date(at(40)));
  });

  it('a verified phone shared by two customers merges them; an unverified one never does', async () => {
    const r1 = await post({ events: [ev('order.created', { order: { id: 'M1', totalFen: 100 } }, [{ kind: 'taobao_nick', value: 'tb_merge_a' }, { kind: 'phone', value: '13900001111' }])] });
    expect(r1.body.customersCreated).toBe(1);
    const r2 = await post({ events: [{ ...ev('order.created', { order: { id: 'M2', totalFen: 200 } }, [{ kind: 'jd_pin', value: 'jd_merge_b' }]), platform: 'jd' }] });
    expect(r2.body.customersCreated).toBe(1);
    // weak: JD says its buyer has that phone, unverified -> no merge, and the phone stays where it was
    const weak = await post({ events: [{ ...ev('order.paid', { order: { id: 'M2', totalFen: 200 } }, [{ kind: 'jd_pin', value: 'jd_merge_b' }, { kind: 'phone', value: '+86 139-0000-1111' }]), platform: 'jd' }] });
    expect(weak.body.merged).toBe(0);
    const owners = async () =>
      (await h.deps.sql<{ value: string; customerId: string }[]>`select value, customer_id from identities where value in ('tb_merge_a', 'jd_merge_b')`).reduce(
        (m, r) => m.set(r.value, r.customerId),
        new Map<string, string>(),
      );
    let o = await owners();
    expect(o.get('tb_merge_a')).not.toBe(o.get('jd_merge_b'));
    // strong: the same, verified by SMS -> one customer, with both orders
    const strong = await post({ events: [{ ...ev('order.completed', { order: { id: 'M2', totalFen: 200 } }, [{ kind: 'jd_pin', value: 'jd_merge_b' }, { kind: 'phone', value: '13900001111', verified: true }]), platform: 'jd' }] });
    expect(strong.body.merged).toBe(1);
    o = await owners();
    expect(o.get('tb_merge_a')).toBe(o.get('jd_merge_b'));
    const [n] = await h.deps.sql`select count(*)::int as n from orders where customer_id = ${o.get('tb_merge_a')!}`;
    expect(n.n).toBe(2);
  });

  it('a hashed phone (phone_sha256) finds the customer with that phone, and the other way round', async () => {
    const sha = (p: string) => createHash('sha256').update(p).digest('hex');
    await post({ events: [ev('order.created', { order: { id: 'H1', totalFen: 100 } }, [{ kind: 'taobao_nick', value: 'tb_hash' }, { kind: 'phone', value: '13600001234' }])] });
    // Douyin only gives the sha256 of the buyer's phone
    const r = await post({ events: [{ ...ev('order.paid', { order: { id: 'DYH1', totalFen: 300 } }, [{ kind: 'douyin_openid', value: 'dy_hash' }, { kind: 'phone_sha256', value: sha('13600001234').toUpperCase() }]), platform: 'douyin' }] });
    expect(r.body.customersCreated).toBe(0);
    const owners = await h.deps.sql`select distinct customer_id from identities where value in ('tb_hash', 'dy_hash')`;
    expect(owners).toHaveLength(1);
    // a customer first known by hash alone meets the plaintext phone later
    await post({ events: [{ ...ev('browse', { browse: { sku: 'X' } }, [{ kind: 'phone_sha256', value: sha('13600009999') }]), platform: 'douyin' }] });
    const later = await post({ events: [ev('order.created', { order: { id: 'H2', totalFen: 100 } }, [{ kind: 'phone', value: '136 0000 9999' }])] });
    expect(later.body.customersCreated).toBe(0);
    const [both] = await h.deps.sql`select count(distinct customer_id)::int as n from identities where value in (${sha('13600009999')}, '13600009999')`;
    expect(both.n).toBe(1);
    const bad = await post({ events: [ev('browse', { browse: {} }, [{ kind: 'phone_sha256', value: 'not-a-hash' }])] });
    expect(bad.status).toBe(400);
  });

  it('concurrent batches naming the same new buyer make one customer', async () => {
    const who = [{ kind: 'taobao_nick', value: 'tb_race' }];
    await Promise.all(Array.from({ length: 8 }, (_, i) => post({ events: [ev('browse', { browse: { sku: `S${i}` } }, who)] })));
    const [n] = await h.deps.sql`select count(distinct customer_id)::int as n from identities where value = 'tb_race'`;
    const [c] = await h.deps.sql`select count(distinct customer_id)::int as n from commerce_events where payload->'customer'->'identities'->0->>'value' = 'tb_race'`;
    expect([n.n, c.n]).toEqual([1, 1]);
  });
});
