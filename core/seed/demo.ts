import { readFileSync } from 'node:fs';
import { transaction, type Sql } from '../db/client.ts';
import { seedDefaultPlaybooks } from '../recovery/defaults.ts';
import { DEFAULT_CANNED } from '../canned.ts';
import { createAgent } from '../agents/agents.ts';
import { verifyPassword } from '../agents/passwords.ts';
import { addIdentity, type IdentityInput } from '../customers/identities.ts';
import { upsertOrder, type OrderItem, type Platform } from '../commerce/orders.ts';
import { upsertEntries } from '../knowledge/entries.ts';
import { parseKbJsonl } from '../knowledge/jsonl.ts';

export const DEMO_PASSWORD = 'huike123';
/** A returning web customer (张晓婷, with orders on several platforms): open /chat?visitorId=demo-visitor-0001. */
export const DEMO_VISITOR_ID = 'demo-visitor-0001';
export const DEMO_LOGINS = [
  { email: 'admin@huike.demo', name: '店长 王芳', role: 'admin' as const, teams: ['售前组', '售后组'], skills: [] },
  { email: 'xiaomei@huike.demo', name: '小美', role: 'agent' as const, teams: ['售前组'], skills: ['售前咨询', '优惠券', '尺码'] },
  { email: 'ajie@huike.demo', name: '阿杰', role: 'agent' as const, teams: ['售后组'], skills: ['物流', '退换货', '退款'] },
  { email: 'lina@huike.demo', name: '丽娜', role: 'supervisor' as const, teams: ['售后组'], skills: ['发票', '投诉', '退款'] },
];

const TEAMS = [
  { name: '售前组', categories: ['售前咨询', '优惠券', '尺码', '会员', '账号会员', '支付'], isDefault: false },
  { name: '售后组', categories: ['物流', '退换货', '退款', '发票', '投诉'], isDefault: true },
];

const SURNAMES = '张王李赵刘陈杨黄周吴徐孙马朱胡郭何林罗高';
const GIVEN = ['晓婷', '子涵', '雨桐', '思远', '佳怡', '浩然', '欣怡', '梓萱', '一诺', '宇航', '诗雨', '俊杰', '若汐', '明轩', '可馨', '嘉怡', '文博', '静怡', '天佑', '梦琪'];
const PRODUCTS: OrderItem[] = [
  { sku: 'DR-1001', name: '法式碎花连衣裙', category: '连衣裙', qty: 1, priceFen: 25900 },
  { sku: 'TS-2003', name: '纯棉圆领T恤', category: 'T恤', qty: 2, priceFen: 7900 },
  { sku: 'JK-3002', name: '轻薄防晒外套', category: '外套', qty: 1, priceFen: 19900 },
  { sku: 'PT-4005', name: '高腰阔腿裤', category: '裤装', qty: 1, priceFen: 15900 },
  { sku: 'SK-5001', name: '百褶半身裙', category: '半身裙', qty: 1, priceFen: 12900 },
  { sku: 'KN-6002', name: '羊毛针织开衫', category: '针织', qty: 1, priceFen: 39900 },
];
const PLATFORM_IDENTITY: Partial<Record<Platform, IdentityInput['kind']>> = { taobao: 'taobao_nick', jd: 'jd_pin', douyin: 'douyin_openid' };
const ORDER_PLATFORMS: Platform[] = ['taobao', 'jd', 'douyin', 'wechat_mall'];
const STATUSES = ['delivered', 'delivered', 'shipped', 'paid', 'refunded', 'delivered'];

/**
 * The demo accounts that still sign in with the demo password: the banner lists them (and warns on a real
 * PostgreSQL, where they would be anyone's way in). A database whose first account came from `huike agent add`
 * has none.
 */
export async function demoLoginsInUse(sql: Sql): Promise<typeof DEMO_LOGINS> {
  const rows = await sql<{ email: string; passwordHash: string }[]>`
    select email, password_hash from agents where email = any(${DEMO_LOGINS.map((a) => a.email)}) and disabled_at is null`;
  const inUse = new Set<string>();
  for (const r of rows) if (await verifyPassword(r.passwordHash, DEMO_PASSWORD)) inUse.add(r.email);
  return DEMO_LOGINS.filter((a) => inUse.has(a.email));
}

/** True when the demo's returning web customer is there: the banner links to their chat only then. */
export async function hasDemoVisitor(sql: Sql): Promise<boolean> {
  return (await sql`select 1 from identities where kind = 'web_visitor' and value = ${DEMO_VISITOR_ID}`).length > 0;
}

