import type { Sql } from '../db/client.ts';

/** Durably notes that WeCom has news for a kf account. Called before the callback answers. */
export async function recordKfSyncRequest(sql: Sql, openKfid: string, token: string | null): Promise<void> {
  await sql`insert into kf_sync_requests (open_kfid, token) values (${openKfid}, ${token})`;
}

export async function accountsWithPendingSync(sql: Sql, limit = 50): Promise<string[]> {
  const rows = await sql<{ openKfid: string }[]>`
    select open_kfid from kf_sync_requests where done_at is null group by open_kfid order by min(id) limit ${limit}`;
  return rows.map((r) => r.openKfid);
}

export interface KfLease {
  cursor: string | null;
  /** requests up to this id are covered by the sync that holds the lease */
  upto: number;
  /** the newest callback token: sync_msg with it is not rate-limited as hard */
  token: string | null;
}

/**
 * Takes the account's lease, so two nodes never page the same cursor at once. Returns null while another node
 * holds an unexpired lease (it will see our request too: it marks done only what it started with).
 */
export async function leaseKfAccount(sql: Sql, openKfid: string, owner: string, leaseMs: number): Promise<KfLease | null> {
  await sql`insert into kf_accounts (open_kfid) values (${openKfid}) on conflict do nothing`;
  const [lease] = await sql<{ cursor: string | null }[]>`
    update kf_accounts set lease_owner = ${owner}, lease_until = now() + ${leaseMs} * interval '1 millisecond'
     where open_kfid = ${openKfid} and (lease_until is null or lease_until < now() or lease_owner = ${owner})
    returning cursor`;
  if (!lease) return null;
  const [pending] = await sql<{ upto: number | null; token: string | null }[]>`
    select max(id) as upto, (array_agg(token order by id desc) filter (where token is not null))[1] as token
      from kf_sync_requests where open_kfid = ${openKfid} and done_at is null`;
  return { cursor: lease.cursor, upto: Number(pending?.upto ?? 0), token: pending?.token ?? null };
}

/** Saves the cursor after a page is stored, extending the lease; false when the lease was lost meanwhile. */
export async function saveKfCursor(sql: Sql, openKfid: string, owner: string, cursor: string, leaseMs: number): Promise<boolean> {
  const rows = await sql`
    update kf_accounts set cursor = ${cursor}, synced_at = now(), lease_until = now() + ${leaseMs} * interval '1 millisecond'
     where open_kfid = ${openKfid} and lease_owner = ${owner}`;
  return rows.count === 1;
}

export async function finishKfSync(sql: Sql, openKfid: string, owner: string, upto: number | null): Promise<void> {
  if (upto !== null) {
    await sql`update kf_sync_requests set done_at = now() where open_kfid = ${openKfid} and id <= ${upto} and done_at is null`;
    // done requests only matter while debugging a sync; keep a day of them
    await sql`delete from kf_sync_requests where open_kfid = ${openKfid} and done_at < now() - interval '1 day'`;
  }
  await sql`update kf_accounts set lease_owner = null, lease_until = null where open_kfid = ${openKfid} and lease_owner = ${owner}`;
}
