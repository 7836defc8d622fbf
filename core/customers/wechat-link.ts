import type { Deps } from '../deps.ts';
import { inTransaction } from '../events.ts';
import { mergeByStrongIdentity } from './merge.ts';
import { addIdentity, resolveIdentity, type IdentityKind, type IdentityRow } from './identities.ts';

export interface WechatProfile {
  kind: Extract<IdentityKind, 'wecom_external_userid' | 'wx_openid'>;
  value: string;
  nickname?: string;
  avatar?: string;
  unionid?: string;
}

/**
 * Files a WeChat identity under the right customer. A unionid is the same WeChat user across every surface of
 * the shop (kf, mini-program, official account), so a known unionid attaches this identity to that customer
 * instead of creating a stranger, and two customers found to share one merge (recorded, and reversible).
 */
export async function linkWechatIdentity(deps: Deps, p: WechatProfile): Promise<IdentityRow> {
  const identity = await inTransaction(deps.sql, deps.bus, async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(${`identity:${p.kind}:${p.value}`}))`;
    const [existing] = await tx<IdentityRow[]>`select * from identities where kind = ${p.kind} and value = ${p.value}`;
    const union = p.unionid ? (await tx<IdentityRow[]>`select * from identities where kind = 'wx_unionid' and value = ${p.unionid}`)[0] : undefined;
    if (existing) {
      if (p.unionid && !union) await addIdentity(tx, existing.customerId, { kind: 'wx_unionid', value: p.unionid, displayName: p.nickname });
      // the same unionid on two customers: one person, so they merge (unless a supervisor split them before)
      if (union && union.customerId !== existing.customerId) await mergeByStrongIdentity(tx, [existing.customerId, union.customerId], 'shared:wx_unionid');
      return existing;
    }
    if (union) return addIdentity(tx, union.customerId, { kind: p.kind, value: p.value, displayName: p.nickname });
    const created = await resolveIdentity(tx, { kind: p.kind, value: p.value, displayName: p.nickname });
    if (p.unionid) await addIdentity(tx, created.customerId, { kind: 'wx_unionid', value: p.unionid, displayName: p.nickname });
    return created;
  });
  if (p.avatar) await deps.sql`update customers set avatar_url = ${p.avatar} where id = ${identity.customerId} and avatar_url is null`;
  return identity;
}

export async function identityExists(deps: Deps, kind: IdentityKind, value: string): Promise<boolean> {
  const [row] = await deps.sql`select 1 from identities where kind = ${kind} and value = ${value}`;
  return !!row;
}
