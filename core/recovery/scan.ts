import type { Queryable } from '../db/client.ts';
import { SPENT_STATUSES } from '../customers/profile.ts';
import { zonedParts } from '../time.ts';
import type { PlaybookRow } from './playbooks.ts';
import { loadRecoverySettings } from './settings.ts';

/** A customer who lapsed longer ago than this is not chased the first time a lapsed playbook is switched on. */
const LAPSED_BAND_DAYS = 30;

/** `hour`:00 today in the shop's time zone, as an instant. */
export function todayAt(now: Date, tz: string, hour: number): Date {
  const p = zonedParts(now, tz);
  const localMidnightAsUtc = Date.UTC(p.year, p.month - 1, p.day);
  const offset = Math.round((localMidnightAsUtc + p.minutes * 60_000 - now.getTime()) / 60_000) * 60_000;
  return new Date(localMidnightAsUtc + hour * 3_600_000 - offset);
}

/**
 * Finds the customers that time-based playbooks are for and stores their runs: no purchase for N days (once per
 * lapse: the reason is the date of the last purchase), birthdays today, members on member day. Set-based inserts
 * that skip runs already stored, so the scan may run as often as it likes on every node.
 */
export async function scanTimeTriggers(q: Queryable, now = new Date()): Promise<number> {
  const books = await q<PlaybookRow[]>`select * from playbooks where enabled and trigger->>'type' in ('lapsed', 'birthday', 'member_day')`;
  if (!books.length) return 0;
  const { timezone: tz } = await loadRecoverySettings(q);
  const local = zonedParts(now, tz);
  const ymd = `${local.year}-${String(local.month).padStart(2, '0')}-${String(local.day).padStart(2, '0')}`;
  let n = 0;
  for (const b of books) {
    const t = b.trigger;
    if (t.type === 'lapsed') {
      n += (
        await q`
          insert into recovery_runs (playbook_id, customer_id, reason_key, trigger, context, due_at)
          select ${b.id}, c.customer_id, 'lapsed:' || c.customer_id || ':' || to_char(c.last_paid, 'YYYY-MM-DD'), 'lapsed',
                 jsonb_build_object('at', ${now}::timestamptz, 'amountFen', c.last_fen), ${now}
            from (select customer_id, max(coalesce(paid_at, ordered_at)) as last_paid,
                         (array_agg(total_fen order by coalesce(paid_at, ordered_at) desc))[1] as last_fen
                    from orders where status = any(${SPENT_STATUSES}) group by customer_id) c
            join customers cu on cu.id = c.customer_id and cu.merged_into is null
           where c.last_paid < ${now}::timestamptz - ${t.days} * interval '1 day'
             and c.last_paid >= ${now}::timestamptz - ${t.days + LAPSED_BAND_DAYS} * interval '1 day'
          on conflict (playbook_id, reason_key) do nothing`
      ).count;
    } else if (t.type === 'birthday') {
      const mmdd = ymd.slice(5);
      n += (
        await q`
          insert into recovery_runs (playbook_id, customer_id, reason_key, trigger, context, due_at)
          select ${b.id}, id, 'birthday:' || id || ':' || ${ymd.slice(0, 4)}, 'birthday', jsonb_build_object('at', ${now}::timestamptz),
                 ${todayAt(now, tz, t.hour)}
            from customers where birthday = ${mmdd} and merged_into is null
          on conflict (playbook_id, reason_key) do nothing`
      ).count;
    } else if (t.type === 'member_day' && local.day === t.dayOfMonth) {
      // members are customers who have bought; the playbook's conditions narrow it down (tier, tags ...)
      n += (
        await q`
          insert into recovery_runs (playbook_id, customer_id, reason_key, trigger, context, due_at)
          select ${b.id}, c.id, 'memberday:' || c.id || ':' || ${ymd.slice(0, 7)}, 'member_day', jsonb_build_object('at', ${now}::timestamptz),
                 ${todayAt(now, tz, t.hour)}
            from customers c
           where c.merged_into is null and exists (select 1 from orders o where o.customer_id = c.id and o.status = any(${SPENT_STATUSES}))
          on conflict (playbook_id, reason_key) do nothing`
      ).count;
    }
  }
  return n;
}
