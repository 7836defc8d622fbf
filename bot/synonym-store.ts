import { z } from 'zod';
import type { Queryable } from '../core/db/client.ts';
import { badRequest } from '../core/errors.ts';
import { DEFAULT_SYNONYMS, Synonyms } from './synonyms.ts';

const KEY = 'bot_synonyms';
export const synonymGroups = z.record(z.string().trim().min(1).max(20), z.array(z.string().trim().min(1).max(20)).max(50)).refine((g) => Object.keys(g).length <= 500, '最多 500 组');

/** The shop's own synonym groups on top of the defaults (a shop group with the same canonical word replaces it). */
export async function loadSynonyms(q: Queryable): Promise<Synonyms> {
  return new Synonyms({ ...DEFAULT_SYNONYMS, ...(await shopSynonyms(q)) });
}

export async function shopSynonyms(q: Queryable): Promise<Record<string, string[]>> {
  const [row] = await q<{ value: unknown }[]>`select value from settings where key = ${KEY}`;
  const parsed = row ? synonymGroups.safeParse(row.value) : null;
  return parsed?.success ? parsed.data : {};
}

export async function saveSynonyms(q: Queryable, input: unknown, actorId: string): Promise<Record<string, string[]>> {
  const parsed = synonymGroups.safeParse(input);
  if (!parsed.success) throw badRequest('invalid_synonyms', '同义词格式应为 {"标准词": ["说法1", "说法2"]}');
  await q`
    insert into settings (key, value, updated_by) values (${KEY}, ${q.json(parsed.data as never)}, ${actorId})
    on conflict (key) do update set value = excluded.value, updated_by = excluded.updated_by, updated_at = now()`;
  return parsed.data;
}
