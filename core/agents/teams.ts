import { z } from 'zod';
import { transaction, type Queryable, type Sql } from '../db/client.ts';
import { conflict, notFound } from '../errors.ts';
import { isUuid } from '../ids.ts';
import { iso } from '../time.ts';

export const routingPolicy = z.object({
  /** send a returning customer to the agent who served them last, if free */
  sticky: z.boolean().default(true),
  /** least_loaded: fewest open tickets first; longest_idle: whoever waited longest since an assignment */
  strategy: z.enum(['least_loaded', 'longest_idle']).default('least_loaded'),
  /** serve the queue by priority (VIP, angry, escalated) before age; false = strictly first come, first served */
  priorityFirst: z.boolean().default(true),
});
export type RoutingPolicy = z.infer<typeof routingPolicy>;

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, '时间格式为 HH:MM');
export const teamSettings = z.object({
  name: z.string().trim().min(1).max(32).optional(),
  categories: z.array(z.string().trim().min(1).max(32)).max(50).optional(),
  firstResponseMinutes: z.number().int().min(1).max(10_080).optional(),
  resolutionMinutes: z.number().int().min(1).max(43_200).optional(),
  businessHours: z
    .object({ tz: z.string().min(1).max(64).default('Asia/Shanghai'), days: z.array(z.number().int().min(1).max(7)).min(1).max(7), start: hhmm, end: hhmm })
    .refine((h) => h.start < h.end, '下班时间必须晚于上班时间')
    .nullable()
    .optional(),
  routing: routingPolicy.partial().optional(),
});

export const newTeam = z
  .object({
    name: z.string().trim().min(1, '请填写组名').max(32),
    categories: z.array(z.string().trim().min(1).max(32)).max(50).default([]),
    /** takes the tickets no team's categories match; the first team is the default whatever this says */
    isDefault: z.boolean().default(false),
  })
  .strict();

export interface TeamRow {
  id: string;
  name: string;
  categories: string[];
  isDefault: boolean;
  firstResponseMinutes: number;
  resolutionMinutes: number;
  businessHours: unknown;
  routing: Partial<RoutingPolicy>;
  createdAt: Date;
}

export const policyOf = (t: Pick<TeamRow, 'routing'>): RoutingPolicy => routingPolicy.parse(t.routing ?? {});

export async function listTeams(q: Queryable): Promise<TeamRow[]> {
  return q<TeamRow[]>`select * from teams order by created_at`;
}

/** A new team. Made the default, it takes over from the one before: exactly one team takes the unmatched tickets. */
export async function createTeam(sql: Sql, t: z.infer<typeof newTeam>): Promise<TeamRow> {
  try {
    return await transaction(sql, async (tx) => {
      // one at a time, so two first teams created at once do not both become the default, nor neither
      await tx`lock table teams in share row exclusive mode`;
      const [{ n }] = await tx<{ n: number }[]>`select count(*)::int as n from teams`;
      const isDefault = t.isDefault || n === 0;
      if (isDefault) await tx`update teams set is_default = false where is_default`;
      const [row] = await tx<TeamRow[]>`
        insert into teams (name, categories, is_default) values (${t.name}, ${t.categories}, ${isDefault}) returning *`;
      return row;
    });
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw conflict('team_name_taken', `客服组「${t.name}」已存在`);
    throw err;
  }
}

export async function updateTeam(q: Queryable, id: string, s: z.infer<typeof teamSettings>): Promise<TeamRow> {
  if (!isUuid(id)) throw notFound('客服组');
  const [cur] = await q<TeamRow[]>`select * from teams where id = ${id}`;
  if (!cur) throw notFound('客服组');
  const routing = { ...cur.routing, ...(s.routing ?? {}) };
  const [row] = await q<TeamRow[]>`
    update teams set name = ${s.name ?? cur.name}, categories = ${s.categories ?? cur.categories},
           first_response_minutes = ${s.firstResponseMinutes ?? cur.firstResponseMinutes},
           resolution_minutes = ${s.resolutionMinutes ?? cur.resolutionMinutes},
           business_hours = ${s.businessHours === undefined ? (cur.businessHours as never) : s.businessHours === null ? null : q.json(s.businessHours as never)},
           routing = ${q.json(routing as never)}
     where id = ${id} returning *`;
  return row;
}

export function presentTeam(t: TeamRow) {
  return {
    id: t.id,
    name: t.name,
    categories: t.categories,
    isDefault: t.isDefault,
    sla: { firstResponseMinutes: t.firstResponseMinutes, resolutionMinutes: t.resolutionMinutes },
    businessHours: t.businessHours ?? null,
    routing: policyOf(t),
    createdAt: iso(t.createdAt),
  };
}