/** True when the database has no agents yet: `npm start` seeds only then, so real data is never touched. */
export async function isEmpty(sql: Sql): Promise<boolean> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from agents`;
  return row.n === 0;
}

export function demoKb() {
  return parseKbJsonl(readFileSync(new URL('./demo-kb.jsonl', import.meta.url), 'utf8'));
}

function birthdayOf(now: Date, i: number): string {
  const d = new Date(now.getTime() + (i === 0 ? 0 : i * 17) * 86_400_000);
  return `${String(d.getUTCMonth() + 1).padStart(2, '0')}-${String(d.getUTCDate()).padStart(2, '0')}`;
}

/** A deterministic demo shop: the same data on every machine, so docs and tests can name it. */
export async function seedDemo(sql: Sql, now = new Date(), opts: { onlyIfEmpty?: boolean } = {}): Promise<{ customers: number; orders: number; kb: number } | null> {
  let orders = 0;
  const kb = demoKb();
  const done = await transaction(sql, async (tx) => {
    if (opts.onlyIfEmpty) {
      // several nodes starting together on an empty database: one seeds, the others see agents and skip
      await tx`select pg_advisory_xact_lock(hashtext('huike:seed-demo'))`;
      const [row] = await tx<{ n: number }[]>`select count(*)::int as n from agents`;
      if (row.n > 0) return false;
    }
    const teamIds = new Map<string, string>();
    for (const t of TEAMS) {
      const [row] = await tx<{ id: string }[]>`
        insert into teams (name, categories, is_default) values (${t.name}, ${t.categories}, ${t.isDefault}) returning id`;
      teamIds.set(t.name, row.id);
    }
    for (const a of DEMO_LOGINS) {
      await createAgent(tx, { ...a, password: DEMO_PASSWORD, teamIds: a.teams.map((n) => teamIds.get(n)!) });
    }
    await upsertEntries(tx, kb);
    await seedDefaultPlaybooks(tx);
    for (const c of DEFAULT_CANNED) await tx`insert into canned_responses (shortcut, title, text, category) values (${c.shortcut}, ${c.title}, ${c.text}, ${c.category ?? null}) on conflict do nothing`;
    for (let i = 0; i < 20; i++) {
      const name = SURNAMES[i] + GIVEN[i];
      const phone = `13${String(800000000 + i * 7919).slice(0, 9)}`;
      const tier = i % 7 === 0 ? 'diamond' : i % 4 === 0 ? 'gold' : i % 3 === 0 ? 'silver' : 'normal';
      const [c] = await tx<{ id: string }[]>`
        insert into customers (display_name, phone, tier, points) values (${name}, ${phone}, ${tier}, ${i * 137 % 2000}) returning id`;
      await addIdentity(tx, c.id, { kind: 'phone', value: phone, verified: i % 2 === 0 });
      await addIdentity(tx, c.id, { kind: 'wx_unionid', value: `demo-union-${i}`, displayName: name });
      if (i === 0) await addIdentity(tx, c.id, { kind: 'web_visitor', value: DEMO_VISITOR_ID, displayName: name });
      const nOrders = 1 + (i % 5);
      for (let k = 0; k < nOrders; k++) {
        const platform = ORDER_PLATFORMS[(i + k) % ORDER_PLATFORMS.length];
        const idKind = PLATFORM_IDENTITY[platform];
        if (idKind) await addIdentity(tx, c.id, { kind: idKind, value: `${platform}_${name}_${i}` });
        const item = PRODUCTS[(i * 3 + k) % PRODUCTS.length];
        const orderedAt = new Date(now.getTime() - (3 + i * 11 + k * 29) * 86_400_000);
        await upsertOrder(tx, {
          customerId: c.id,
          platform,
          platformOrderId: `${platform.toUpperCase().slice(0, 2)}${20260000 + i * 100 + k}`,
          status: STATUSES[(i + k) % STATUSES.length],
          totalFen: item.priceFen * item.qty,
          items: [item],
          orderedAt,
          paidAt: orderedAt,
        });
        orders++;
      }
      // something for the profile and, later, the recovery playbooks to work with
      if (i % 4 === 0) {
        const item = PRODUCTS[i % PRODUCTS.length];
        await tx`insert into carts (customer_id, platform, platform_cart_id, status, items, total_fen, updated_at)
                 values (${c.id}, 'taobao', ${`CART-${i}`}, 'abandoned', ${tx.json([item] as never)}, ${item.priceFen * item.qty}, ${new Date(now.getTime() - 5 * 3600_000)})`;
      }
      // a few birthdays, one of them today, so the birthday playbook has someone to greet in the demo
      if (i % 6 === 0) await tx`update customers set birthday = ${birthdayOf(now, i)} where id = ${c.id}`;
      if (i % 5 === 0) await tx`insert into customer_tags (customer_id, tag, source) values (${c.id}, ${i === 0 ? '老客户' : '重要客户'}, 'import')`;
    }
    return true;
  });
  return done ? { customers: 20, orders, kb: kb.length } : null;
}
