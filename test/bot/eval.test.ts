import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = mkdtempSync(path.join(tmpdir(), 'huike-bot-eval-'));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'bot/eval/cli.ts', ...args], { encoding: 'utf8' });

const KB = [
  { id: 'ship', question: '多久发货', similar: ['什么时候发货', '几天发货'], answer: '48 小时内发货' },
  { id: 'refund', question: '退款多久到账', similar: ['退款几天到'], answer: '1-3 个工作日' },
]
  .map((e) => JSON.stringify(e))
  .join('\n');

describe('npm run bot:eval', () => {
  it('prints one JSON line last with the contract keys, and the numbers follow the cases', () => {
    const cases = file(
      'cases.jsonl',
      [
        { text: '下单后几天发货', expect: 'ship' },
        { text: '退款什么时候到账', expect: 'refund' },
        { text: '今天天气怎么样', expect: null },
        { text: '推荐一部电影', expect: null },
      ]
        .map((c) => JSON.stringify(c))
        .join('\n'),
    );
    const r = run('--kb', file('kb.jsonl', KB), '--cases', cases);
    expect(r.status).toBe(0);
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(Object.keys(last).sort()).toEqual(['answered_precision', 'n', 'oos_rejection', 'p50_ms', 'p99_ms', 'top1']);
    expect(last).toMatchObject({ n: 4, top1: 1, oos_rejection: 1 });
    expect(last.p99_ms).toBeGreaterThanOrEqual(last.p50_ms);
  });

  it('counts an answered out-of-scope question against precision', () => {
    const cases = file('oos.jsonl', [JSON.stringify({ text: '多久发货', expect: null })].join('\n'));
    const last = JSON.parse(run('--kb', file('kb2.jsonl', KB), '--cases', cases).stdout.trim().split('\n').at(-1)!);
    expect(last).toMatchObject({ answered_precision: 0, oos_rejection: 0, n: 1 });
  });

  it('refuses a bad KB file, naming each bad line, and prints no result', () => {
    const bad = file('bad-kb.jsonl', `${JSON.stringify({ id: 'a', question: 'q', answer: 'a' })}\nnot json\n${JSON.stringify({ id: 'a', question: 'q2', answer: 'x' })}\n${JSON.stringify({ id: 'b' })}`);
    const r = run('--kb', bad, '--cases', file('c.jsonl', JSON.stringify({ text: 'x', expect: null })));
    expect(r.status).toBe(65);
    expect(r.stderr).toContain('第 2 行：不是合法的 JSON');
    expect(r.stderr).toContain('第 3 行：id a 重复');
    expect(r.stderr).toMatch(/第 4 行：.*question/);
    expect(r.stdout).toBe('');
  });

  it('refuses cases that point at ids the KB does not have, and bad usage', () => {
    const r = run('--kb', file('kb3.jsonl', KB), '--cases', file('c2.jsonl', `${JSON.stringify({ text: 'x', expect: 'nope' })}\n{"text": 1}`));
    expect(r.status).toBe(65);
    expect(r.stderr).toContain('第 1 行：知识库里没有 id「nope」');
    expect(r.stderr).toContain('第 2 行');
    expect(run('--kb', 'x').status).toBe(64);
  });

  it('--folds K measures the KB against its own similar questions, each held out once', () => {
    const r = run('--kb', file('kb-folds.jsonl', KB), '--folds', '2');
    expect(r.status).toBe(0);
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(Object.keys(last).sort()).toEqual(['answered_precision', 'n', 'oos_rejection', 'p50_ms', 'p99_ms', 'top1']);
    expect(last.n).toBe(3); // the KB has 3 similar questions; main questions are never held out
    expect(last.top1).toBeGreaterThan(0);
    expect(run('--kb', file('kb-folds2.jsonl', KB), '--folds', '1').status).toBe(64);
  });
});
