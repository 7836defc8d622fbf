import { readFileSync } from 'node:fs';
import { parseKbJsonl } from '../../core/knowledge/jsonl.ts';
import { isAppError } from '../../core/errors.ts';
import { crossValidate, evaluate, parseCases } from './evaluate.ts';

const USAGE = '用法 / usage: npm run bot:eval -- --kb KB.jsonl (--cases CASES.jsonl [--mistakes] | --folds K)';

/**
 * `npm run bot:eval` / `huike bot-eval`: prints the mistakes (with --mistakes), then one JSON line last. With
 * `--folds K` instead of `--cases`, the KB is measured against its own similar questions.
 */
export function botEval(argv: string[]): number {
  const arg = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const kbFile = arg('kb');
  const casesFile = arg('cases');
  const folds = arg('folds') === undefined ? null : Number(arg('folds'));
  if (!kbFile || (!casesFile && folds === null) || (folds !== null && !(Number.isInteger(folds) && folds >= 2 && folds <= 20))) {
    console.error(USAGE + (folds !== null ? '\n--folds 需要 2 到 20 的整数' : ''));
    return 64;
  }
  try {
    const entries = parseKbJsonl(readFileSync(kbFile, 'utf8')).map((e) => ({ ...e, enabled: true }));
    // no cases: the KB's own similar questions, held out fold by fold
    if (!casesFile) {
      console.log(JSON.stringify(crossValidate(entries, folds!)));
      return 0;
    }
    const cases = parseCases(readFileSync(casesFile, 'utf8'), new Set(entries.map((e) => e.id)));
    const { report, mistakes } = evaluate(entries, cases);
    if (argv.includes('--mistakes'))
      for (const m of mistakes) console.log(`✗ ${m.text}  期望 ${m.expect ?? '拒答'} · 得到 ${m.kind} ${m.got} (${m.score ?? '-'})`);
    console.log(JSON.stringify(report));
    return 0;
  } catch (err) {
    if (isAppError(err)) {
      console.error(`${err.message}\n${((err.details as string[]) ?? []).map((d) => `  ${d}`).join('\n')}`);
      return 65;
    }
    console.error(`bot:eval 失败：${(err as Error).message}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = botEval(process.argv.slice(2));
