import type { Queryable } from '../db/client.ts';

export interface VariantStats {
  variant: string | null;
  triggered: number;
  waiting: number;
  sent: number;
  /** WeChat (or the web chat) accepted the message */
  reached: number;
  suggested: number;
  fallback: number;
  skipped: number;
  cancelled: number;
  recovered: number;
  recoveredFen: number;
  /** recovered / (sent + suggested + fallback): of the customers we (or an agent) contacted, how many paid */
  conversion: number | null;
}

/**
 * Per playbook and A/B variant over runs created since `since`: what was triggered, what reached the customer,
 * what was recovered and for how much. Skips and cancellations are broken down by reason.
 */
export async function recoveryReport(q: Queryable, since: Date) {
  const rows = await q<(Omit<VariantStats, 'conversion'> & { playbookId: string; name: string })[]>`
    select p.id as playbook_id, p.name, r.variant,
           count(r.id)::int as triggered,
           (count(*) filter (where r.status = 'scheduled'))::int as waiting,
           (count(*) filter (where r.status = 'sent'))::int as sent,
           (count(*) filter (where r.status = 'sent' and m.status = 'sent'))::int as reached,
           (count(*) filter (where r.status = 'suggested'))::int as suggested,
           (count(*) filter (where r.status = 'fallback'))::int as fallback,
           (count(*) filter (where r.status = 'skipped'))::int as skipped,
           (count(*) filter (where r.status = 'cancelled'))::int as cancelled,
           (count(*) filter (where r.recovered_at is not null))::int as recovered,
           coalesce(sum(r.recovered_fen), 0)::bigint as recovered_fen
      from playbooks p
      left join recovery_runs r on r.playbook_id = p.id and r.created_at >= ${since}
      left join messages m on m.id = r.message_id
     group by p.id, p.name, r.variant
     order by p.name, r.variant nulls first`;
  const reasons = await q<{ playbookId: string; status: string; outcome: string; n: number }[]>`
    select playbook_id, status, split_part(outcome, ':', 1) || coalesce(':' || nullif(split_part(outcome, ':', 2), ''), '') as outcome, count(*)::int as n
      from recovery_runs where created_at >= ${since} and status in ('skipped', 'cancelled', 'fallback', 'failed') and outcome is not null
     group by 1, 2, 3`;
  const byPlaybook = new Map<string, { playbookId: string; name: string; variants: VariantStats[]; total: VariantStats; reasons: Record<string, number> }>();
  for (const r of rows) {
    const entry = byPlaybook.get(r.playbookId) ?? { playbookId: r.playbookId, name: r.name, variants: [], total: empty(null), reasons: {} };
    const v: VariantStats = { ...pick(r), recoveredFen: Number(r.recoveredFen), conversion: null };
    v.conversion = rate(v);
    if (r.triggered > 0 && r.variant) entry.variants.push(v);
    for (const k of COUNTS) entry.total[k] += v[k];
    entry.total.conversion = rate(entry.total);
    byPlaybook.set(r.playbookId, entry);
  }
  for (const r of reasons) {
    const e = byPlaybook.get(r.playbookId);
    if (e) e.reasons[`${r.status}:${r.outcome}`] = r.n;
  }
  return { since: since.toISOString(), playbooks: [...byPlaybook.values()] };
}

const COUNTS = ['triggered', 'waiting', 'sent', 'reached', 'suggested', 'fallback', 'skipped', 'cancelled', 'recovered', 'recoveredFen'] as const;
const empty = (variant: string | null): VariantStats => ({ variant, ...Object.fromEntries(COUNTS.map((k) => [k, 0])), conversion: null }) as VariantStats;
const pick = (r: Omit<VariantStats, 'conversion'>) => Object.fromEntries([['variant', r.variant], ...COUNTS.map((k) => [k, Number(r[k])])]) as Omit<VariantStats, 'conversion'>;
const rate = (v: VariantStats) => {
  const touched = v.sent + v.suggested + v.fallback;
  return touched ? Math.round((v.recovered / touched) * 1000) / 1000 : null;
};
