import type { Queryable } from './db/client.ts';

/** Records who looked at or changed something sensitive (reveals, merges, splits, rule changes). */
export async function audit(
  q: Queryable,
  entry: { actorId: string | null; action: string; targetType: string; targetId: string; details?: Record<string, unknown> },
): Promise<void> {
  await q`
    insert into audit_log (actor_id, action, target_type, target_id, details)
    values (${entry.actorId}, ${entry.action}, ${entry.targetType}, ${entry.targetId}, ${q.json((entry.details ?? {}) as never)})`;
}

export interface AuditFilter {
  /** `agent.role_change`, or a prefix ending in a dot: `agent.` */
  action?: string;
  actorId?: string;
  targetType?: string;
  targetId?: string;
  /** written at or after `since`, and before `until` */
  since?: Date;
  until?: Date;
  /** the id of the last entry of the page before: the entries older than it */
  before?: number;
  limit: number;
}

export interface AuditEntry {
  id: number;
  actorId: string | null;
  actorName: string | null;
  action: string;
  targetType: string;
  targetId: string;
  /** what the target is called now (an agent's, a customer's, a team's or a playbook's name), if it still exists */
  targetLabel: string | null;
  details: Record<string, unknown>;
  createdAt: Date;
}

/** Newest first, a page at a time (keyset on the id, so a page never repeats or skips an entry written meanwhile). */
export async function listAudit(q: Queryable, f: AuditFilter): Promise<AuditEntry[]> {
  const where = [
    f.action === undefined ? null : f.action.endsWith('.') ? q`l.action like ${`${f.action}%`}` : q`l.action = ${f.action}`,
    f.actorId === undefined ? null : q`l.actor_id = ${f.actorId}`,
    f.targetType === undefined ? null : q`l.target_type = ${f.targetType}`,
    f.targetId === undefined ? null : q`l.target_id = ${f.targetId}`,
    f.since === undefined ? null : q`l.created_at >= ${f.since}`,
    f.until === undefined ? null : q`l.created_at < ${f.until}`,
    f.before === undefined ? null : q`l.id < ${f.before}`,
  ].filter((w) => w !== null);
  const conditions = where.reduce((acc, w) => q`${acc} and ${w}`, q`true`);
  return q<AuditEntry[]>`
    select l.id::float8 as id, l.actor_id, a.name as actor_name, l.action, l.target_type, l.target_id, l.details, l.created_at,
           case l.target_type when 'agent' then ta.name when 'customer' then tc.display_name
                              when 'team' then tt.name when 'playbook' then tp.name end as target_label
      from audit_log l
      left join agents a on a.id = l.actor_id
      left join agents ta on l.target_type = 'agent' and ta.id::text = l.target_id
      left join customers tc on l.target_type = 'customer' and tc.id::text = l.target_id
      left join teams tt on l.target_type = 'team' and tt.id::text = l.target_id
      left join playbooks tp on l.target_type = 'playbook' and tp.id::text = l.target_id
     where ${conditions}
     order by l.id desc
     limit ${f.limit}`;
}
