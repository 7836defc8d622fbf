import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { badRequest } from '../../core/errors.ts';
import { eachJsonlLine } from '../../core/jsonl.ts';
import type { KbEntry } from '../../core/knowledge/entries.ts';
import { decide, type Decision } from '../policy.ts';
import { Retriever } from '../retriever.ts';

export interface EvalCase {
  text: string;
  expect: string | null;
}

const caseLine = z.object({ text: z.string().min(1).max(500), expect: z.string().min(1).max(64).nullable() });

/** Parses eval cases (JSONL); bad lines and ids missing from the KB are reported with their line numbers. */
export function parseCases(text: string, kbIds: Set<string>): EvalCase[] {
  const out: EvalCase[] = [];
  const problems = eachJsonlLine(
    text,
    caseLine,
    (c, _n, problem) => {
      if (c.expect !== null && !kbIds.has(c.expect)) return problem(`知识库里没有 id「${c.expect}」`);
      out.push(c);
    },
    '需要 {"text": 文本, "expect": 知识库 id 或 null}',
  );
  if (problems.length) throw badRequest('invalid_cases', `测试用例文件有 ${problems.length} 处错误`, problems);
  if (!out.length) throw badRequest('invalid_cases', '测试用例文件是空的');
  return out;
}

export interface EvalReport {
  top1: number;
  answered_precision: number;
  oos_rejection: number;
  p50_ms: number;
  p99_ms: number;
  n: number;
}

export interface EvalMistake {
  text: string;
  expect: string | null;
  got: string;
  kind: Decision['kind'];
  score: number | null;
}

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;
const quantile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? 0;

interface Tally {
  inScope: number;
  top1: number;
  answered: number;
  answeredRight: number;
  oos: number;
  rejected: number;
  times: number[];
  mistakes: EvalMistake[];
}

/**
 * Runs every case through the same decision the live bot makes for a first message (no earlier misses).
 * top1: in-scope cases whose best candidate is the expected entry. answered_precision: of the cases the bot
 * answered outright, the share answered with the right entry (answering an out-of-scope case is wrong).
 * oos_rejection: out-of-scope cases the bot did not answer.
 */
export function evaluate(entries: KbEntry[], cases: EvalCase[], retriever = new Retriever(entries)): { report: EvalReport; mistakes: EvalMistake[] } {
  const t = tally(retriever, cases);
  return { report: reportOf([t]), mistakes: t.mistakes };
}

/**
 * The KB measured against itself, without hand-written cases: in fold f of k, every k-th similar question of each
 * entry (from the f-th on) is taken out of the KB and asked instead. Entries keep their main question, so none
 * disappears. The folds are pooled into one report (it has no out-of-scope cases: oos_rejection is 0).
 */
export function crossValidate(entries: KbEntry[], folds: number): EvalReport {
  const tallies: Tally[] = [];
  for (let f = 0; f < folds; f++) {
    const held: EvalCase[] = [];
    const kept = entries.map((e) => ({ ...e, similar: e.similar.filter((q, i) => (i % folds === f ? (held.push({ text: q, expect: e.id }), false) : true)) }));
    if (held.length) tallies.push(tally(new Retriever(kept), held));
  }
  return reportOf(tallies);
}

function tally(retriever: Retriever, cases: EvalCase[]): Tally {
  // warm up the segmenter and the JIT so the latency is the steady state a live node sees
  for (const c of cases.slice(0, 20)) decide(retriever, c.text, 0);
  const t: Tally = { inScope: 0, top1: 0, answered: 0, answeredRight: 0, oos: 0, rejected: 0, times: [], mistakes: [] };
  for (const c of cases) {
    const start = performance.now();
    const d = decide(retriever, c.text, 0);
    t.times.push(performance.now() - start);
    const best = d.kind === 'answer' ? d.candidate : d.kind === 'handoff' ? null : (d.candidates[0] ?? null);
    if (c.expect !== null) {
      t.inScope++;
      if (best?.entry.id === c.expect) t.top1++;
    } else {
      t.oos++;
      if (d.kind !== 'answer') t.rejected++;
    }
    if (d.kind === 'answer') {
      t.answered++;
      if (d.candidate.entry.id === c.expect) t.answeredRight++;
    }
    const wrong = c.expect === null ? d.kind === 'answer' : best?.entry.id !== c.expect || d.kind !== 'answer';
    if (wrong) t.mistakes.push({ text: c.text, expect: c.expect, got: best?.entry.id ?? '-', kind: d.kind, score: best ? round(best.score, 3) : null });
  }
  return t;
}

function reportOf(tallies: Tally[]): EvalReport {
  const sum = (k: 'inScope' | 'top1' | 'answered' | 'answeredRight' | 'oos' | 'rejected') => tallies.reduce((n, t) => n + t[k], 0);
  const times = tallies.flatMap((t) => t.times);
  const share = (a: number, b: number) => round(b ? a / b : 0);
  return {
    top1: share(sum('top1'), sum('inScope')),
    answered_precision: share(sum('answeredRight'), sum('answered')),
    oos_rejection: share(sum('rejected'), sum('oos')),
    p50_ms: round(quantile(times, 0.5), 3),
    p99_ms: round(quantile(times, 0.99), 3),
    n: sum('inScope') + sum('oos'),
  };
}
