import type { Queryable } from '../db/client.ts';

export interface KbEntry {
  id: string;
  category: string;
  question: string;
  similar: string[];
  answer: string;
  enabled: boolean;
}

export async function listEnabledEntries(q: Queryable): Promise<KbEntry[]> {
  return q<KbEntry[]>`select id, category, question, similar_questions as similar, answer, enabled from kb_entries where enabled order by id`;
}

export async function upsertEntries(q: Queryable, entries: Omit<KbEntry, 'enabled'>[]): Promise<void> {
  for (const e of entries) {
    await q`
      insert into kb_entries (id, category, question, similar_questions, answer)
      values (${e.id}, ${e.category}, ${e.question}, ${e.similar}, ${e.answer})
      on conflict (id) do update set category = excluded.category, question = excluded.question,
        similar_questions = excluded.similar_questions, answer = excluded.answer, updated_at = now()`;
  }
}

export async function recordHit(q: Queryable, id: string): Promise<void> {
  await q`update kb_entries set hits = hits + 1 where id = ${id}`;
}
