import type { Deps } from '../deps.ts';
import { inTransaction } from '../events.ts';
import { canonical, type IdentityInput, type IdentityKind } from '../customers/identities.ts';
import { normalizePhone } from '../customers/mask.ts';
import { commerceEventSchema, ingestCommerceBatch, resolveCustomers, type CommerceEvent } from './events.ts';
import { PLATFORMS, type Platform } from './orders.ts';
import { withoutNul } from '../nul.ts';

/** A CSV row that cannot be imported, with its line number in the file (header = line 1). */
export interface BadRow {
  line: number;
  reason: string;
}

type Row = Record<string, string | undefined>;
// U+0000 cannot be stored (see core/nul.ts); a spreadsheet export that carries one loses it, not the row
const cell = (r: Row, k: string) => withoutNul(r[k] ?? '').trim();

export const ORDER_COLUMNS = ['platform', 'order_id', 'buyer_id', 'buyer_phone', 'status', 'total_yuan', 'discount_yuan', 'ordered_at', 'paid_at', 'items', 'address'];
export const CUSTOMER_COLUMNS = ['name', 'phone', 'taobao_nick', 'jd_pin', 'douyin_openid', 'wx_unionid', 'email', 'tier', 'points', 'tags', 'birthday'];

const BUYER_KIND: Partial<Record<Platform, IdentityKind>> = { taobao: 'taobao_nick', tmall: 'taobao_nick', jd: 'jd_pin', douyin: 'douyin_openid' };
const STATUSES = ['created', 'paid', 'shipped', 'delivered', 'completed', 'refunded', 'cancelled'];

/** "259.00" -> 25900; more than 2 decimals or anything else is refused. */
export function yuanToFen(s: string): number | null {
  if (!/^\d{1,10}(\.\d{1,2})?$/.test(s)) return null;
  const [y, f = ''] = s.split('.');
  return Number(y) * 100 + Number(f.padEnd(2, '0'));
}

