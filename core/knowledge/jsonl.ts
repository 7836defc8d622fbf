import { z } from 'zod';
import { badRequest } from '../errors.ts';
import type { KbEntry } from './entries.ts';

const line = z.object({
  id: z.string().min(1).max(64),
  question: z.string().min(1).max(500),
  similar: z.array(z.string().min(1).max(500)).max(200).default([]),
  answer: z.string().min(1).max(4000),
  category: z.string().min(1).max(32).default('其他'),
});

/** Parses a KB in JSONL; every bad line is reported with its number and nothing is returned. */
export function parseKbJsonl(text: string): Omit<KbEntry, 'enabled'>[] {
  const out: Omit<KbEntry, 'enabled'>[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    if (!raw.trim()) return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      problems.push(`第 ${i + 1} 行：不是合法的 JSON`);
      return;
    }
    const parsed = line.safeParse(json);
    if (!parsed.success) {
      problems.push(`第 ${i + 1} 行：${parsed.error.issues.map((x) => `${x.path.join('.')} ${x.message}`).join('; ')}`);
      return;
    }
    if (seen.has(parsed.data.id)) problems.push(`第 ${i + 1} 行：id ${parsed.data.id} 重复`);
    seen.add(parsed.data.id);
    out.push(parsed.data);
  });
  if (problems.length) throw badRequest('invalid_kb', `知识库文件有 ${problems.length} 处错误`, problems);
  return out;
}
