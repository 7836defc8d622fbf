import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/client.ts';
import { assembleProfile } from '../../core/customers/profile.ts';
import { testDatabase } from '../support/db.ts';
import { buildCustomer } from '../support/factories.ts';

describe('customer profile', () => {
  let db: Database;
  beforeAll(async () => {
    db = await testDatabase();
  });
  afterAll(() => db.close());

  it('joins identities from every platform, orders newest first, and totals only money actually paid', async () => {
    const c = await buildCustomer(db.sql, {
      phone: '13912345678',
      identities: [
        { kind: 'phone', value: '13912345678' },
        { kind: 'taobao_nick', value: 'tb_小李' },
        { kind: 'jd_pin', value: 'jd_xiaoli' },
        { kind: 'wx_unionid', value: 'union-xl' },
      ],
      orders: [
        { platform: 'taobao', totalFen: 25900, status: 'delivered' },
        { platform: 'jd', totalFen: 10000, status: 'paid' },
        { platform: 'douyin', totalFen: 5000, status: 'refunded' },
      ],
    });
    const p = await assembleProfile(db.sql, c.id, { reveal: false });
    expect(p.identities.map((i) => i.kind).sort()).toEqual(['jd_pin', 'phone', 'taobao_nick', 'wx_unionid']);
    expect(p.identities.find((i) => i.kind === 'phone')?.value).toBe('139****5678');
    expect(JSON.stringify(p)).not.toContain('13912345678');
    expect(p.orders.map((o) => o.platform)).toEqual(['taobao', 'jd', 'douyin']);
    expect(p.totals).toMatchObject({ orderCount: 3, spentFen: 35900, aovFen: 17950 });
    expect(p.phone).toBe('139****5678');
    expect((await assembleProfile(db.sql, c.id, { reveal: true })).phone).toBe('13912345678');
  });

  it('answers not_found for unknown and malformed ids', async () => {
    await expect(assembleProfile(db.sql, '00000000-0000-0000-0000-000000000000', { reveal: false })).rejects.toMatchObject({ status: 404 });
    await expect(assembleProfile(db.sql, 'not-a-uuid', { reveal: false })).rejects.toMatchObject({ status: 404 });
  });
});
