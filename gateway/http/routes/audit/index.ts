import Router from '@koa/router';
import { z } from 'zod';
import { authorize } from '../../../../core/agents/policies.ts';
import { Readable } from 'node:stream';
import { audit, listAudit, type AuditEntry } from '../../../../core/audit.ts';
import { auditCsv } from '../../../../core/audit-export.ts';
import { iso } from '../../../../core/time.ts';
import { parse } from '../../../validate.ts';
import type { HttpContext } from '../../context.ts';
import { actorOf, requireAgent } from '../../middleware/auth.ts';

const instant = z.string().datetime({ offset: true, message: '时间格式为 ISO 8601，例如 2026-12-01T00:00:00+08:00' }).transform((s) => new Date(s));
const auditQuery = z.object({
  action: z
    .string()
    .regex(/^[a-z_]+(\.[a-z_]*)?$/, '操作类型格式为 agent.role_change 或前缀 agent.')
    .max(64)
    .optional(),
  actorId: z.string().uuid().optional(),
  targetType: z.enum(['agent', 'audit', 'customer', 'kb', 'playbook', 'settings', 'team']).optional(),
  targetId: z.string().min(1).max(200).optional(),
  since: instant.optional(),
  until: instant.optional(),
  before: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
}).refine((q) => !q.since || !q.until || q.since < q.until, { message: '开始时间须早于结束时间', path: ['until'] });

const present = (e: AuditEntry) => ({
  id: e.id,
  at: iso(e.createdAt),
  actor: e.actorId ? { id: e.actorId, name: e.actorName } : null,
  action: e.action,
  target: { type: e.targetType, id: e.targetId, label: e.targetLabel },
  details: e.details,
});

/** `/api/v1/audit`: who revealed, merged, exported, changed roles and passwords; admins only. */
export function auditRoutes(app: HttpContext): Router {
  const r = new Router({ prefix: '/api/v1/audit' });
  r.use(requireAgent(app));
  r.get('/', async (ctx) => {
    authorize(actorOf(ctx).role === 'admin', '只有管理员可以查看审计日志');
    const f = parse(auditQuery, ctx.query);
    const rows = await listAudit(app.deps.sql, f);
    // the cursor for the next page, while this one was full
    ctx.body = { entries: rows.map(present), nextBefore: rows.length === f.limit ? rows.at(-1)!.id : null };
  });
  // the same filters, every match as CSV; the export itself is audited first, as the KB's is
  r.get('/export', async (ctx) => {
    const actor = actorOf(ctx);
    authorize(actor.role === 'admin', '只有管理员可以导出审计日志');
    const { limit: _limit, before: _before, ...filter } = parse(auditQuery, ctx.query);
    const sql = app.deps.sql;
    await audit(sql, { actorId: actor.id, action: 'audit.export', targetType: 'audit', targetId: 'csv', details: { filter } });
    ctx.set('content-disposition', `attachment; filename="huike-audit-${new Date().toISOString().slice(0, 10)}.csv"`);
    ctx.type = 'text/csv; charset=utf-8';
    ctx.body = Readable.from(auditCsv(sql, filter));
  });
  return r;
}
