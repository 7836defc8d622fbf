import { createHash, randomUUID } from 'node:crypto';
import type { Tx } from '../db/client.ts';
import { lockKeys } from '../db/locks.ts';
import { badRequest } from '../errors.ts';
import { normalizePhone } from './mask.ts';

export const IDENTITY_KINDS = [
  'web_visitor',
  'wecom_external_userid',
  'wx_openid',
  'wx_unionid',
  'phone',
  'phone_sha256',
  'taobao_nick',
  'jd_pin',
  'douyin_openid',
  'email',
] as const;
export type IdentityKind = (typeof IDENTITY_KINDS)[number];

export interface IdentityRow {
  id: string;
  customerId: string;
  kind: IdentityKind;
  value: string;
  displayName: string | null;
  verified: boolean;
  createdAt: Date;
}

export interface IdentityInput {
  kind: IdentityKind;
  value: string;
  displayName?: string;
  /** the platform vouches for it (a phone confirmed by SMS); only verified phones may merge customers */
  verified?: boolean;
}

/** The hash a phone is found by: sha256 hex of its 11 digits; a phone_sha256 identity is that hash already. */
export function phoneHash(i: Pick<IdentityInput, 'kind' | 'value'>): string | null {
  if (i.kind === 'phone') return createHash('sha256').update(i.value).digest('hex');
  if (i.kind === 'phone_sha256') return i.value;
  return null;
}

/** Identities strong enough to say two customers are one person. */
export function isStrong(i: Pick<IdentityInput, 'kind' | 'verified'>): boolean {
  return i.kind === 'wx_unionid' || (i.kind === 'phone' && !!i.verified);
}

/**
 * Finds the customer behind an identity, creating both when the identity is new.
 * The advisory lock makes two first messages from the same new identity produce one customer.
 */
export async function resolveIdentity(tx: Tx, raw: IdentityInput): Promise<IdentityRow> {
  return (await resolveIdentities(tx, [raw])).identities[0];
}

/**
 * resolveIdentity for many at once, in two round trips however many there are: the identities' locks (sorted,
 * so concurrent batches never deadlock) with the known ones, then the new customers and identities. The first
 * occurrence of an identity names its new customer. `alsoAfterLocks` runs right behind the lookup, in the same
 * round trip and still under the locks.
 */
export async function resolveIdentities<A = void>(
  tx: Tx,
  raws: IdentityInput[],
  alsoAfterLocks?: () => Promise<A>,
): Promise<{ identities: IdentityRow[]; created: Set<string>; after: A }> {
  const inputs = raws.map(canonical);
  const key = (i: Pick<IdentityInput, 'kind' | 'value'>) => `${i.kind}:${i.value}`;
  const distinct = new Map<string, IdentityInput>();
  for (const i of inputs) if (!distinct.has(key(i))) distinct.set(key(i), i);
  const list = [...distinct.values()];
  // sent in this order in one write, and run in this order: the lookups happen under the locks
  const [, found, after] = await Promise.all([
    lockKeys(tx, list.map((i) => `identity:${key(i)}`)),
    tx<IdentityRow[]>`
      select * from identities
       where (kind, value) in (select * from unnest(${list.map((i) => i.kind)}::text[], ${list.map((i) => i.value)}::text[]))`.execute(),
    alsoAfterLocks?.() as Promise<A>,
  ]);
  const byKey = new Map(found.map((r) => [key(r), r]));
  const missing = list.filter((i) => !byKey.has(key(i)));
  const created = new Set<string>();
  if (missing.length) {
    const customers = missing.map((i) => ({ id: randomUUID(), displayName: i.displayName?.trim() || defaultName(i) }));
    const rows = missing.map((i, n) => ({ customerId: customers[n].id, kind: i.kind, value: i.value, displayName: i.displayName ?? null, valueHash: phoneHash(i) }));
    const [, inserted] = await Promise.all([
      tx`insert into customers (id, display_name) select * from unnest(${customers.map((c) => c.id)}::uuid[], ${customers.map((c) => c.displayName)}::text[])`.execute(),
      tx<IdentityRow[]>`
        insert into identities (customer_id, kind, value, display_name, value_hash)
        select * from unnest(${rows.map((r) => r.customerId)}::uuid[], ${rows.map((r) => r.kind)}::text[], ${rows.map((r) => r.value)}::text[],
                             ${rows.map((r) => r.displayName)}::text[], ${rows.map((r) => r.valueHash)}::text[])
        returning *`.execute(),
    ]);
    for (const r of inserted) {
      byKey.set(key(r), r);
      created.add(r.id);
    }
  }
  return { identities: inputs.map((i) => byKey.get(key(i))!), created, after };
}

export async function addIdentity(tx: Tx, customerId: string, raw: IdentityInput): Promise<IdentityRow> {
  const input = canonical(raw);
  const [row] = await tx<IdentityRow[]>`
    insert into identities (customer_id, kind, value, display_name, verified, value_hash)
    values (${customerId}, ${input.kind}, ${input.value}, ${input.displayName ?? null}, ${!!input.verified}, ${phoneHash(input)})
    on conflict (kind, value) do update set display_name = coalesce(excluded.display_name, identities.display_name)
    returning *`;
  return row;
}

/** Validates an identity and stores phones as their 11 digits, so "+86 138-1234-5678" and "13812345678" meet. */
export function canonical(input: IdentityInput): IdentityInput {
  if (!IDENTITY_KINDS.includes(input.kind)) throw badRequest('invalid_identity', `未知的身份类型 ${input.kind}`);
  if (!input.value || input.value.length > 256) throw badRequest('invalid_identity', '身份标识为空或过长');
  if (input.kind === 'phone_sha256') {
    const hex = input.value.trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex)) throw badRequest('invalid_identity', 'phone_sha256 必须是 64 位十六进制（手机号 11 位数字的 SHA-256）');
    return { ...input, value: hex };
  }
  if (input.kind !== 'phone') return input;
  const phone = normalizePhone(input.value);
  if (!phone) throw badRequest('invalid_identity', `不是有效的手机号：${input.value}`);
  return { ...input, value: phone };
}

function defaultName(input: IdentityInput): string {
  const tail = input.value.slice(-4);
  return input.kind === 'web_visitor' ? `访客${tail}` : `客户${tail}`;
}
