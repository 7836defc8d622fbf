import type { z } from 'zod';

/**
 * Walks a JSONL text line by line: blank lines are skipped, bad JSON and schema failures become "第 N 行：…"
 * problems (with the schema's messages, or `describe` when given), and each valid line goes to `accept`, which
 * may add problems of its own (duplicates, unknown ids).
 */
export function eachJsonlLine<S extends z.ZodType>(
  text: string,
  schema: S,
  accept: (value: z.infer<S>, line: number, problem: (message: string) => void) => void,
  describe?: string,
): string[] {
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (!raw.trim()) return;
    const line = i + 1;
    const problem = (message: string) => problems.push(`第 ${line} 行：${message}`);
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return problem('不是合法的 JSON');
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) return problem(describe ?? parsed.error.issues.map((x) => `${x.path.join('.')} ${x.message}`).join('; '));
    accept(parsed.data, line, problem);
  });
  return problems;
}
