import { z } from 'zod';
import type { Queryable } from '../db/client.ts';
import { badRequest, notFound } from '../errors.ts';
import { isUuid } from '../ids.ts';
import { TEMPLATE_VARIABLES, unknownVariables } from './template.ts';

/** What starts a run. Commerce and service events schedule runs as they are stored; the rest are found by a scan. */
export const TRIGGERS = ['cart_abandoned', 'payment_failed', 'order_cancelled', 'refund', 'lapsed', 'unhappy', 'birthday', 'member_day', 'tier_upgrade'] as const;
export type TriggerType = (typeof TRIGGERS)[number];

export const TRIGGER_NAMES: Record<TriggerType, string> = {
  cart_abandoned: '加购未下单',
  payment_failed: '支付失败',
  order_cancelled: '订单取消',
  refund: '退款',
  lapsed: '长期未购 / 沉睡',
  unhappy: '差评或情绪激动',
  birthday: '生日',
  member_day: '会员日',
  tier_upgrade: '会员升级',
};

const minutes = z.number().int().min(0).max(60 * 24 * 30);
export const triggerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('cart_abandoned'), delayMinutes: minutes.default(120) }),
  // the golden 5 minutes: a nudge while the customer still has the payment page open
  z.object({ type: z.literal('payment_failed'), delayMinutes: minutes.default(5) }),
  z.object({ type: z.literal('order_cancelled'), delayMinutes: minutes.default(30) }),
  z.object({ type: z.literal('refund'), delayMinutes: minutes.default(0) }),
  z.object({ type: z.literal('lapsed'), days: z.number().int().min(1).max(3650).default(90) }),
  z.object({ type: z.literal('unhappy'), delayMinutes: minutes.default(0), maxCsat: z.number().int().min(1).max(4).default(2), angry: z.boolean().default(true) }),
  z.object({ type: z.literal('birthday'), hour: z.number().int().min(0).max(23).default(10) }),
  z.object({ type: z.literal('member_day'), dayOfMonth: z.number().int().min(1).max(28), hour: z.number().int().min(0).max(23).default(10) }),
  z.object({ type: z.literal('tier_upgrade'), delayMinutes: minutes.default(0) }),
]);
export type Trigger = z.infer<typeof triggerSchema>;

const names = z.array(z.string().trim().min(1).max(32)).max(50);
export const conditionsSchema = z
  .object({
    segments: names.optional(),
    tiers: names.optional(),
    tagsAny: names.optional(),
    tagsNone: names.optional(),
    platforms: names.optional(),
    minOrderFen: z.number().int().min(0).optional(),
    maxOrderFen: z.number().int().min(0).optional(),
    categories: names.optional(),
    /** only customers who can be written to on their channel right now (no agent fallback) */
    reachableOnly: z.boolean().optional(),
  })
  .strict();
export type Conditions = z.infer<typeof conditionsSchema>;

export const actionSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('send') }),
  z.object({ type: z.literal('suggest') }),
  z.object({ type: z.literal('ticket'), category: z.string().trim().min(1).max(32).optional() }),
  z.object({ type: z.literal('tag'), tag: z.string().trim().regex(/^[\p{L}\p{N}_\-·]{1,20}$/u, '标签为 1-20 个字符') }),
]);
export type Action = z.infer<typeof actionSchema>;

export const variantSchema = z
  .object({
    id: z.enum(['A', 'B']),
    weight: z.number().int().min(0).max(100).default(50),
    kind: z.enum(['text', 'link', 'miniprogram']).default('text'),
    text: z.string().trim().min(1).max(600),
    title: z.string().trim().max(64).optional(),
    desc: z.string().trim().max(120).optional(),
    url: z.string().trim().max(500).optional(),
    appId: z.string().trim().max(64).optional(),
    pagePath: z.string().trim().max(300).optional(),
    thumbMediaId: z.string().trim().max(200).optional(),
  })
  .superRefine((v, ctx) => {
    for (const field of ['text', 'title', 'desc'] as const) {
      const bad = unknownVariables(v[field] ?? '');
      if (bad.length) ctx.addIssue({ code: 'custom', path: [field], message: `未知变量 ${bad.join('、')}；可用：${TEMPLATE_VARIABLES.join('、')}` });
    }
    if (v.kind === 'link' && (!v.title || !v.url)) ctx.addIssue({ code: 'custom', path: ['url'], message: '图文链接需要标题和链接' });
    if (v.kind === 'miniprogram' && (!v.title || !v.appId || !v.pagePath)) ctx.addIssue({ code: 'custom', path: ['pagePath'], message: '小程序卡片需要标题、appId 和页面路径' });
  });
