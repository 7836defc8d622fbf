import type { Queryable } from '../db/client.ts';
import { assembleProfile, SPENT_STATUSES } from '../customers/profile.ts';
import type { Conditions, PlaybookRow } from './playbooks.ts';
import { reachOf, type Reach } from './reach.ts';
import type { RunContext } from './schedule.ts';
import { afterQuietHours, type RecoverySettings } from './settings.ts';

export interface RunSubject {
  customerId: string;
  trigger: string;
  context: RunContext;
}

export type Verdict =
  | { kind: 'skip'; outcome: string }
  | { kind: 'wait'; until: Date }
  | { kind: 'go'; reach: Reach | null };

export const sends = (p: Pick<PlaybookRow, 'actions'>) => p.actions.some((a) => a.type === 'send');

/**
 * Whether a playbook should act for this customer now, and how: skip (with the reason the reports show),
 * wait for the quiet hours to end, or go (with where the customer can be reached). Used by the worker for a
 * due run and by the preview for a would-be run, so both say the same thing.
 */
export async function assess(q: Queryable, p: PlaybookRow, run: RunSubject, settings: RecoverySettings, now = new Date()): Promise<Verdict> {
  if (!(await reasonHolds(q, run))) return { kind: 'skip', outcome: 'reason_gone' };
  const messaging = sends(p);
  if (messaging) {
    // an opt-out given under a profile merged into this one still holds
    const [out] = await q`select 1 from recovery_optouts o join customers c on c.id = o.customer_id
                           where c.id = ${run.customerId} or c.merged_into = ${run.customerId} limit 1`;
    if (out) return { kind: 'skip', outcome: 'opted_out' };
  }
  const failed = await unmetCondition(q, p.conditions, run);
  if (failed) return { kind: 'skip', outcome: `condition:${failed}` };
  if (!messaging) return { kind: 'go', reach: null };

  const reach = await reachOf(q, run.customerId, now);
  if (reach.blocked) return p.conditions.reachableOnly ? { kind: 'skip', outcome: `unreachable:${reach.blocked}` } : { kind: 'go', reach };
  const until = afterQuietHours(now, settings);
  if (until > now) return { kind: 'wait', until };
  const [sent] = await q<{ day: number; week: number }[]>`
    select (count(*) filter (where executed_at > ${now} - interval '1 day'))::int as day, count(*)::int as week
      from recovery_runs where customer_id = ${run.customerId} and status = 'sent' and executed_at > ${now} - interval '7 days'`;
  if (sent.day >= settings.maxPerDay || sent.week >= settings.maxPerWeek) return { kind: 'skip', outcome: 'frequency_cap' };
  return { kind: 'go', reach };
}

/** Whether the reason for the run still stands when it is due: a cart bought meanwhile needs no reminder. */
async function reasonHolds(q: Queryable, run: RunSubject): Promise<boolean> {
  const c = run.context;
  const paidSince = async () =>
    (await q`select 1 from orders where customer_id = ${run.customerId} and status = any(${SPENT_STATUSES})
               and coalesce(paid_at, status_at) >= ${c.at} limit 1`).length > 0;
  switch (run.trigger) {
    case 'cart_abandoned': {
      const [cart] = await q<{ status: string }[]>`select status from carts where platform = ${c.platform ?? ''} and platform_cart_id = ${c.cartId ?? ''}`;
      return cart?.status !== 'purchased' && !(await paidSince());
    }
    case 'payment_failed': {
      const [o] = await q<{ status: string }[]>`select status from orders where platform = ${c.platform ?? ''} and platform_order_id = ${c.orderId ?? ''}`;
      return !o || (!SPENT_STATUSES.includes(o.status) && o.status !== 'cancelled');
    }
    case 'order_cancelled':
      return !(await paidSince());
    default:
      return true;
  }
}

/** The first condition the customer does not meet, by name, or null. The profile is read only when needed. */
async function unmetCondition(q: Queryable, cond: Conditions, run: RunSubject): Promise<string | null> {
  const c = run.context;
  if (cond.platforms?.length && !cond.platforms.includes(c.platform ?? '')) return 'platform';
  if (cond.minOrderFen !== undefined && (c.amountFen ?? 0) < cond.minOrderFen) return 'order_value';
  if (cond.maxOrderFen !== undefined && (c.amountFen ?? 0) > cond.maxOrderFen) return 'order_value';
  if (cond.categories?.length && !(c.categories ?? []).some((x) => cond.categories!.includes(x))) return 'category';
  if (!cond.segments?.length && !cond.tiers?.length && !cond.tagsAny?.length && !cond.tagsNone?.length) return null;
  const p = await assembleProfile(q, run.customerId, { reveal: false, orderLimit: 1 });
  const tags = p.tags.map((t) => t.tag);
  if (cond.segments?.length && !cond.segments.includes(p.rfm.segment)) return 'segment';
  if (cond.tiers?.length && !cond.tiers.includes(p.tier)) return 'tier';
  if (cond.tagsAny?.length && !tags.some((t) => cond.tagsAny!.includes(t))) return 'tags';
  if (cond.tagsNone?.length && tags.some((t) => cond.tagsNone!.includes(t))) return 'tags';
  return null;
}
