import type { Queryable } from '../db/client.ts';
import { SPENT_STATUSES } from '../customers/profile.ts';
import { loadRules, segmentOf } from '../customers/rules.ts';

const RFM_SAMPLE = 50_000;

/**
 * The supervisor's dashboard over the last `days`: volume by channel and day, first response and resolution
 * times, SLA breaches, how much the bot handled alone, CSAT, each agent's load, recovered GMV and the RFM
 * segments of the customer base. A handful of aggregate queries; nothing is stored.
 */
export async function dashboard(q: Queryable, days: number) {
  const since = new Date(Date.now() - days * 86_400_000);
  const rules = await loadRules(q);
  const [volume, [times], [bot], csat, workload, [recovery], buyers] = await Promise.all([
    q<{ day: string; channel: string; n: number }[]>`
      select to_char(created_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD') as day, channel, count(*)::int as n
        from conversations where created_at >= ${since} group by 1, 2 order by 1, 2`,
    q<{ tickets: number; answered: number; frAvg: number | null; frP50: number | null; frP90: number | null; solved: number; resAvg: number | null; resP50: number | null; breaches: number }[]>`
      select count(*)::int as tickets,
             (count(*) filter (where first_response_at is not null))::int as answered,
             avg(extract(epoch from first_response_at - created_at) / 60) as fr_avg,
             percentile_cont(0.5) within group (order by extract(epoch from first_response_at - created_at) / 60) as fr_p50,
             percentile_cont(0.9) within group (order by extract(epoch from first_response_at - created_at) / 60) as fr_p90,
             (count(*) filter (where solved_at is not null))::int as solved,
             avg(extract(epoch from solved_at - created_at) / 60) as res_avg,
             percentile_cont(0.5) within group (order by extract(epoch from solved_at - created_at) / 60) as res_p50,
             (count(*) filter (where escalated_at is not null))::int as breaches
        from tickets where created_at >= ${since}`,
    q<{ conversations: number; handedOff: number }[]>`
      select count(*)::int as conversations,
             (count(*) filter (where exists (select 1 from tickets t where t.conversation_id = c.id)))::int as handed_off
        from conversations c where c.created_at >= ${since}`,
    q<{ score: number; n: number }[]>`
      select csat_score as score, count(*)::int as n from tickets where csat_at >= ${since} and csat_score is not null group by 1 order by 1`,
    q<{ agentId: string; name: string; status: string; disconnectedAt: Date | null; open: number; solved: number }[]>`
      select a.id as agent_id, a.name, a.status, a.disconnected_at,
             (select count(*)::int from tickets t where t.assignee_id = a.id and t.status in ('assigned', 'pending')) as open,
             (select count(*)::int from tickets t where t.assignee_id = a.id and t.solved_at >= ${since}) as solved
        from agents a where a.disabled_at is null order by a.name`,
    q<{ sent: number; recovered: number; recoveredFen: number }[]>`
      select (count(*) filter (where status = 'sent'))::int as sent, (count(*) filter (where recovered_at is not null))::int as recovered,
             coalesce(sum(recovered_fen), 0)::bigint as recovered_fen
        from recovery_runs where created_at >= ${since}`,
    q<{ lastPaid: Date | null; windowOrders: number; windowFen: number }[]>`
      select max(coalesce(o.paid_at, o.ordered_at)) filter (where o.status = any(${SPENT_STATUSES})) as last_paid,
             (count(o.id) filter (where o.status = any(${SPENT_STATUSES}) and o.ordered_at >= now() - ${rules.rfmWindowDays} * interval '1 day'))::int as window_orders,
             coalesce(sum(o.total_fen) filter (where o.status = any(${SPENT_STATUSES}) and o.ordered_at >= now() - ${rules.rfmWindowDays} * interval '1 day'), 0)::bigint as window_fen
        from customers c left join orders o on o.customer_id = c.id
       where c.merged_into is null group by c.id limit ${RFM_SAMPLE}`,
  ]);
  const rfm = new Map<string, number>();
  for (const b of buyers) {
    const seg = segmentOf(
      { recencyDays: b.lastPaid ? Math.floor((Date.now() - new Date(b.lastPaid).getTime()) / 86_400_000) : null, frequency: b.windowOrders, monetaryFen: Number(b.windowFen) },
      rules,
    );
    rfm.set(seg, (rfm.get(seg) ?? 0) + 1);
  }
  const csatCount = csat.reduce((a, r) => a + r.n, 0);
  const round = (x: number | null) => (x === null ? null : Math.round(Number(x) * 10) / 10);
  return {
    days,
    since: since.toISOString(),
    volumeByChannel: volume,
    firstResponse: { tickets: times.tickets, answered: times.answered, avgMinutes: round(times.frAvg), p50Minutes: round(times.frP50), p90Minutes: round(times.frP90) },
    resolution: { solved: times.solved, avgMinutes: round(times.resAvg), p50Minutes: round(times.resP50) },
    slaBreaches: times.breaches,
    bot: { conversations: bot.conversations, handedOff: bot.handedOff, deflectionRate: bot.conversations ? Math.round((1 - bot.handedOff / bot.conversations) * 1000) / 1000 : null },
    csat: { count: csatCount, average: csatCount ? Math.round((csat.reduce((a, r) => a + r.score * r.n, 0) / csatCount) * 100) / 100 : null, distribution: csat },
    workload,
    recovery: { sent: recovery.sent, recovered: recovery.recovered, recoveredFen: Number(recovery.recoveredFen) },
    rfm: [...rfm].map(([segment, customers]) => ({ segment, customers })).sort((a, b) => b.customers - a.customers),
  };
}
