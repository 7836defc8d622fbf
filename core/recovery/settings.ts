import { z } from 'zod';
import type { Queryable } from '../db/client.ts';
import { badRequest } from '../errors.ts';
import { zonedParts } from '../time.ts';

const KEY = 'recovery_settings';
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, '时间格式为 HH:MM');

/** Guard rails shared by every playbook: how often a customer may be written to, when not, and how to say stop. */
export const recoverySettingsSchema = z
  .object({
    /** messages sent by playbooks to one customer, all playbooks together */
    maxPerDay: z.number().int().min(0).max(20).default(1),
    maxPerWeek: z.number().int().min(0).max(50).default(3),
    /** no message to customers in these local hours; runs due then wait until the end */
    quietHours: z.object({ start: hhmm, end: hhmm }).nullable().default({ start: '22:00', end: '08:00' }),
    timezone: z.string().min(1).max(64).default('Asia/Shanghai'),
    /** a customer message that is exactly one of these (case, spaces and punctuation aside) opts out */
    optOutKeywords: z.array(z.string().trim().min(1).max(20)).min(1).max(50).default(['退订', 'TD', 'T', '取消订阅', '不要再发了', '别再发了', '拒收']),
    /** appended to every playbook message, so the customer knows how to stop them */
    optOutFooter: z.string().max(60).default('回复“退订”不再接收'),
  })
  .strict()
  .refine((s) => !s.quietHours || s.quietHours.start !== s.quietHours.end, { message: '免打扰开始和结束时间不能相同', path: ['quietHours'] })
  .refine((s) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: s.timezone });
      return true;
    } catch {
      return false;
    }
  }, { message: '未知时区', path: ['timezone'] });
export type RecoverySettings = z.infer<typeof recoverySettingsSchema>;

export const DEFAULT_RECOVERY_SETTINGS: RecoverySettings = recoverySettingsSchema.parse({});

export async function loadRecoverySettings(q: Queryable): Promise<RecoverySettings> {
  const [row] = await q<{ value: unknown }[]>`select value from settings where key = ${KEY}`;
  const parsed = row ? recoverySettingsSchema.safeParse(row.value) : null;
  return parsed?.success ? parsed.data : DEFAULT_RECOVERY_SETTINGS;
}

export async function saveRecoverySettings(q: Queryable, input: unknown, actorId: string | null): Promise<RecoverySettings> {
  const parsed = recoverySettingsSchema.safeParse(input);
  if (!parsed.success)
    throw badRequest('invalid_settings', '挽回设置格式不正确', parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  await q`
    insert into settings (key, value, updated_by) values (${KEY}, ${q.json(parsed.data as never)}, ${actorId})
    on conflict (key) do update set value = excluded.value, updated_by = excluded.updated_by, updated_at = now()`;
  return parsed.data;
}

const toMinutes = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));

/**
 * When a message due at `at` may go out: `at` itself, or the end of the quiet hours it falls in.
 * Quiet hours may wrap midnight (22:00-08:00).
 */
export function afterQuietHours(at: Date, s: Pick<RecoverySettings, 'quietHours' | 'timezone'>): Date {
  if (!s.quietHours) return at;
  const start = toMinutes(s.quietHours.start);
  const end = toMinutes(s.quietHours.end);
  const m = zonedParts(at, s.timezone).minutes;
  const quiet = start < end ? m >= start && m < end : m >= start || m < end;
  if (!quiet) return at;
  const wait = (end - m + 24 * 60) % (24 * 60);
  // whole minutes: the wall clock's seconds are dropped so the message leaves at 08:00, not 08:00:59
  const t = new Date(at.getTime() + wait * 60_000);
  t.setUTCSeconds(0, 0);
  return t;
}

const fold = (s: string) => s.normalize('NFKC').toUpperCase().replace(/[\s\p{P}\p{S}]/gu, '');

const foldedKeywords = new WeakMap<string[], Set<string>>();

/** Whether a customer message is a request to stop marketing messages. */
export function isOptOut(text: string | null | undefined, s: Pick<RecoverySettings, 'optOutKeywords'>): boolean {
  if (!text || text.length > 30) return false;
  const t = fold(text);
  if (!t) return false;
  // every inbound message is checked: the folded keywords are kept per keyword list
  let folded = foldedKeywords.get(s.optOutKeywords);
  if (!folded) foldedKeywords.set(s.optOutKeywords, (folded = new Set(s.optOutKeywords.map(fold))));
  return folded.has(t);
}
