import { z } from 'zod';
import type { Queryable } from '../db/client.ts';
import { badRequest } from '../errors.ts';

/** One RFM segment: the first rule whose bounds all hold names the customer. Bounds are inclusive. */
const segmentRule = z.object({
  name: z.string().min(1).max(20),
  rMin: z.number().int().min(0).optional(),
  rMax: z.number().int().min(0).optional(),
  fMin: z.number().int().min(0).optional(),
  fMax: z.number().int().min(0).optional(),
  mMinFen: z.number().int().min(0).optional(),
  mMaxFen: z.number().int().min(0).optional(),
});

export const customerRulesSchema = z.object({
  /** RFM looks at paid orders of the last N days */
  rfmWindowDays: z.number().int().min(7).max(3650),
  segments: z.array(segmentRule).min(1).max(30),
  /** name for a customer with no paid order at all */
  noPurchaseSegment: z.string().min(1).max(20),
  /** fallback when no rule matches */
  defaultSegment: z.string().min(1).max(20),
  /** member tiers by lifetime spend, ascending; the first has minSpentFen 0 */
  tiers: z
    .array(z.object({ code: z.string().min(1).max(20), name: z.string().min(1).max(20), minSpentFen: z.number().int().min(0) }))
    .min(1)
    .refine((t) => t[0].minSpentFen === 0 && t.every((x, i) => i === 0 || x.minSpentFen > t[i - 1].minSpentFen), '等级门槛必须从 0 开始严格递增'),
  tags: z.object({
    repeatMinOrders: z.number().int().min(2),
    priceSensitiveShare: z.number().min(0).max(1),
    priceSensitiveMinOrders: z.number().int().min(1),
    categoryShare: z.number().min(0).max(1),
    categoryMinItems: z.number().int().min(1),
    /** item categories grouped for preference tags: 裙装 = 连衣裙 + 半身裙 → 「裙装偏好」 */
    categoryGroups: z.record(z.string(), z.array(z.string())),
  }),
  ltv: z.object({ horizonYears: z.number().min(0).max(10) }),
  /** tiers whose customers the bot hands to a person sooner (first miss instead of second) */
  vipTiers: z.array(z.string()).default(['gold', 'diamond']),
});
export type CustomerRules = z.infer<typeof customerRulesSchema>;

export const DEFAULT_RULES: CustomerRules = {
  rfmWindowDays: 365,
  segments: [
    { name: '高价值', rMax: 90, fMin: 3, mMinFen: 100_000 },
    { name: '新客', rMax: 30, fMax: 1 },
    { name: '潜力', rMax: 90, fMin: 2 },
    { name: '流失风险', rMin: 91, rMax: 180, fMin: 2 },
    { name: '沉睡', rMin: 181 },
  ],
  noPurchaseSegment: '未购买',
  defaultSegment: '一般',
  tiers: [
    { code: 'normal', name: '普通会员', minSpentFen: 0 },
    { code: 'silver', name: '白银会员', minSpentFen: 50_000 },
    { code: 'gold', name: '黄金会员', minSpentFen: 200_000 },
    { code: 'diamond', name: '钻石会员', minSpentFen: 500_000 },
  ],
  tags: {
    repeatMinOrders: 4,
    priceSensitiveShare: 0.5,
    priceSensitiveMinOrders: 2,
    categoryShare: 0.4,
    categoryMinItems: 3,
    categoryGroups: { 裙装: ['连衣裙', '半身裙'], 上装: ['T恤', '衬衫', '针织', '外套'], 裤装: ['裤装', '牛仔裤'] },
  },
  ltv: { horizonYears: 2 },
  vipTiers: ['gold', 'diamond'],
};

const KEY = 'customer_rules';
const TTL_MS = 5000;
// per database handle, so two databases in one process (tests, tools) never share rules
const cache = new WeakMap<object, { rules: CustomerRules; at: number }>();

/** The shop's rules, cached for a few seconds (profiles are read far more often than rules change). */
export async function loadRules(q: Queryable): Promise<CustomerRules> {
  const hit = cache.get(q);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.rules;
  const [row] = await q<{ value: unknown }[]>`select value from settings where key = ${KEY}`;
  const parsed = row ? customerRulesSchema.safeParse(row.value) : null;
  const rules = parsed?.success ? parsed.data : DEFAULT_RULES;
  cache.set(q, { rules, at: Date.now() });
  return rules;
}

export async function saveRules(q: Queryable, input: unknown, actorId: string | null): Promise<CustomerRules> {
  const parsed = customerRulesSchema.safeParse(input);
  if (!parsed.success) throw badRequest('invalid_rules', '客户规则格式不正确', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  await q`
    insert into settings (key, value, updated_by) values (${KEY}, ${q.json(parsed.data as never)}, ${actorId})
    on conflict (key) do update set value = excluded.value, updated_by = excluded.updated_by, updated_at = now()`;
  cache.delete(q);
  return parsed.data;
}

/** Whether the customer's tier (member tier or earned by spend) is one the shop treats as VIP. */
export async function isVip(q: Queryable, customerId: string): Promise<boolean> {
  const rules = await loadRules(q);
  const [row] = await q<{ tier: string; spentFen: number }[]>`
    select c.tier, coalesce((select sum(total_fen) from orders where customer_id = c.id and status in ('paid', 'shipped', 'delivered', 'completed')), 0)::bigint as spent_fen
      from customers c where c.id = ${customerId}`;
  return !!row && rules.vipTiers.includes(tierOf(row.spentFen, row.tier, rules).code);
}

export interface Rfm {
  recencyDays: number | null;
  frequency: number;
  monetaryFen: number;
}

export function segmentOf(rfm: Rfm, rules: CustomerRules): string {
  if (rfm.recencyDays === null) return rules.noPurchaseSegment;
  const within = (v: number, min?: number, max?: number) => (min === undefined || v >= min) && (max === undefined || v <= max);
  const hit = rules.segments.find(
    (s) => within(rfm.recencyDays!, s.rMin, s.rMax) && within(rfm.frequency, s.fMin, s.fMax) && within(rfm.monetaryFen, s.mMinFen, s.mMaxFen),
  );
  return hit?.name ?? rules.defaultSegment;
}

/** The tier earned by lifetime spend; a higher tier granted by the shop's own membership system is kept. */
export function tierOf(spentFen: number, storedCode: string, rules: CustomerRules): { code: string; name: string; source: 'spend' | 'member' } {
  let earned = 0;
  rules.tiers.forEach((t, i) => {
    if (spentFen >= t.minSpentFen) earned = i;
  });
  const stored = rules.tiers.findIndex((t) => t.code === storedCode);
  const idx = Math.max(earned, stored);
  return { code: rules.tiers[idx].code, name: rules.tiers[idx].name, source: stored > earned ? 'member' : 'spend' };
}

/**
 * A heuristic LTV: what was spent, plus the yearly run-rate (AOV × orders per year in the window) over the
 * horizon, discounted linearly by how long the customer has been silent (gone after a year without buying).
 */
export function ltvOf(spentFen: number, rfm: Rfm, aovFen: number, rules: CustomerRules): number {
  if (rfm.recencyDays === null) return 0;
  const perYear = rfm.frequency * (365 / rules.rfmWindowDays);
  const alive = Math.max(0, 1 - rfm.recencyDays / 365);
  return Math.round(spentFen + aovFen * perYear * rules.ltv.horizonYears * alive);
}
