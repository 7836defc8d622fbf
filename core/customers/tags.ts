import type { Queryable } from '../db/client.ts';
import { badRequest } from '../errors.ts';
import type { CustomerRules } from './rules.ts';

export interface PaidStats {
  windowOrders: number;
  paidOrders: number;
  discountedOrders: number;
  /** item quantity per category over paid orders */
  categories: { category: string; qty: number }[];
}

/** Tags computed from what the customer bought, by the shop's rules; never stored, so they follow the data. */
export function autoTags(s: PaidStats, rules: CustomerRules): string[] {
  const t = rules.tags;
  const tags: string[] = [];
  if (s.windowOrders >= t.repeatMinOrders) tags.push('高复购');
  if (s.paidOrders >= t.priceSensitiveMinOrders && s.discountedOrders / s.paidOrders >= t.priceSensitiveShare) tags.push('价格敏感');
  const totalItems = s.categories.reduce((n, c) => n + c.qty, 0);
  if (totalItems >= t.categoryMinItems) {
    const byGroup = new Map<string, number>();
    for (const c of s.categories) {
      const group = Object.entries(t.categoryGroups).find(([, members]) => members.includes(c.category))?.[0] ?? c.category;
      byGroup.set(group, (byGroup.get(group) ?? 0) + c.qty);
    }
    for (const [group, qty] of [...byGroup].sort((a, b) => b[1] - a[1]))
      if (qty / totalItems >= t.categoryShare) tags.push(`${group}偏好`);
  }
  return tags;
}

const TAG = /^[\p{L}\p{N}_\-·]{1,20}$/u;

export async function addTag(q: Queryable, customerId: string, tag: string, actorId: string | null): Promise<void> {
  const clean = tag.trim();
  if (!TAG.test(clean)) throw badRequest('invalid_tag', '标签为 1-20 个字符的文字、数字、下划线或连字符');
  await q`insert into customer_tags (customer_id, tag, created_by) values (${customerId}, ${clean}, ${actorId}) on conflict do nothing`;
}

export async function removeTag(q: Queryable, customerId: string, tag: string): Promise<boolean> {
  const r = await q`delete from customer_tags where customer_id = ${customerId} and tag = ${tag.trim()}`;
  return r.count > 0;
}
