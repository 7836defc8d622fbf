// Summarises a V8 CPU profile written by `SCALE_PROF=huike npm run bench -- scale` (in /tmp/scale-prof): self time
// by package and by function, over the whole profile or over a window of it. V8's profile names functions reliably
// (perf's JIT maps can put samples on code V8 has since moved) but counts wall time, idle included.
//
//   node test/bench/cpuprofile-summary.mjs <file.cpuprofile> [--last S] [--for S] [--top N]
//
// --last S: start the window S seconds before the profile ends (the gateway's first process ends with the
// fixed-rate phases: `--last 11 --for 9` is the 1,000 msgs/s phase of a default run); --for S: the window's length.
// Our functions' lines are those of the compiled bundle the gateway ran (node_modules/.cache/huike/scale-node-*.mjs).
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--') && !/^\d/.test(a));
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(args[i + 1]);
};
if (!file) {
  console.error('usage: node test/bench/cpuprofile-summary.mjs <file.cpuprofile> [--last S] [--for S] [--top N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
let at = profile.startTime;
const times = profile.timeDeltas.map((d) => (at += d));
const last = opt('last', null);
const from = last === null ? profile.startTime : profile.endTime - last * 1e6;
const to = from + opt('for', Infinity) * 1e6;

/** node_modules/<pkg>, node:<module>, ours (the compiled bundle or our sources), or V8's own entries (GC, idle) */
function owner(url, name) {
  const u = url.replace(/^file:\/\//, '');
  if (!u) return name;
  if (u.includes('/.cache/huike/') || !u.includes('node_modules/')) return u.startsWith('node:') ? u.split('/')[0] : 'ours';
  const rest = u.split('node_modules/').pop().split('/');
  return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
}

const byOwner = new Map();
const byFunction = new Map();
let total = 0;
let idle = 0;
for (let i = 0; i < profile.samples.length; i++) {
  if (times[i] < from || times[i] > to) continue;
  const dt = profile.timeDeltas[i + 1] ?? 0;
  const { callFrame: f } = nodes.get(profile.samples[i]);
  total += dt;
  if (f.functionName === '(idle)') {
    idle += dt;
    continue;
  }
  const who = owner(f.url, f.functionName);
  byOwner.set(who, (byOwner.get(who) ?? 0) + dt);
  const key = `${who}  ${f.functionName || '(anonymous)'}:${f.lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + dt);
}
const busy = total - idle;
const show = (title, m, n) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${((v / busy) * 100).toFixed(1).padStart(6)} %  ${k}`);
};
console.log(`${(total / 1e6).toFixed(1)} s of samples, busy ${((busy / total) * 100).toFixed(0)} % (shares below are of the busy time)`);
show('by package', byOwner, 15);
show('by function (self time)', byFunction, opt('top', 40));
