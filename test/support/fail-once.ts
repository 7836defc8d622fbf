import type { Sql } from '../../core/db/client.ts';

/**
 * The next `op` on `table` whose new row matches `when` (SQL over `new`) fails once with a "try again" error
 * (serialization failure: what a database that went away mid-write looks like to a caller that retries); the
 * sequence counts across the failed transaction's rollback. Resolves with the function that removes the trigger.
 */
export async function failOnce(sql: Sql, table: string, when: string, op: 'insert' | 'update' = 'insert'): Promise<() => Promise<void>> {
  const name = `fail_once_${op}_${table}`;
  await sql.unsafe(`
    create sequence ${name};
    create function ${name}() returns trigger language plpgsql as $$
    begin
      if ${when} and nextval('${name}') = 1 then raise exception 'injected: the database went away' using errcode = '40001'; end if;
      return new;
    end $$;
    create trigger ${name} before ${op} on ${table} for each row execute function ${name}();`);
  return () => sql.unsafe(`drop trigger ${name} on ${table}; drop function ${name}(); drop sequence ${name};`).then(() => {});
}
