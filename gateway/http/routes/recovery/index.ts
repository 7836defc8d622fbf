import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { authorize, canViewConversation, isSupervisor } from '../../../../core/agents/policies.ts';
import { audit } from '../../../../core/audit.ts';
import { transaction } from '../../../../core/db/client.ts';
import { notFound } from '../../../../core/errors.ts';
import { isUuid } from '../../../../core/ids.ts';
import { getConversation } from '../../../../core/conversations/queries.ts';
import type { RunRow } from '../../../../core/recovery/execute.ts';
import { forgetRecoverySettings } from '../../../../core/recovery/optout.ts';
import { createPlaybook, disablePlaybook, getPlaybook, listPlaybooks, parsePlaybook, TRIGGER_NAMES, updatePlaybook, type PlaybookRow } from '../../../../core/recovery/playbooks.ts';
import { presentPlaybook, presentRun } from '../../../../core/recovery/presenter.ts';
import { previewPlaybook } from '../../../../core/recovery/preview.ts';
import { recoveryReport } from '../../../../core/recovery/report.ts';
import { loadRecoverySettings, saveRecoverySettings } from '../../../../core/recovery/settings.ts';
import { readJson } from '../../body.ts';
import type { HttpContext } from '../../context.ts';
import { actorOf, requireAgent } from '../../middleware/auth.ts';
import { parse } from '../../../validate.ts';

