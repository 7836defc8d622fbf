import { describe, expect, it } from 'vitest';
import { customerRulesSchema, DEFAULT_RULES as R, ltvOf, segmentOf, tierOf } from '../../core/customers/rules.ts';
import { autoTags } from '../../core/customers/tags.ts';

const rfm = (recencyDays: number | null, frequency: number, monetaryFen: number) => ({ recencyDays, frequency, monetaryFen });

describe('RFM segments (default rules, bounds inclusive, first match wins)', () => {
  it.each([
    ['never bought', rfm(null, 0, 0), '未购买'],
    ['high value at the edges: R 90, F 3, M ¥1000', rfm(90, 3, 100_000), '高价值'],
    ['one fen short of high value', rfm(90, 3, 99_999), '潜力'],
    ['R 91 is no longer high value or potential', rfm(91, 5, 500_000), '流失风险'],
    ['a first purchase 30 days ago is new', rfm(30, 1, 5000), '新客'],
    ['a first purchase 31 days ago is just ordinary', rfm(31, 1, 5000), '一般'],
    ['repeat buyer silent for 180 days: at risk', rfm(180, 2, 20_000), '流失风险'],
    ['silent for 181 days: dormant', rfm(181, 2, 20_000), '沉睡'],
    ['silent long ago with no order in the window', rfm(400, 0, 0), '沉睡'],
  ])('%s', (_, r, name) => {
    expect(segmentOf(r, R)).toBe(name);
  });

  it('uses the shop’s own rules, and falls back to the default segment', () => {
    const custom = { ...R, segments: [{ name: 'VIP', fMin: 10 }], defaultSegment: '其他' };
    expect(segmentOf(rfm(5, 10, 0), custom)).toBe('VIP');
    expect(segmentOf(rfm(5, 9, 0), custom)).toBe('其他');
  });
});

describe('member tier', () => {
  it.each([
    [0, 'normal', 'normal', 'spend'],
    [49_999, 'normal', 'normal', 'spend'],
    [50_000, 'normal', 'silver', 'spend'],
    [200_000, 'normal', 'gold', 'spend'],
    [10_000_000, 'normal', 'diamond', 'spend'],
    // the shop's own membership said gold: spend does not demote it
    [1000, 'gold', 'gold', 'member'],
    // an unknown stored code is ignored
    [60_000, 'platinum', 'silver', 'spend'],
  ])('spent %i fen with stored %s -> %s (%s)', (spent, stored, code, source) => {
    expect(tierOf(spent, stored, R)).toMatchObject({ code, source });
  });

  it('rejects thresholds that do not start at 0 or do not rise', () => {
    expect(customerRulesSchema.safeParse({ ...R, tiers: [{ code: 'a', name: 'A', minSpentFen: 100 }] }).success).toBe(false);
    expect(customerRulesSchema.safeParse({ ...R, tiers: [{ code: 'a', name: 'A', minSpentFen: 0 }, { code: 'b', name: 'B', minSpentFen: 0 }] }).success).toBe(false);
    expect(customerRulesSchema.safeParse(R).success).toBe(true);
  });
});

describe('LTV estimate', () => {
  it('is what was spent plus the run-rate over the horizon, fading with silence', () => {
    expect(ltvOf(0, rfm(null, 0, 0), 0, R)).toBe(0);
    // 4 orders a year at ¥100, just bought: 40000 + 10000 * 4 * 2 * 1
    expect(ltvOf(40_000, rfm(0, 4, 40_000), 10_000, R)).toBe(120_000);
    // silent half a year: the future half counts
    expect(ltvOf(40_000, rfm(182, 4, 40_000), 10_000, R)).toBe(40_000 + Math.round(80_000 * (1 - 182 / 365)));
    // silent a year or more: only the past
    expect(ltvOf(40_000, rfm(400, 0, 0), 10_000, R)).toBe(40_000);
  });
});

describe('auto tags', () => {
  const stats = (o: Partial<Parameters<typeof autoTags>[0]>) => ({ windowOrders: 0, paidOrders: 0, discountedOrders: 0, categories: [], ...o });
  it('高复购 from 4 orders in the window', () => {
    expect(autoTags(stats({ windowOrders: 3, paidOrders: 3 }), R)).not.toContain('高复购');
    expect(autoTags(stats({ windowOrders: 4, paidOrders: 4 }), R)).toContain('高复购');
  });
  it('价格敏感 when at least half of 2+ paid orders used a discount', () => {
    expect(autoTags(stats({ paidOrders: 1, discountedOrders: 1 }), R)).not.toContain('价格敏感');
    expect(autoTags(stats({ paidOrders: 4, discountedOrders: 2 }), R)).toContain('价格敏感');
    expect(autoTags(stats({ paidOrders: 5, discountedOrders: 2 }), R)).not.toContain('价格敏感');
  });
  it('裙装偏好 from dresses and skirts grouped together', () => {
    const t = autoTags(stats({ paidOrders: 3, categories: [{ category: '连衣裙', qty: 2 }, { category: '半身裙', qty: 1 }, { category: 'T恤', qty: 2 }] }), R);
    expect(t).toContain('裙装偏好');
    expect(t).toContain('上装偏好'); // 2 of 5 = 40 %
    expect(autoTags(stats({ paidOrders: 1, categories: [{ category: '连衣裙', qty: 2 }] }), R)).toEqual([]); // too few items
  });
});
