import Router from '@koa/router';
import { z } from 'zod';
import { authorize, isSupervisor } from '../../../../core/agents/policies.ts';
import { audit } from '../../../../core/audit.ts';
import { cannedInput, deleteCanned, listCanned, presentCanned, saveCanned } from '../../../../core/canned.ts';
import { dashboard } from '../../../../core/reports/dashboard.ts';
import { readJson } from '../../body.ts';
import type { HttpContext } from '../../context.ts';
import { actorOf, requireAgent } from '../../middleware/auth.ts';
import { parse } from '../../../validate.ts';

const daysQuery = z.object({ days: z.coerce.number().int().min(1).max(365).default(7) });

/**
 * What the console's pages need beyond the domain APIs: canned responses (everyone reads, supervisors write),
 * the supervisor dashboard, and the channel settings page's view of what is connected.
 */
export function consoleRoutes(app: HttpContext): Router {
  const r = new Router({ prefix: '/api/v1' });
  r.use(requireAgent(app));
  const sql = app.deps.sql;
  const supervisor = (ctx: Parameters<Parameters<typeof r.get>[1]>[0], message: string) => {
    const actor = actorOf(ctx);
    authorize(isSupervisor(actor), message);
    return actor;
  };

  r.get('/canned', async (ctx) => {
    ctx.body = { canned: (await listCanned(sql)).map(presentCanned) };
  });
  r.post('/canned', async (ctx) => {
    const actor = supervisor(ctx, '只有主管可以管理快捷回复');
    const row = await saveCanned(sql, null, await readJson(ctx, cannedInput), actor.id);
    ctx.status = 201;
    ctx.body = { canned: presentCanned(row) };
  });
  r.put('/canned/:id', async (ctx) => {
    const actor = supervisor(ctx, '只有主管可以管理快捷回复');
    ctx.body = { canned: presentCanned(await saveCanned(sql, ctx.params.id, await readJson(ctx, cannedInput), actor.id)) };
  });
  r.delete('/canned/:id', async (ctx) => {
    supervisor(ctx, '只有主管可以管理快捷回复');
    await deleteCanned(sql, ctx.params.id);
    ctx.status = 204;
  });

  r.get('/reports/dashboard', async (ctx) => {
    supervisor(ctx, '只有主管可以查看数据看板');
    const { days } = parse(daysQuery, ctx.query);
    ctx.body = await dashboard(sql, days);
  });

  r.get('/channels', async (ctx) => {
    const c = app.config;
    const [stats] = await sql<{ web: number; wecomKf: number; miniprogram: number }[]>`
      select (count(*) filter (where channel = 'web'))::int as web, (count(*) filter (where channel = 'wecom_kf'))::int as wecom_kf,
             (count(*) filter (where channel = 'miniprogram'))::int as miniprogram
        from conversations where created_at >= now() - interval '7 days'`;
    const accounts = await sql<{ openKfid: string; cursor: string | null }[]>`select open_kfid, cursor from kf_accounts order by open_kfid`.catch(() => []);
    ctx.body = {
      channels: [
        { key: 'web', name: '网页 / H5', configured: true, conversations7d: stats.web, detail: { url: '/chat.html' } },
        { key: 'wecom_kf', name: '企业微信 · 微信客服', configured: !!c.WECOM_CORP_ID, conversations7d: stats.wecomKf, detail: { corpId: c.WECOM_CORP_ID ?? null, callback: '/channels/wecom/callback', accounts: accounts.map((a) => a.openKfid) } },
        { key: 'miniprogram', name: '微信小程序客服消息', configured: !!c.MP_APPID, conversations7d: stats.miniprogram, detail: { appId: c.MP_APPID ?? null, callback: '/channels/miniprogram/callback' } },
      ],
      commerceWebhook: { configured: !!c.COMMERCE_WEBHOOK_SECRET, url: '/api/v1/commerce/events' },
    };
  });
  return r;
}