export type Variant = z.infer<typeof variantSchema>;

export const playbookInput = z
  .object({
    name: z.string().trim().min(1).max(64),
    enabled: z.boolean().default(true),
    trigger: triggerSchema,
    conditions: conditionsSchema.default({}),
    actions: z.array(actionSchema).min(1).max(6),
    variants: z.array(variantSchema).max(2).default([]),
    coupon: z.string().trim().max(64).nullable().optional(),
    link: z.string().trim().max(500).nullable().optional(),
    attributionHours: z.number().int().min(1).max(720).default(72),
  })
  .strict()
  .superRefine((p, ctx) => {
    const messaging = p.actions.some((a) => a.type === 'send' || a.type === 'suggest');
    if (messaging && !p.variants.length) ctx.addIssue({ code: 'custom', path: ['variants'], message: '发送或推荐话术需要至少一个话术模板' });
    if (new Set(p.variants.map((v) => v.id)).size !== p.variants.length) ctx.addIssue({ code: 'custom', path: ['variants'], message: 'A/B 模板不能重复' });
    if (p.variants.length && p.variants.every((v) => v.weight === 0)) ctx.addIssue({ code: 'custom', path: ['variants'], message: '模板的分流比例不能都为 0' });
  });
export type PlaybookInput = z.infer<typeof playbookInput>;

export interface PlaybookRow {
  id: string;
  key: string | null;
  name: string;
  enabled: boolean;
  trigger: Trigger;
  conditions: Conditions;
  actions: Action[];
  variants: Variant[];
  coupon: string | null;
  link: string | null;
  attributionHours: number;
  createdAt: Date;
  updatedAt: Date;
}

export function parsePlaybook(input: unknown): PlaybookInput {
  const r = playbookInput.safeParse(input);
  if (!r.success)
    throw badRequest('invalid_playbook', '话术方案格式不正确', r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  return r.data;
}

export async function listPlaybooks(q: Queryable): Promise<PlaybookRow[]> {
  return q<PlaybookRow[]>`select * from playbooks order by created_at, name`;
}

export async function enabledPlaybooks(q: Queryable, trigger: TriggerType): Promise<PlaybookRow[]> {
  return q<PlaybookRow[]>`select * from playbooks where enabled and trigger->>'type' = ${trigger}`;
}

export async function getPlaybook(q: Queryable, id: string): Promise<PlaybookRow> {
  if (!isUuid(id)) throw notFound('话术方案');
  const [row] = await q<PlaybookRow[]>`select * from playbooks where id = ${id}`;
  if (!row) throw notFound('话术方案');
  return row;
}

export async function createPlaybook(q: Queryable, p: PlaybookInput, actorId: string | null, key: string | null = null): Promise<PlaybookRow> {
  const [row] = await q<PlaybookRow[]>`
    insert into playbooks (key, name, enabled, trigger, conditions, actions, variants, coupon, link, attribution_hours, updated_by)
    values (${key}, ${p.name}, ${p.enabled}, ${q.json(p.trigger as never)}, ${q.json(p.conditions as never)}, ${q.json(p.actions as never)},
            ${q.json(p.variants as never)}, ${p.coupon ?? null}, ${p.link ?? null}, ${p.attributionHours}, ${actorId})
    on conflict (key) do nothing
    returning *`;
  return row;
}

export async function updatePlaybook(q: Queryable, id: string, p: PlaybookInput, actorId: string | null): Promise<PlaybookRow> {
  await getPlaybook(q, id);
  const [row] = await q<PlaybookRow[]>`
    update playbooks set name = ${p.name}, enabled = ${p.enabled}, trigger = ${q.json(p.trigger as never)},
           conditions = ${q.json(p.conditions as never)}, actions = ${q.json(p.actions as never)}, variants = ${q.json(p.variants as never)},
           coupon = ${p.coupon ?? null}, link = ${p.link ?? null}, attribution_hours = ${p.attributionHours},
           updated_at = now(), updated_by = ${actorId}
     where id = ${id} returning *`;
  return row;
}

/** Deleting keeps the results: the playbook is disabled and its waiting runs are cancelled. */
export async function disablePlaybook(q: Queryable, id: string, actorId: string | null): Promise<PlaybookRow> {
  await getPlaybook(q, id);
  await q`update recovery_runs set status = 'cancelled', outcome = 'playbook_disabled' where playbook_id = ${id} and status = 'scheduled'`;
  const [row] = await q<PlaybookRow[]>`update playbooks set enabled = false, updated_at = now(), updated_by = ${actorId} where id = ${id} returning *`;
  return row;
}
