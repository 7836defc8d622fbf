import type { Queryable } from './db/client.ts';
import { listAudit, type AuditEntry, type AuditFilter } from './audit.ts';

/** More than this in one file is cut off, and the file says so on its last line. */
export const AUDIT_EXPORT_MAX = 100_000;
const PAGE = 1000;
const HEADER = ['时间 at', '操作人 actor', '操作人ID actor_id', '操作 action', '对象类型 target_type', '对象ID target_id', '对象名称 target', '详情 details'];

/**
 * A cell Excel and WPS open as text: quoted where needed, and a leading = + - @ (a formula, in a customer's
 * nickname say) made inert with an apostrophe.
 */
export function csvCell(v: string): string {
  const inert = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(inert) ? `"${inert.replaceAll('"', '""')}"` : inert;
}

const row = (e: AuditEntry) =>
  [e.createdAt.toISOString(), e.actorName ?? '', e.actorId ?? '', e.action, e.targetType, e.targetId, e.targetLabel ?? '', JSON.stringify(e.details)].map(csvCell).join(',');

/** The entries a filter matches, newest first, as CSV text a page at a time (UTF-8 with a BOM, for Excel). */
export async function* auditCsv(q: Queryable, filter: Omit<AuditFilter, 'limit' | 'before'>, max = AUDIT_EXPORT_MAX): AsyncGenerator<string> {
  yield `\uFEFF${HEADER.join(',')}\n`;
  let before: number | undefined;
  let rows = 0;
  for (;;) {
    const page = await listAudit(q, { ...filter, before, limit: Math.min(PAGE, max - rows) });
    if (page.length) yield page.map(row).join('\n') + '\n';
    rows += page.length;
    if (rows >= max) {
      const more = (await listAudit(q, { ...filter, before: page.at(-1)!.id, limit: 1 })).length > 0;
      if (more) yield `# 仅导出最新的 ${max} 条，请缩小筛选范围 / truncated at ${max} rows: narrow the filter\n`;
      return;
    }
    if (page.length < PAGE) break;
    before = page.at(-1)!.id;
  }
}
