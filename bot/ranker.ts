/**
 * A discriminative second opinion on the retrieval's candidates: multinomial logistic regression from
 * features to KB entries, trained on every question and similar question of the KB.
 *
 * Cosine similarity treats every shared word alike. The classifier learns which words tell near-twin entries
 * apart (发票 + @when is inv-when, not inv-how; 棉 is about the fabric). On the KB's own questions held out four
 * ways it puts the right entry first more often than cosine with naive Bayes alone (README "The bot").
 *
 * Weights exist only for (feature, entry) pairs seen together in the KB, which are exactly the retrieval's
 * entry postings: the weights are one array aligned with them, and scoring a query is part of the
 * retrieval's single pass over its features' postings. Training is plain typed arrays in and out, so it can
 * run on a worker thread (ranker-worker.mjs) while the main thread keeps answering.
 */

const L2 = 1e-4;
const LEARNING_RATE = 0.5;
/** Small KBs get many passes; large ones fewer, as each pass already holds many examples per entry. */
const EXAMPLE_BUDGET = 24_000;
const MIN_EPOCHS = 3;
const MAX_EPOCHS = 30;
/** examples between yields to the event loop when training on the main thread */
const SLICE = 2000;
/** a character bigram counts half a word in the classifier's input; everything else counts 1 */
export const RANKER_BIGRAM_VALUE = 0.5;

export interface RankerProblem {
  classes: number;
  /** postings: feature f pairs with the entries cls[start[f]..start[f+1]) */
  start: Int32Array;
  cls: Int32Array;
  /** examples: example i has features ids[exStart[i]..exStart[i+1]) with values vals[...], label labels[i] */
  exStart: Int32Array;
  ids: Int32Array;
  vals: Float64Array;
  labels: Int32Array;
}

/** Trains in slices (the generator yields between them) and returns the weights, aligned with `cls`. */
export function* trainRanker(p: RankerProblem): Generator<void, Float64Array> {
  const w = new Float64Array(p.cls.length);
  const n = p.labels.length;
  if (!n || p.classes < 2) return w;
  const score = new Float64Array(p.classes);
  const stamp = new Uint32Array(p.classes);
  const touched = new Int32Array(p.classes);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const epochs = Math.max(MIN_EPOCHS, Math.min(MAX_EPOCHS, Math.round(EXAMPLE_BUDGET / n)));
  // a fixed seed: the same KB always trains the same model, on the main thread or a worker
  let seed = 1;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  let tick = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const rate = LEARNING_RATE / (1 + epoch * 0.1);
    for (let from = 0; from < n; from += SLICE) {
      tick = pass(p, w, order, from, Math.min(n, from + SLICE), rate, { score, stamp, touched, tick });
      yield;
    }
  }
  return w;
}

/** SGD steps over a slice of examples; outside the generator, which V8 optimizes less well. Returns the tick. */
function pass(
  p: RankerProblem,
  w: Float64Array,
  order: Int32Array,
  from: number,
  to: number,
  rate: number,
  s: { score: Float64Array; stamp: Uint32Array; touched: Int32Array; tick: number },
): number {
  const { start, cls, exStart, ids, vals, labels } = p;
  const { score, stamp, touched } = s;
  let tick = s.tick;
  for (let o = from; o < to; o++) {
    const e = order[o];
    const t = ++tick;
    let m = 0;
    for (let i = exStart[e]; i < exStart[e + 1]; i++) {
      const v = vals[i];
      for (let j = start[ids[i]], end = start[ids[i] + 1]; j < end; j++) {
        const k = cls[j];
        if (stamp[k] !== t) {
          stamp[k] = t;
          score[k] = 0;
          touched[m++] = k;
        }
        score[k] += w[j] * v;
      }
    }
    const { sum } = softmaxInPlace(score, touched, m, p.classes);
    const y = labels[e];
    // gradient of the softmax loss in place: p(k) - [k = y]
    for (let i = 0; i < m; i++) {
      const k = touched[i];
      score[k] = score[k] / sum - (k === y ? 1 : 0);
    }
    for (let i = exStart[e]; i < exStart[e + 1]; i++) {
      const v = vals[i];
      for (let j = start[ids[i]], end = start[ids[i] + 1]; j < end; j++) w[j] -= rate * (score[cls[j]] * v + L2 * w[j]);
    }
  }
  return tick;
}

/**
 * Turns the scores of the `m` touched classes into exp(score - max) in place and returns the normalizer over
 * all classes: the untouched ones all score 0, so they share exp(-max) each.
 */
export function softmaxInPlace(score: Float64Array, touched: Int32Array, m: number, classes: number): { max: number; sum: number } {
  let max = m < classes ? 0 : -Infinity;
  for (let i = 0; i < m; i++) max = Math.max(max, score[touched[i]]);
  let sum = (classes - m) * Math.exp(-max);
  for (let i = 0; i < m; i++) {
    const k = touched[i];
    score[k] = Math.exp(score[k] - max);
    sum += score[k];
  }
  return { max, sum };
}
