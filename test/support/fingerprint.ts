import type { Sql } from '../../core/db/client.ts';

/**
 * A digest of every row of every table: a request that must change nothing (bad input, a wrong role) has to
 * leave all of them as they were, values included, not only the row counts. Not `gateway_nodes`: each node
 * writes its heartbeat there every 2 s, whatever the requests do.
 */
export async function fingerprint(sql: Sql): Promise<Record<string, string>> {
  const tables = await sql<{ name: string }[]>`
    select table_name as name from information_schema.tables
     where table_schema = 'public' and table_type = 'BASE TABLE' and table_name not in ('schema_migrations', 'gateway_nodes') order by 1`;
  const [row] = await sql.unsafe(
    `select ${tables.map((t) => `(select md5(coalesce(string_agg(x::text, '|' order by x::text), '')) from "${t.name}" x) as "${t.name}"`).join(', ')}`,
  );
  return row as Record<string, string>;
}