const reportQuery = z.object({ days: z.coerce.number().int().min(1).max(365).default(30) });
const runsQuery = z.object({
  playbookId: z.string().uuid().optional(),
  customerId: z.string().uuid().optional(),
  status: z.enum(['scheduled', 'sent', 'suggested', 'fallback', 'done', 'skipped', 'cancelled', 'failed']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/**
 * `/api/v1/playbooks` and `/api/v1/recovery`: recovery playbooks (agents read, supervisors write), whom a
 * playbook would reach now, results per playbook and A/B variant, the guard-rail settings, the runs, and the
 * agent's side (scripts shown beside a conversation, marked when inserted).
 */
export function recoveryRoutes(app: HttpContext): Router {
  const r = new Router({ prefix: '/api/v1' });
  r.use(requireAgent(app));
  const sql = app.deps.sql;
  const supervisor = (ctx: Context) => {
    const actor = actorOf(ctx);
    authorize(isSupervisor(actor), '只有主管可以修改挽回方案');
    return actor;
  };

  r.get('/playbooks', async (ctx) => {
    ctx.body = { playbooks: (await listPlaybooks(sql)).map(presentPlaybook), triggers: TRIGGER_NAMES };
  });
  r.get('/playbooks/report', async (ctx) => {
    const { days } = parse(reportQuery, ctx.query);
    ctx.body = await recoveryReport(sql, new Date(Date.now() - days * 86_400_000));
  });
  // a draft can be previewed before it is saved
  r.post('/playbooks/preview', async (ctx) => {
    supervisor(ctx);
    const input = parsePlaybook(await readJson(ctx, z.unknown()));
    const draft = { ...input, id: '00000000-0000-0000-0000-000000000000', key: null, coupon: input.coupon ?? null, link: input.link ?? null, createdAt: new Date(), updatedAt: new Date() } as PlaybookRow;
    ctx.body = await previewPlaybook(sql, draft);
  });
  r.get('/playbooks/:id', async (ctx) => {
    ctx.body = { playbook: presentPlaybook(await getPlaybook(sql, ctx.params.id)) };
  });
  r.get('/playbooks/:id/preview', async (ctx) => {
    supervisor(ctx);
    ctx.body = await previewPlaybook(sql, await getPlaybook(sql, ctx.params.id));
  });
  r.post('/playbooks', async (ctx) => {
    const actor = supervisor(ctx);
    const input = parsePlaybook(await readJson(ctx, z.unknown()));
    const row = (await createPlaybook(sql, input, actor.id))!;
    await audit(sql, { actorId: actor.id, action: 'playbook.create', targetType: 'playbook', targetId: row.id });
    ctx.status = 201;
    ctx.body = { playbook: presentPlaybook(row) };
  });
  r.put('/playbooks/:id', async (ctx) => {
    const actor = supervisor(ctx);
    const input = parsePlaybook(await readJson(ctx, z.unknown()));
    const row = await transaction(sql, async (tx) => {
      // switching a playbook off also stops what it had waiting
      if (!input.enabled) await disablePlaybook(tx, ctx.params.id, actor.id);
      return updatePlaybook(tx, ctx.params.id, input, actor.id);
    });
    await audit(sql, { actorId: actor.id, action: 'playbook.update', targetType: 'playbook', targetId: row.id });
    ctx.body = { playbook: presentPlaybook(row) };
  });
  r.delete('/playbooks/:id', async (ctx) => {
    const actor = supervisor(ctx);
    await transaction(sql, (tx) => disablePlaybook(tx, ctx.params.id, actor.id));
    await audit(sql, { actorId: actor.id, action: 'playbook.disable', targetType: 'playbook', targetId: ctx.params.id });
    ctx.status = 204;
  });

  r.get('/recovery/settings', async (ctx) => {
    ctx.body = { settings: await loadRecoverySettings(sql) };
  });
  r.put('/recovery/settings', async (ctx) => {
    const actor = supervisor(ctx);
    const settings = await saveRecoverySettings(sql, await readJson(ctx, z.unknown()), actor.id);
    forgetRecoverySettings(sql);
    await audit(sql, { actorId: actor.id, action: 'recovery.settings', targetType: 'settings', targetId: 'recovery_settings' });
    ctx.body = { settings };
  });
  r.get('/recovery/runs', async (ctx) => {
    supervisor(ctx);
    const q = parse(runsQuery, ctx.query);
    const rows = await sql<(RunRow & { playbookName: string })[]>`
      select r.*, p.name as playbook_name from recovery_runs r join playbooks p on p.id = r.playbook_id
       where (${q.playbookId ?? null}::uuid is null or r.playbook_id = ${q.playbookId ?? null})
         and (${q.customerId ?? null}::uuid is null or r.customer_id = ${q.customerId ?? null})
         and (${q.status ?? null}::text is null or r.status = ${q.status ?? null})
       order by r.created_at desc limit ${q.limit}`;
    ctx.body = { runs: rows.map(presentRun) };
  });
  // agent tasks: customers a playbook could not reach and who have no conversation to open a ticket on
  r.get('/recovery/tasks', async (ctx) => {
    const rows = await sql<(RunRow & { playbookName: string; customerName: string })[]>`
      select r.*, p.name as playbook_name, c.display_name as customer_name
        from recovery_runs r join playbooks p on p.id = r.playbook_id join customers c on c.id = r.customer_id
       where r.status = 'fallback' and r.ticket_id is null and r.script_used_at is null and r.executed_at > now() - interval '14 days'
       order by r.executed_at desc limit 200`;
    ctx.body = { tasks: rows.map((t) => ({ ...presentRun(t), customerName: t.customerName })) };
  });
  // the agent inserted the script (or called the customer): the task is done, the report can count it
  r.post('/recovery/runs/:id/used', async (ctx) => {
    const actor = actorOf(ctx);
    if (!isUuid(ctx.params.id)) throw notFound('挽回任务');
    const [run] = await sql<RunRow[]>`select * from recovery_runs where id = ${ctx.params.id}`;
    if (!run) throw notFound('挽回任务');
    if (run.conversationId && !isSupervisor(actor)) authorize(canViewConversation(actor, await getConversation(sql, run.conversationId)));
    await sql`update recovery_runs set script_used_at = coalesce(script_used_at, now()) where id = ${run.id}`;
    ctx.status = 204;
  });
  return r;
}

/** Scripts waiting for the agent beside a conversation: the customer's recent suggested or fallen-back runs. */
export async function scriptsFor(sql: HttpContext['deps']['sql'], customerId: string) {
  const rows = await sql<(RunRow & { playbookName: string })[]>`
    select r.*, p.name as playbook_name from recovery_runs r join playbooks p on p.id = r.playbook_id
     where r.customer_id = ${customerId} and r.status in ('suggested', 'fallback') and r.script is not null
       and r.script_used_at is null and r.executed_at > now() - interval '7 days'
     order by r.executed_at desc limit 5`;
  return rows.map((row) => ({ runId: row.id, playbookName: row.playbookName, trigger: row.trigger, script: row.script, status: row.status, outcome: row.outcome }));
}
