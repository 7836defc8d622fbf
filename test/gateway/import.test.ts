import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/client.ts';
import type { Deps } from '../../core/deps.ts';
import { assembleProfile } from '../../core/customers/profile.ts';
import { importCsv } from '../../gateway/import-cli.ts';
import { depsFor, testDatabase } from '../support/db.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'huike-import-'));
const fixture = (name: string) => {
  const to = path.join(dir, name);
  copyFileSync(new URL(`../fixtures/${name}`, import.meta.url), to);
  return to;
};
const sink = () => {
  let text = '';
  return { stream: new Writable({ write: (c, _e, cb) => ((text += c), cb()) }), text: () => text };
};

describe('huike import', () => {
  let db: Database;
  let deps: Deps;
  beforeAll(async () => {
    db = await testDatabase();
    deps = depsFor(db);
  });
  afterAll(() => db.close());

  it('imports good order rows, lists the bad ones with their line numbers, and a re-run changes nothing', async () => {
    const file = fixture('orders-sample.csv');
    const out = sink();
    const s = await importCsv(deps, 'orders', file, out.stream);
    expect(s).toMatchObject({ rows: 9, imported: 3 });
    expect(s.bad.map((b) => b.line)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(s.bad[0].reason).toContain('platform');
    expect(s.bad[1].reason).toContain('total_yuan');
    expect(s.bad[2].reason).toContain('ordered_at');
    expect(s.bad[3].reason).toContain('buyer_phone');
    expect(s.bad[4].reason).toContain('类目:名称:单价:数量');
    expect(readFileSync(s.reportFile!, 'utf8').split('\n')[1]).toMatch(/^5,"platform/);
    expect(out.text()).toContain('100%');

    const orders = await db.sql<{ platformOrderId: string; status: string; totalFen: number; discountFen: number }[]>`
      select platform_order_id, status, total_fen, discount_fen from orders order by platform_order_id`;
    expect(orders).toEqual([
      { platformOrderId: 'JD900003', status: 'completed', totalFen: 39900, discountFen: 0 },
      { platformOrderId: 'TB900001', status: 'paid', totalFen: 25900, discountFen: 2000 },
      { platformOrderId: 'TB900002', status: 'delivered', totalFen: 15800, discountFen: 0 },
    ]);
    // tb_chen and jd_chen share the phone (unverified): one customer through the phone on TB900001 and JD900003
    const [{ n }] = await db.sql`select count(distinct customer_id)::int as n from orders`;
    expect(n).toBe(1);

    const again = await importCsv(deps, 'orders', file, sink().stream);
    expect(again.imported).toBe(3);
    const [after] = await db.sql`select count(*)::int as orders, (select count(*)::int from commerce_events) as events from orders`;
    expect(after).toEqual({ orders: 3, events: 3 });
  });

  it('imports customers with identities, tier, points and tags; bad rows are listed', async () => {
    const s = await importCsv(deps, 'customers', fixture('customers-sample.csv'), sink().stream);
    expect(s).toMatchObject({ rows: 6, imported: 2 });
    expect(s.bad.map((b) => b.line)).toEqual([4, 5, 6, 7]);
    expect(s.bad[3].reason).toContain('birthday');
    // 陈静 joins the customer the orders created (same phone), and gets the imported membership
    const [chen] = await db.sql<{ customerId: string }[]>`select customer_id from identities where kind = 'phone' and value = '13700000001'`;
    const p = await assembleProfile(db.sql, chen.customerId, { reveal: false });
    expect(p).toMatchObject({ displayName: '陈静', tier: 'gold', tierSource: 'member', points: 1200 });
    // the birthday playbook reads it
    expect(await db.sql`select birthday from customers where id = ${chen.customerId}`).toEqual([{ birthday: '05-17' }]);
    expect(p.tags.filter((t) => t.source === 'import').map((t) => t.tag)).toEqual(['老客', '裙装']);
    expect(p.identities.map((i) => i.kind).sort()).toEqual(['jd_pin', 'phone', 'taobao_nick', 'wx_unionid']);
    const again = await importCsv(deps, 'customers', fixture('customers-sample.csv'), sink().stream);
    expect(again.imported).toBe(2);
    const [{ n }] = await db.sql`select count(*)::int as n from customers where display_name in ('陈静', '王磊')`;
    expect(n).toBe(2);
  });

  it('a cell with a NUL character (which PostgreSQL cannot store) loses the character, not the row', async () => {
    const file = path.join(dir, 'nul.csv');
    writeFileSync(file, `name,phone,taobao_nick,jd_pin,douyin_openid,wx_unionid,email,tier,points,tags,birthday\n林\u0000夕,13700000999,tb_lin\u0000xi,,,,,,,,\n`);
    const s = await importCsv(deps, 'customers', file, sink().stream);
    expect(s).toMatchObject({ rows: 1, imported: 1 });
    const [c] = await db.sql<{ displayName: string }[]>`select c.display_name from customers c join identities i on i.customer_id = c.id where i.value = 'tb_linxi'`;
    expect(c.displayName).toBe('林夕');
  });

  it('a file without the required columns is refused before anything is imported', async () => {
    const file = path.join(dir, 'wrong.csv');
    (await import('node:fs')).writeFileSync(file, 'foo,bar\n1,2\n');
    await expect(importCsv(deps, 'orders', file, sink().stream)).rejects.toThrow(/表头缺少列：platform, order_id/);
    await expect(importCsv(deps, 'orders', path.join(dir, 'missing.csv'), sink().stream)).rejects.toThrow(/找不到文件/);
  });

  it('the CLI prints the report and exits 2 when rows were refused', { timeout: 60_000 }, async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: mkdtempSync(path.join(tmpdir(), 'huike-import-cli-')) };
    delete env.DATABASE_URL;
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ['gateway/bin.js', 'import', 'orders', fixture('orders-sample.csv')], { env });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('exit', (code) => resolve({ code, out }));
    });
    expect(code).toBe(2);
    expect(out).toContain('共 9 行：导入 3 行，跳过 6 行');
    expect(out).toContain('第 5 行：platform');
  });
});
