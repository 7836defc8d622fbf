import type { Queryable } from '../db/client.ts';
import type { PlaybookRow, Trigger, TriggerType } from './playbooks.ts';

/** What the trigger knew when it fired; the message's variables and the conditions read it. */
export interface RunContext {
  /** when the reason happened (the cart was abandoned, the payment failed ...) */
  at: string;
  platform?: string;
  orderId?: string;
  cartId?: string;
  amountFen?: number;
  product?: string;
  categories?: string[];
  ticketId?: string;
  conversationId?: string;
  csat?: number;
  angry?: boolean;
  tier?: string;
}

export interface TriggerHit {
  type: TriggerType;
  customerId: string;
  /** one run per playbook and reason: the same cart abandoned twice is one reason */
  reasonKey: string;
  context: RunContext;
}

/** An event this old when its run would be due is history (an import), not a reason to write to anyone. */
const STALE_MS = 24 * 3600 * 1000;

const delayOf = (t: Trigger) => ('delayMinutes' in t ? t.delayMinutes : 0);

function accepts(t: Trigger, hit: TriggerHit): boolean {
  if (t.type !== hit.type) return false;
  if (t.type === 'unhappy') return hit.context.angry ? t.angry : (hit.context.csat ?? 5) <= t.maxCsat;
  return true;
}

/** Which triggers have an enabled playbook: one cheap query lets a batch with nothing to do skip the rest. */
export async function liveTriggers(q: Queryable): Promise<Set<TriggerType>> {
  const rows = await q<{ t: TriggerType }[]>`select distinct trigger->>'type' as t from playbooks where enabled`;
  return new Set(rows.map((r) => r.t));
}

/**
 * Stores a run per enabled playbook that the hits match, due after the playbook's delay. Runs already there
 * (same playbook and reason) are left alone, so replays and retries schedule nothing twice.
 */
export async function scheduleRuns(q: Queryable, hits: TriggerHit[], now = new Date()): Promise<number> {
  if (!hits.length) return 0;
  const types = [...new Set(hits.map((h) => h.type))];
  const books = await q<PlaybookRow[]>`select * from playbooks where enabled and trigger->>'type' = any(${types})`;
  const rows: Record<string, unknown>[] = [];
  for (const hit of hits)
    for (const b of books) {
      if (!accepts(b.trigger, hit)) continue;
      const due = new Date(new Date(hit.context.at).getTime() + delayOf(b.trigger) * 60_000);
      if (due.getTime() < now.getTime() - STALE_MS) continue;
      rows.push({ playbook_id: b.id, customer_id: hit.customerId, reason_key: hit.reasonKey, trigger: hit.type, context: hit.context, due_at: due.toISOString() });
    }
  if (!rows.length) return 0;
  const r = await q`
    insert into recovery_runs (playbook_id, customer_id, reason_key, trigger, context, due_at)
    select playbook_id, customer_id, reason_key, trigger, context, due_at
      from jsonb_to_recordset(${q.json(rows as never)}) as x(playbook_id uuid, customer_id uuid, reason_key text, trigger text, context jsonb, due_at timestamptz)
    on conflict (playbook_id, reason_key) do nothing`;
  return r.count;
}

/** Waiting runs whose reason has gone (the cart was bought, the payment went through) are cancelled. */
export async function cancelRuns(q: Queryable, where: { reasonKeys?: string[]; customerTriggers?: { customerIds: string[]; triggers: TriggerType[] } }, outcome = 'reason_gone'): Promise<number> {
  let n = 0;
  if (where.reasonKeys?.length)
    n += (await q`update recovery_runs set status = 'cancelled', outcome = ${outcome}
                  where status = 'scheduled' and reason_key = any(${where.reasonKeys})`).count;
  const ct = where.customerTriggers;
  if (ct?.customerIds.length && ct.triggers.length)
    n += (await q`update recovery_runs set status = 'cancelled', outcome = ${outcome}
                  where status = 'scheduled' and customer_id = any(${ct.customerIds}::uuid[]) and trigger = any(${ct.triggers})`).count;
  return n;
}