/** "2026-05-01 10:30" or ISO 8601; a time without zone is China time (UTC+8), as shop exports are. */
function parseTime(s: string): Date | null {
  if (!s) return null;
  const local = /^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$/.test(s);
  const d = new Date(local ? `${s.replace(' ', 'T')}${s.length === 10 ? 'T00:00:00' : ''}+08:00` : s);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** items: "连衣裙:法式碎花连衣裙:259.00:1|T恤:纯棉T恤:79.00:2" (category:name:price:qty). */
interface Item {
  sku: string;
  name: string;
  category: string;
  qty: number;
  priceFen: number;
}

function parseItems(s: string): Item[] {
  if (!s) return [];
  return s.split('|').map((part) => {
    const fields = part.split(':').map((x) => x.trim());
    const [category, name, price, qty] = fields;
    const priceFen = fields.length === 4 ? yuanToFen(price) : null;
    if (priceFen === null || !/^\d+$/.test(qty) || Number(qty) < 1) throw new Error(`商品「${part}」格式应为 类目:名称:单价:数量`);
    return { sku: '', name, category, qty: Number(qty), priceFen };
  });
}

/** One orders.csv row as a commerce event; the event id makes a re-run of the same file a no-op. */
export function orderRowToEvent(r: Row, line: number): CommerceEvent | BadRow {
  const bad = (reason: string): BadRow => ({ line, reason });
  const platform = cell(r, 'platform') as Platform;
  if (!PLATFORMS.includes(platform)) return bad(`platform 必须是 ${PLATFORMS.join('/')} 之一`);
  const orderId = cell(r, 'order_id');
  if (!orderId) return bad('缺少 order_id');
  const status = cell(r, 'status') || 'paid';
  if (!STATUSES.includes(status)) return bad(`status 必须是 ${STATUSES.join('/')} 之一`);
  const total = yuanToFen(cell(r, 'total_yuan'));
  if (total === null) return bad('total_yuan 不是金额（例：259.00）');
  const discount = cell(r, 'discount_yuan') ? yuanToFen(cell(r, 'discount_yuan')) : 0;
  if (discount === null) return bad('discount_yuan 不是金额');
  const orderedAt = parseTime(cell(r, 'ordered_at'));
  if (!orderedAt) return bad('ordered_at 不是时间（例：2026-05-01 10:30）');
  const paidAt = parseTime(cell(r, 'paid_at'));
  if (cell(r, 'paid_at') && !paidAt) return bad('paid_at 不是时间');
  const identities: IdentityInput[] = [];
  const kind = BUYER_KIND[platform];
  if (cell(r, 'buyer_id')) {
    if (!kind) return bad(`${platform} 的买家请用 buyer_phone 标识`);
    identities.push({ kind, value: cell(r, 'buyer_id') });
  }
  if (cell(r, 'buyer_phone')) {
    if (!normalizePhone(cell(r, 'buyer_phone'))) return bad(`buyer_phone 不是手机号：${cell(r, 'buyer_phone')}`);
    identities.push({ kind: 'phone', value: cell(r, 'buyer_phone') });
  }
  if (!identities.length) return bad('buyer_id 和 buyer_phone 至少填一个');
  let items;
  try {
    items = parseItems(cell(r, 'items'));
  } catch (err) {
    return bad((err as Error).message);
  }
  const event = commerceEventSchema.safeParse({
    id: `import:${orderId}:${status}`,
    platform,
    type: `order.${status}`,
    occurredAt: (status === 'created' ? orderedAt : (paidAt ?? orderedAt)).toISOString(),
    customer: { identities },
    order: { id: orderId, totalFen: total, discountFen: discount, items, orderedAt: orderedAt.toISOString(), paidAt: paidAt?.toISOString(), address: cell(r, 'address') || undefined },
  });
  return event.success ? event.data : bad(event.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
}

export interface CustomerImport {
  name: string;
  identities: IdentityInput[];
  tier?: string;
  points?: number;
  /** MM-DD, for the birthday playbook */
  birthday?: string;
  tags: string[];
}

export function customerRow(r: Row, line: number): CustomerImport | BadRow {
  const bad = (reason: string): BadRow => ({ line, reason });
  const identities: IdentityInput[] = [];
  if (cell(r, 'phone')) {
    if (!normalizePhone(cell(r, 'phone'))) return bad(`phone 不是手机号：${cell(r, 'phone')}`);
    identities.push({ kind: 'phone', value: cell(r, 'phone') });
  }
  for (const kind of ['taobao_nick', 'jd_pin', 'douyin_openid', 'wx_unionid', 'email'] as const) {
    const v = cell(r, kind);
    if (!v) continue;
    if (kind === 'email' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v)) return bad(`email 格式不正确：${v}`);
    identities.push({ kind, value: v });
  }
  if (!identities.length) return bad('至少需要一个标识：phone、taobao_nick、jd_pin、douyin_openid、wx_unionid 或 email');
  try {
    identities.forEach((i) => canonical(i));
  } catch (err) {
    return bad((err as Error).message);
  }
  const points = cell(r, 'points');
  if (points && !/^\d{1,9}$/.test(points)) return bad('points 必须是非负整数');
  const name = cell(r, 'name');
  if (name.length > 64) return bad('name 超过 64 个字符');
  const tags = cell(r, 'tags') ? cell(r, 'tags').split('|').map((t) => t.trim()).filter(Boolean) : [];
  if (tags.some((t) => t.length > 20)) return bad('标签不能超过 20 个字符');
  const birthday = birthdayOf(cell(r, 'birthday'));
  if (birthday === null) return bad(`birthday 应为 MM-DD 或 YYYY-MM-DD：${cell(r, 'birthday')}`);
  return { name, identities, tier: cell(r, 'tier') || undefined, points: points ? Number(points) : undefined, birthday, tags };
}

/** "1990-05-17", "05-17" or "5/17" -> "05-17"; empty -> undefined; anything else (or 02-30) -> null. */
function birthdayOf(v: string): string | undefined | null {
  if (!v) return undefined;
  const m = /^(?:\d{4}[-/])?(\d{1,2})[-/](\d{1,2})$/.exec(v.trim());
  if (!m) return null;
  const [month, day] = [Number(m[1]), Number(m[2])];
  const max = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  if (!max || day < 1 || day > max) return null;
  return `${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** Imports customers: identities resolved (or created) like commerce events; name, tier, points and tags set. */
export async function importCustomers(deps: Deps, rows: CustomerImport[]): Promise<{ created: number; updated: number }> {
  return inTransaction(deps.sql, deps.bus, async (tx) => {
    const counts = { customersCreated: 0, merged: 0 };
    const ids = await resolveCustomers(tx, rows.map((r) => ({ customer: { name: r.name || undefined, identities: r.identities } })), counts);
    const updates = rows.map((r, i) => ({ id: ids[i], name: r.name || null, tier: r.tier ?? null, points: r.points ?? null, birthday: r.birthday ?? null }));
    await tx`
      update customers c set display_name = coalesce(u.name, c.display_name), tier = coalesce(u.tier, c.tier), points = coalesce(u.points, c.points),
             birthday = coalesce(u.birthday, c.birthday)
        from jsonb_to_recordset(${tx.json(updates as never)}) as u(id uuid, name text, tier text, points int, birthday text)
       where c.id = u.id`;
    const tags = rows.flatMap((r, i) => r.tags.map((tag) => ({ customerId: ids[i], tag, source: 'import' })));
    if (tags.length) await tx`insert into customer_tags ${tx(tags, 'customerId', 'tag', 'source')} on conflict do nothing`;
    return { created: counts.customersCreated, updated: rows.length - counts.customersCreated };
  });
}

export async function importOrderEvents(deps: Deps, events: CommerceEvent[]) {
  return ingestCommerceBatch(deps, events);
}
