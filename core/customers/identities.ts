import { createHash } from 'node:crypto';
import type { Tx } from '../db/client.ts';
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
  const input = canonical(raw);
  await tx`select pg_advisory_xact_lock(hashtext(${`identity:${input.kind}:${input.value}`}))`;
  const [found] = await tx<IdentityRow[]>`select * from identities where kind = ${input.kind} and value = ${input.value}`;
  if (found) return found;
  const name = input.displayName?.trim() || defaultName(input);
  const [customer] = await tx<{ id: string }[]>`insert into customers (display_name) values (${name}) returning id`;
  const [identity] = await tx<IdentityRow[]>`
    insert into identities (customer_id, kind, value, display_name, value_hash)
    values (${customer.id}, ${input.kind}, ${input.value}, ${input.displayName ?? null}, ${phoneHash(input)})
    returning *`;
  return identity;
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
