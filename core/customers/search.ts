import type { Queryable } from '../db/client.ts';
import { phoneHash } from './identities.ts';
import { maskPhone, normalizePhone } from './mask.ts';

export interface CustomerHit {
  id: string;
  displayName: string;
  phone: string | null;
  tier: string;
  matchedBy: 'phone' | 'platform_id' | 'order' | 'name';
}

/**
 * Finds customers by phone (any format), a platform id (淘宝昵称, JD pin, openid ...), an order number, or a
 * part of the name. Exact keys come first; merged customers are never listed (their survivor is).
 */
export async function searchCustomers(q: Queryable, term: string, limit = 20): Promise<CustomerHit[]> {
  const t = term.trim();
  if (!t) return [];
  const phone = normalizePhone(t);
  // a phone finds its hashed twin too (phone_sha256 from platforms that hide numbers), and a hash finds the phone
  const hash = phone ? phoneHash({ kind: 'phone', value: phone }) : /^[0-9a-fA-F]{64}$/.test(t) ? t.toLowerCase() : null;
  const rows = await q<(CustomerHit & { rank: number })[]>`
    select distinct on (c.id) c.id, c.display_name, c.phone, c.tier, m.matched_by, m.rank
      from (
        select customer_id, 'phone' as matched_by, 0 as rank from identities where ${hash !== null} and value_hash = ${hash ?? ''}
        union all select id, 'phone', 0 from customers where ${phone !== null} and phone = ${phone ?? ''}
        union all select customer_id, 'platform_id', 1 from identities where kind <> 'phone' and value = ${t}
        union all select customer_id, 'order', 2 from orders where platform_order_id = ${t}
        union all select id, 'name', 3 from (select id from customers where display_name ilike ${'%' + t.replace(/[%_\\]/g, (c) => '\\' + c) + '%'} limit ${limit}) n
      ) m
      join customers c on c.id = m.customer_id and c.merged_into is null
     order by c.id, m.rank`;
  return rows
    .sort((a, b) => a.rank - b.rank)
    .slice(0, limit)
    .map((r) => ({ id: r.id, displayName: r.displayName, phone: maskPhone(r.phone), tier: r.tier, matchedBy: r.matchedBy }));
}
