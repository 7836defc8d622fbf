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
