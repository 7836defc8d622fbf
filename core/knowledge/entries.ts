import { z } from 'zod';
import type { Queryable } from '../db/client.ts';
import { badRequest, conflict, notFound } from '../errors.ts';

export interface KbEntry {
  id: string;
  category: string;
  question: string;
  similar: string[];
  answer: string;
  enabled: boolean;
}

export interface KbEntryRow extends KbEntry {
  hits: number;
  updatedAt: Date;
  createdAt: Date;
}

const text = (max: number) => z.string().trim().min(1).max(max);
export const entryInput = z.object({
  id: z.string().trim().regex(/^[A-Za-z0-9_-]{1,64}$/, 'id 只能是 1-64 位字母、数字、下划线或连字符'),
  category: text(32),
  question: text(500),
  similar: z.array(text(500)).max(200).default([]),
  answer: text(4000),
  enabled: z.boolean().default(true),
});
export type EntryInput = z.infer<typeof entryInput>;
export const entryPatch = entryInput.omit({ id: true }).partial();

const COLUMNS = 'id, category, question, similar_questions as similar, answer, enabled, hits, updated_at, created_at';

export async function listEnabledEntries(q: Queryable): Promise<KbEntry[]> {
  return q<KbEntry[]>`select id, category, question, similar_questions as similar, answer, enabled from kb_entries where enabled order by id`;
}

export async function listEntries(q: Queryable, f: { q?: string; category?: string; enabled?: boolean } = {}): Promise<KbEntryRow[]> {
  const like = f.q ? `%${f.q.replace(/[%_\\]/g, (c) => `\\${c}`)}%` : null;
  return q<KbEntryRow[]>`
    select ${q.unsafe(COLUMNS)} from kb_entries
     where (${f.category ?? null}::text is null or category = ${f.category ?? null})
       and (${f.enabled ?? null}::boolean is null or enabled = ${f.enabled ?? null})
       and (${like}::text is null or question ilike ${like} or answer ilike ${like} or array_to_string(similar_questions, ' ') ilike ${like})
     order by category, id`;
}

export async function getEntry(q: Queryable, id: string): Promise<KbEntryRow> {
  const [row] = await q<KbEntryRow[]>`select ${q.unsafe(COLUMNS)} from kb_entries where id = ${id}`;
  if (!row) throw notFound('知识条目');
  return row;
}

export async function createEntry(q: Queryable, e: EntryInput): Promise<KbEntryRow> {
  const [row] = await q<KbEntryRow[]>`
    insert into kb_entries (id, category, question, similar_questions, answer, enabled)
    values (${e.id}, ${e.category}, ${e.question}, ${dedupe(e.similar, e.question)}, ${e.answer}, ${e.enabled})
    on conflict (id) do nothing
    returning ${q.unsafe(COLUMNS)}`;
  if (!row) throw conflict('duplicate_id', `已有 id 为 ${e.id} 的条目`);
  return row;
}

export async function updateEntry(q: Queryable, id: string, p: z.infer<typeof entryPatch>): Promise<KbEntryRow> {
  const cur = await getEntry(q, id);
  const question = p.question ?? cur.question;
  const [row] = await q<KbEntryRow[]>`
    update kb_entries set category = ${p.category ?? cur.category}, question = ${question},
           similar_questions = ${dedupe(p.similar ?? cur.similar, question)}, answer = ${p.answer ?? cur.answer},
           enabled = ${p.enabled ?? cur.enabled}, updated_at = now()
     where id = ${id} returning ${q.unsafe(COLUMNS)}`;
  return row;
}

export async function deleteEntry(q: Queryable, id: string): Promise<void> {
  const r = await q`delete from kb_entries where id = ${id}`;
  if (r.count === 0) throw notFound('知识条目');
}

/** One step from an unanswered question to knowledge: it becomes a similar question of an entry. */
export async function addSimilar(q: Queryable, id: string, question: string): Promise<KbEntryRow> {
  const cur = await getEntry(q, id);
  return updateEntry(q, id, { similar: [...cur.similar, question.trim()] });
}

export async function upsertEntries(q: Queryable, entries: Omit<KbEntry, 'enabled'>[] | KbEntry[]): Promise<void> {
  for (const e of entries) {
    const enabled = 'enabled' in e ? e.enabled : true;
    await q`
      insert into kb_entries (id, category, question, similar_questions, answer, enabled)
      values (${e.id}, ${e.category}, ${e.question}, ${e.similar}, ${e.answer}, ${enabled})
      on conflict (id) do update set category = excluded.category, question = excluded.question,
        similar_questions = excluded.similar_questions, answer = excluded.answer, enabled = excluded.enabled, updated_at = now()`;
  }
}

export async function recordHits(q: Queryable, counts: Map<string, number>): Promise<void> {
  if (!counts.size) return;
  await q`update kb_entries k set hits = k.hits + v.n
            from (select * from unnest(${[...counts.keys()]}::text[], ${[...counts.values()]}::int[]) as t(id, n)) v
           where k.id = v.id`;
}

/** Counts answers per entry in memory and writes them every few seconds: statistics, not worth a write per answer. */
export class HitCounter {
  private counts = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly q: Queryable,
    private readonly onError: (err: unknown) => void,
    private readonly everyMs = 3000,
  ) {}

  add(id: string): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    this.timer ??= setTimeout(() => void this.flush(), this.everyMs);
  }

  /** Writes what was counted so far (and waits for a write under way). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const counts = this.counts;
    this.counts = new Map();
    this.writing = this.writing.then(() => recordHits(this.q, counts)).catch(this.onError);
    await this.writing;
  }

  close(): Promise<void> {
    return this.flush();
  }
}

export async function categories(q: Queryable): Promise<{ category: string; entries: number }[]> {
  return q`select category, count(*)::int as entries from kb_entries group by category order by category`;
}

function dedupe(similar: string[], question: string): string[] {
  const seen = new Set([question.trim()]);
  const out: string[] = [];
  for (const s of similar.map((x) => x.trim()).filter(Boolean)) if (!seen.has(s)) seen.add(s) && out.push(s);
  if (out.length > 200) throw badRequest('too_many_similar', '相似问法最多 200 条');
  return out;
}
