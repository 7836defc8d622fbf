// `npx tsx test/bench/ab.mts <base-ref> [pairs]`: the scale bench of an earlier commit against the working tree,
// in interleaved pairs (base, then this tree, `pairs` times; 4 by default). The machine's speed drifts by a fifth
// within minutes, so only runs side by side compare code. The base runs from a git worktree in the temp dir that
// shares this tree's node_modules, removed at the end; each run's whole output is kept in the printed log dir.
// The environment passes through (DATABASE_URL, SCALE_*).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const [ref, pairsArg] = process.argv.slice(2);
if (!ref) {
  console.error('usage: npx tsx test/bench/ab.mts <base-ref> [pairs]');
  process.exit(2);
}
const pairs = Number(pairsArg ?? 4);
const here = process.cwd();
const git = (...args: string[]) => execFileSync('git', args, { cwd: here, encoding: 'utf8' }).trim();
const commit = git('rev-parse', '--verify', `${ref}^{commit}`);
const logs = mkdtempSync(path.join(tmpdir(), 'huike-ab-logs-'));
const base = path.join(tmpdir(), `huike-ab-${commit.slice(0, 10)}-${process.pid}`);
git('worktree', 'add', '--detach', base, commit);

/** the figures of one run's table: by the start of a row's name, the value cell */
function figures(out: string) {
  const cell = (start: string) => out.split('\n').find((l) => l.trimStart().startsWith(start))?.split(' | ')[1]?.trim() ?? '-';
  const lead = (s: string) => s.match(/^[\d.]+/)?.[0] ?? '-';
  const p = (s: string) => s.match(/p50 ([\d.]+) ms \/ p99 ([\d.]+) ms/)?.slice(1).join('/') ?? '-';
  const atWechat = out.split('\n').filter((l) => l.includes('the answer at WeChat')).at(-1)?.split(' | ')[1] ?? '';
  return {
    floor: lead(cell('floor:')),
    socket: lead(cell('Huike end to end')),
    sustained: lead(cell('the same rounds until every answer')),
    ratio: lead(cell('Huike / floor')),
    'ratio sent': lead(cell('the same, every answer also sent')),
    'cpu × floor': cell('server CPU per message').match(/\(([\d.]+)×\)/)?.[1] ?? '-',
    // the machine's CPU a message with every answer sent, and how busy the cores were (bases before 868245f: '-')
    'machine/msg': cell('machine CPU per message, floor / Huike').match(/\/ ([\d.]+) ms/)?.[1] ?? '-',
    busy: cell('machine CPU per message, floor / Huike').match(/busy [\d.]+ \/ ([\d.]+) %/)?.[1] ?? '-',
    'p99@1000': p(cell('Huike at a fixed 1000')).split('/')[1] ?? '-',
    'WeChat@1000': p(atWechat),
    rss: lead(cell('gateway RSS (its own process)')),
  };
}

const rows: { run: string; f: ReturnType<typeof figures> }[] = [];
try {
  symlinkSync(path.join(here, 'node_modules'), path.join(base, 'node_modules'));
  for (let i = 1; i <= pairs; i++)
    for (const [side, cwd] of [['base', base], ['this', here]] as const) {
      const r = spawnSync('npm', ['run', 'bench', '--', 'scale'], { cwd, encoding: 'utf8', env: process.env, maxBuffer: 64 << 20 });
      writeFileSync(path.join(logs, `${side}-${i}.log`), r.stdout + r.stderr);
      rows.push({ run: `${side} ${i}`, f: figures(r.stdout) });
      console.error(`${side} ${i}: ${JSON.stringify(rows.at(-1)!.f)}`);
    }
} finally {
  git('worktree', 'remove', '--force', base);
}
const keys = Object.keys(rows[0]?.f ?? {}) as (keyof ReturnType<typeof figures>)[];
console.log(`\nbase ${commit.slice(0, 10)} against this tree, ${pairs} pairs (logs in ${logs})`);
console.log(['run', ...keys].join(' | '));
for (const r of rows) console.log([r.run, ...keys.map((k) => r.f[k])].join(' | '));
