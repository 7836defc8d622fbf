import { z } from 'zod';
import { badRequest } from '../errors.ts';
import { eachJsonlLine } from '../jsonl.ts';
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
  const seen = new Set<string>();
  const problems = eachJsonlLine(text, line, (entry, _n, problem) => {
    if (seen.has(entry.id)) problem(`id ${entry.id} 重复`);
    seen.add(entry.id);
    out.push(entry);
  });
  if (problems.length) throw badRequest('invalid_kb', `知识库文件有 ${problems.length} 处错误`, problems);
  return out;
}
