import { createHash } from 'node:crypto';
import { listMigrations } from '../../core/db/migrate.ts';

/** Named by the migrations' content, so a changed migration gets a fresh template. */
export function templateName(): string {
  const h = createHash('sha256');
  for (const m of listMigrations()) h.update(m.name).update(m.sql);
  return `huike_tpl_${h.digest('hex').slice(0, 12)}`;
}
