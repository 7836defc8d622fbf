import type { Queryable, Sql, Tx } from '../db/client.ts';
import { isOptOut, loadRecoverySettings, type RecoverySettings } from './settings.ts';

export const OPT_OUT_CONFIRMATION = '已为您退订，今后不再向您推送优惠活动消息。如有任何问题，随时在这里留言即可。';

// per database handle, refreshed every few seconds: every inbound message is checked against the keywords
// (the read in flight is shared: when the entry expires under load, hundreds of messages wait for one query)
const cache = new WeakMap<object, { s: Promise<RecoverySettings>; at: number }>();
const TTL_MS = 5000;

export function cachedRecoverySettings(sql: Sql): Promise<RecoverySettings> {
  const hit = cache.get(sql);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.s;
  const s = loadRecoverySettings(sql);
  const entry = { s, at: Date.now() };
  cache.set(sql, entry);
  // a failed read is not kept: the next message tries again
  s.catch(() => cache.get(sql) === entry && cache.delete(sql));
  return s;
}

export function forgetRecoverySettings(sql: Sql): void {
  cache.delete(sql);
}

/** Whether this customer message asks to stop marketing (退订, TD ...), with the shop's keywords. */
export async function asksOptOut(sql: Sql, text: string | null | undefined): Promise<boolean> {
  if (!text || text.length > 30) return false;
  return isOptOut(text, await cachedRecoverySettings(sql));
}

/**
 * Records the opt-out in the transaction that stores the message, so it holds from that moment on any node,
 * and cancels the customer's waiting playbook messages.
 */
export async function recordOptOut(tx: Tx, customerId: string, messageId: string | null): Promise<void> {
  await tx`insert into recovery_optouts (customer_id, message_id) values (${customerId}, ${messageId}) on conflict do nothing`;
  await tx`update recovery_runs r set status = 'cancelled', outcome = 'opted_out'
             from playbooks p
            where p.id = r.playbook_id and r.customer_id = ${customerId} and r.status = 'scheduled'
              and p.actions @> '[{"type": "send"}]'::jsonb`;
}

export async function isOptedOut(q: Queryable, customerId: string): Promise<boolean> {
  return (await q`select 1 from recovery_optouts where customer_id = ${customerId}`).length > 0;
}
