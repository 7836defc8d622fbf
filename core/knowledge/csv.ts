import { parse } from 'csv-parse/sync';
import { badRequest } from '../errors.ts';
import type { KbEntry } from './entries.ts';
import { entryInput } from './entries.ts';

const HEADER = ['id', 'category', 'question', 'similar', 'answer', 'enabled'];

/** KB as CSV: similar questions joined with "|", enabled as 1/0. Opens in Excel with the BOM. */
export function toKbCsv(entries: KbEntry[]): string {
  const cell = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  const rows = entries.map((e) => [e.id, e.category, e.question, e.similar.join('|'), e.answer, e.enabled ? '1' : '0'].map(cell).join(','));
  return `\uFEFF${HEADER.join(',')}\n${rows.join('\n')}\n`;
}

/** Parses a KB CSV; every bad row is reported with its line number and nothing is returned. */
export function parseKbCsv(text: string): KbEntry[] {
  let records: Record<string, string>[];
  try {
    records = parse(text, { columns: true, bom: true, skip_empty_lines: true, trim: true });
  } catch (err) {
    throw badRequest('invalid_kb', `CSV 无法解析：${(err as Error).message}`);
  }
  const problems: string[] = [];
  const out: KbEntry[] = [];
  const seen = new Set<string>();
  records.forEach((r, i) => {
    const line = i + 2;
    const p = entryInput.safeParse({
      id: r.id,
      category: r.category || '其他',
      question: r.question,
      similar: (r.similar ?? '').split('|').map((s) => s.trim()).filter(Boolean),
      answer: r.answer,
      enabled: r.enabled === undefined || r.enabled === '' ? true : r.enabled === '1' || r.enabled.toLowerCase() === 'true',
    });
    if (!p.success) return void problems.push(`第 ${line} 行：${p.error.issues.map((x) => `${x.path.join('.')} ${x.message}`).join('; ')}`);
    if (seen.has(p.data.id)) return void problems.push(`第 ${line} 行：id ${p.data.id} 重复`);
    seen.add(p.data.id);
    out.push(p.data);
  });
  if (problems.length) throw badRequest('invalid_kb', `知识库文件有 ${problems.length} 处错误`, problems);
  return out;
}
