import { z } from 'zod';
import type { Queryable } from './db/client.ts';
import { conflict, notFound } from './errors.ts';
import { isUuid } from './ids.ts';
import { iso } from './time.ts';

export const cannedInput = z
  .object({
    shortcut: z.string().trim().regex(/^[\w\-\u4e00-\u9fff]{1,20}$/, '快捷指令为 1-20 个字符的文字、字母、数字、下划线或连字符'),
    title: z.string().trim().min(1).max(60),
    text: z.string().trim().min(1).max(2000),
    category: z.string().trim().max(32).nullable().optional(),
  })
  .strict();
export type CannedInput = z.infer<typeof cannedInput>;

export interface CannedRow {
  id: string;
  shortcut: string;
  title: string;
  text: string;
  category: string | null;
  updatedAt: Date;
}

/** {{name}} is the customer, {{agent}} the agent sending: filled in the console before sending. */
export const CANNED_VARIABLES = ['name', 'agent'];

export const presentCanned = (c: CannedRow) => ({ id: c.id, shortcut: c.shortcut, title: c.title, text: c.text, category: c.category, updatedAt: iso(c.updatedAt) });

export async function listCanned(q: Queryable): Promise<CannedRow[]> {
  return q<CannedRow[]>`select * from canned_responses order by category nulls last, shortcut`;
}

export async function saveCanned(q: Queryable, id: string | null, input: CannedInput, actorId: string): Promise<CannedRow> {
  if (id !== null && !isUuid(id)) throw notFound('快捷回复');
  try {
    const [row] = id
      ? await q<CannedRow[]>`update canned_responses set shortcut = ${input.shortcut}, title = ${input.title}, text = ${input.text},
                                category = ${input.category ?? null}, updated_at = now() where id = ${id} returning *`
      : await q<CannedRow[]>`insert into canned_responses (shortcut, title, text, category, created_by)
                             values (${input.shortcut}, ${input.title}, ${input.text}, ${input.category ?? null}, ${actorId}) returning *`;
    if (!row) throw notFound('快捷回复');
    return row;
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw conflict('duplicate_shortcut', `快捷指令 /${input.shortcut} 已存在`);
    throw err;
  }
}

export async function deleteCanned(q: Queryable, id: string): Promise<void> {
  if (!isUuid(id) || !(await q`delete from canned_responses where id = ${id}`).count) throw notFound('快捷回复');
}

export const DEFAULT_CANNED: CannedInput[] = [
  { shortcut: 'hi', title: '问候', text: '您好{{name}}，我是客服{{agent}}，很高兴为您服务～', category: '通用' },
  { shortcut: 'wait', title: '请稍等', text: '好的，请您稍等，我马上帮您查询一下～', category: '通用' },
  { shortcut: 'bye', title: '结束语', text: '感谢您的耐心，还有其他问题随时找我们哦，祝您生活愉快！', category: '通用' },
  { shortcut: 'wl', title: '物流查询', text: '已帮您查询，包裹正在运输中，预计 1-2 天送达，请留意快递员电话～', category: '物流' },
  { shortcut: 'th', title: '退货流程', text: '您可以在订单详情页点「申请售后」选择退货，寄回时请备注订单号，我们收到后 1-3 个工作日内退款。', category: '售后' },
  { shortcut: 'sorry', title: '致歉', text: '非常抱歉给您带来不便，这边马上为您处理，请您放心！', category: '通用' },
];
