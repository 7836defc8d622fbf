import type { KbEntry } from '../core/knowledge/entries.ts';
import { RANKER_BIGRAM_VALUE, softmaxInPlace, trainRanker, type RankerProblem } from './ranker.ts';
import { trainOffThread, type Training } from './ranker-thread.ts';
import { features, featuresOfAll } from './segment.ts';
import { Synonyms } from './synonyms.ts';

// Tuned on the eval sets dev..heldout4 and on the KB's own questions held out four ways; heldout5 was written
// before and measured once after (README "The bot").
const BIGRAM_WEIGHT = 0.4;
const CHAR_WEIGHT = 0.5;
const ASK_WEIGHT = 0.5;
/** share of an entry's score that comes from all its questions pooled, the rest from its best single question */
const CENTROID_MIX = 0.5;
/** how much the naive Bayes and the logistic ranker may reorder the candidates (their probabilities, 0..1) */
const BAYES_WEIGHT = 0.5;
const RANKER_WEIGHT = 0.5;
const RERANK_POOL = 10;
/**
 * Entries, best by their pooled vector, whose single questions are scored one by one. The pooled score is
 * half of the total and moves with the best question's, so the top 10 come from well inside these.
 */
const EXACT_POOL = 64;
/**
 * Up to this many questions the ranker trains on the main thread, in slices, before the index goes live (the
 * demo KB's 700 take about 150 ms); a thread would take longer just to start. Above, it trains on a worker.
 */
const INLINE_RANKER = 2000;

/** bigrams and characters back words up (typos, unknown names) but should not outvote them */
const retrievalWeight = (f: string) => (f.startsWith('#') ? BIGRAM_WEIGHT : f.startsWith('.') ? CHAR_WEIGHT : f.startsWith('@') ? ASK_WEIGHT : 1);
/** unknown bigrams and characters are mostly typos (退欵 -> #退欵, .欵): the words carry the out-of-scope signal */
const isBackup = (f: string) => f.startsWith('#') || f.startsWith('.');

export interface Candidate {
  entry: KbEntry;
  /** Cosine similarity of TF-IDF vectors, 0..1: half the best-matching question, half all questions pooled. */
  score: number;
  matched: string;
}

interface Prepared {
  entry: KbEntry;
  text: string;
  feats: string[];
}

/**
 * TF-IDF over each entry's question and its similar questions, reordered by naive Bayes and a logistic ranker.
 * Cosine keeps scores in 0..1 whatever the KB size, which makes a fixed confidence threshold meaningful.
 *
 * Features are numbered once; an entry's pooled vector, its naive Bayes counts and its ranker weights sit in
 * one set of postings (feature -> entries), so a query makes one pass over its features' postings and then
 * scores single questions only for the entries that pass brings up.
 */
export class Retriever {
  readonly synonyms: Synonyms;
  /** resolves when the learned ranker has joined (at once for `new Retriever`), or its training was cancelled */
  rankerReady: Promise<void> = Promise.resolve();

  private entries: KbEntry[] = [];
  private vocab = new Map<string, number>();
  private idf = new Float64Array(0);
  private kindWeight = new Float64Array(0);
  private rankerValue = new Float64Array(0);
  /** the weight of a word the KB has never seen: as rare as can be */
  private unknownIdf = 1;
  /** docs (questions) grouped by entry: entry e owns docs entryDocs[e]..entryDocs[e+1] */
  private entryDocs = new Int32Array(1);
  private docText: string[] = [];
  private docStart = new Int32Array(1);
  private docFeat = new Int32Array(0);
  private docCount = new Int32Array(0);
  private docW = new Float64Array(0);
  /** postings: feature f -> entries cls[start[f]..start[f+1]), with pooled weight, log(count+1) and ranker weight */
  private start = new Int32Array(1);
  private cls = new Int32Array(0);
  private pooledW = new Float64Array(0);
  private logCount = new Float64Array(0);
  /** aligned with `cls`; zeros until the ranker has joined */
  private rankerW: Float64Array = new Float64Array(0);
  private ranked = false;
  /** per entry: how many features its questions hold (naive Bayes) */
  private featTotal = new Float64Array(0);
  private training: Training | null = null;
  private scratch!: ReturnType<typeof scratchFor>;

  /** At once, ranker included; `ranker: false` leaves it out (to measure what it adds). */
  constructor(entries: KbEntry[], opts: { synonyms?: Synonyms; ranker?: boolean } = {}) {
    this.synonyms = opts.synonyms ?? new Synonyms();
    const steps = this.steps(questionsOf(entries).map((t) => ({ ...t, feats: features(t.text, this.synonyms) })));
    for (let s = steps.next(); !s.done; s = steps.next());
    if (opts.ranker === false) return;
    const train = trainRanker(this.rankerProblem());
    let s = train.next();
    while (!s.done) s = train.next();
    this.join(s.value);
  }

  /**
   * Builds an index without holding the event loop: segmentation runs in slices of `slice` texts, the index in
   * steps, each followed by a yield. The ranker trains here too, in slices, for a KB of up to INLINE_RANKER
   * questions. A larger KB's ranker trains on a worker thread: the index answers as soon as it is complete, with
   * naive Bayes alone reordering, and the ranker joins when ready (`rankerReady`).
   */
  static async build(
    entries: KbEntry[],
    opts: { synonyms?: Synonyms; slice?: number; feats?: string[][]; ranker?: 'auto' | 'inline' | 'thread' } = {},
  ): Promise<Retriever> {
    const r = new Retriever([], { synonyms: opts.synonyms });
    const texts = questionsOf(entries);
    // `feats`: the caller segmented already (the bot shares them with the intent classifier)
    const feats = opts.feats ?? (await featuresOfAll(texts.map((t) => t.text), r.synonyms, opts.slice));
    const prepared = texts.map((t, i) => ({ ...t, feats: feats[i] }));
    const pause = () => new Promise((res) => setImmediate(res));
    for (const _ of r.steps(prepared)) await pause();
    const where = opts.ranker ?? 'auto';
    if (where === 'inline' || (where === 'auto' && texts.length <= INLINE_RANKER)) {
      const steps = trainRanker(r.rankerProblem());
      let s = steps.next();
      for (; !s.done; s = steps.next()) await pause();
      r.join(s.value);
      return r;
    }
    const training = trainOffThread(r.rankerProblem());
    r.training = training;
    // rejected only when cancelled: this index was replaced before its ranker arrived
    r.rankerReady = training.weights.then((w) => r.join(w), () => undefined);
    return r;
  }

  private join(weights: Float64Array): void {
    this.rankerW = weights;
    this.ranked = true;
  }

  /** Stops a ranker training still running for an index that has been replaced. */
  dispose(): void {
    this.training?.cancel();
  }

  get size(): number {
    return this.docText.length;
  }

  /** The build after segmentation, as resumable steps (a generator yields between slices of work). */
  private *steps(prepared: Prepared[], slice = 1000): Generator<void> {
    const N = prepared.length;
    // documents of one entry are contiguous (callers list each entry's questions together)
    const byEntry = new Map<string, number>();
    const docEntry = new Int32Array(N);
    prepared.forEach((d, i) => {
      let e = byEntry.get(d.entry.id);
      if (e === undefined) {
        byEntry.set(d.entry.id, (e = this.entries.length));
        this.entries.push(d.entry);
      }
      docEntry[i] = e;
    });
    const E = this.entries.length;
    this.entryDocs = new Int32Array(E + 1);
    for (const e of docEntry) this.entryDocs[e + 1]++;
    for (let e = 0; e < E; e++) this.entryDocs[e + 1] += this.entryDocs[e];

    // number the features; per document its distinct features and their counts, in flat arrays
    const df: number[] = [];
    const lastDoc: number[] = [];
    const slot: number[] = [];
    const ids: number[] = [];
    const counts: number[] = [];
    this.docStart = new Int32Array(N + 1);
    for (let d = 0; d < N; d++) {
      for (const f of prepared[d].feats) {
        let id = this.vocab.get(f);
        if (id === undefined) {
          this.vocab.set(f, (id = df.length));
          df.push(0);
          lastDoc.push(-1);
          slot.push(0);
        }
        if (lastDoc[id] === d) counts[slot[id]]++;
        else {
          lastDoc[id] = d;
          slot[id] = ids.length;
          ids.push(id);
          counts.push(1);
          df[id]++;
        }
      }
      this.docStart[d + 1] = ids.length;
      if (d % slice === slice - 1) yield;
    }
    this.docText = prepared.map((d) => d.text);
    this.docFeat = Int32Array.from(ids);
    this.docCount = Int32Array.from(counts);
    const V = df.length;
    this.idf = Float64Array.from(df, (n) => Math.log(1 + N / n));
    this.unknownIdf = Math.log(1 + N / 0.5);
    this.kindWeight = new Float64Array(V);
    this.rankerValue = new Float64Array(V);
    for (const [f, id] of this.vocab) {
      this.kindWeight[id] = retrievalWeight(f);
      this.rankerValue[id] = f.startsWith('#') ? RANKER_BIGRAM_VALUE : 1;
    }
    this.scratch = scratchFor(E, V);
    yield;

    // single questions as normalized TF-IDF vectors
    this.docW = new Float64Array(ids.length);
    for (let d = 0; d < N; d++) {
      let norm = 0;
      for (let i = this.docStart[d]; i < this.docStart[d + 1]; i++) {
        const id = this.docFeat[i];
        this.docW[i] = (1 + Math.log(this.docCount[i])) * this.idf[id] * this.kindWeight[id];
        norm += this.docW[i] ** 2;
      }
      norm = Math.sqrt(norm) || 1;
      for (let i = this.docStart[d]; i < this.docStart[d + 1]; i++) this.docW[i] /= norm;
      if (d % (4 * slice) === 4 * slice - 1) yield;
    }
    yield;

    // per entry: its questions pooled into one normalized vector, and its feature counts, as postings
    const pooled = new Float64Array(V);
    const count = new Float64Array(V);
    const seen = new Int32Array(V).fill(-1);
    const pairEntry: number[] = [];
    const pairFeat: number[] = [];
    const pairW: number[] = [];
    const pairCount: number[] = [];
    this.featTotal = new Float64Array(E);
    for (let e = 0; e < E; e++) {
      const first = pairFeat.length;
      for (let i = this.docStart[this.entryDocs[e]]; i < this.docStart[this.entryDocs[e + 1]]; i++) {
        const id = this.docFeat[i];
        if (seen[id] !== e) {
          seen[id] = e;
          pooled[id] = 0;
          count[id] = 0;
          pairFeat.push(id);
        }
        pooled[id] += this.docW[i];
        count[id] += this.docCount[i];
        this.featTotal[e] += this.docCount[i];
      }
      let norm = 0;
      for (let p = first; p < pairFeat.length; p++) norm += pooled[pairFeat[p]] ** 2;
      norm = Math.sqrt(norm) || 1;
      for (let p = first; p < pairFeat.length; p++) {
        pairEntry.push(e);
        pairW.push(pooled[pairFeat[p]] / norm);
        pairCount.push(count[pairFeat[p]]);
      }
      if (e % 200 === 199) yield;
    }
    yield;
    const P = pairFeat.length;
    this.start = new Int32Array(V + 1);
    for (const f of pairFeat) this.start[f + 1]++;
    for (let f = 0; f < V; f++) this.start[f + 1] += this.start[f];
    const fill = this.start.slice(0, V);
    this.cls = new Int32Array(P);
    this.pooledW = new Float64Array(P);
    this.logCount = new Float64Array(P);
    this.rankerW = new Float64Array(P);
    this.ranked = false;
    // pairs come entry by entry, so each feature's entries stay in ascending order
    for (let p = 0; p < P; p++) {
      const j = fill[pairFeat[p]]++;
      this.cls[j] = pairEntry[p];
      this.pooledW[j] = pairW[p];
      this.logCount[j] = Math.log(pairCount[p] + 1);
    }
  }

  /** The ranker's training set: every question, as its features' counts (bigrams count half), normalized. */
  private rankerProblem(): RankerProblem {
    const N = this.docText.length;
    const vals = new Float64Array(this.docFeat.length);
    const labels = new Int32Array(N);
    for (let e = 0; e < this.entries.length; e++) labels.fill(e, this.entryDocs[e], this.entryDocs[e + 1]);
    for (let d = 0; d < N; d++) {
      let norm = 0;
      for (let i = this.docStart[d]; i < this.docStart[d + 1]; i++) {
        vals[i] = this.docCount[i] * this.rankerValue[this.docFeat[i]];
        norm += vals[i] * vals[i];
      }
      norm = Math.sqrt(norm) || 1;
      for (let i = this.docStart[d]; i < this.docStart[d + 1]; i++) vals[i] /= norm;
    }
    return { classes: this.entries.length, start: this.start, cls: this.cls, exStart: this.docStart, ids: this.docFeat, vals, labels };
  }

  /**
   * Best entries first, one candidate per entry. Words the KB has never seen stay in the query's norm (they can
   * match nothing): "股票怎么买" must not look like a perfect match for "怎么买" just because 股票 is unknown.
   * That is what keeps out-of-scope questions below the threshold.
   */
  search(text: string, k = 3): Candidate[] {
    if (!this.entries.length) return [];
    const q = this.query(features(text, this.synonyms));
    if (!q.ids.length) return [];
    const s = this.scratch;
    const { start, cls, pooledW, logCount, rankerW } = this;
    const { stamp, pooled, bayes, ranker, touched } = s;
    const t = ++s.tick;
    let m = 0;
    for (let i = 0; i < q.ids.length; i++) {
      const f = q.ids[i];
      const w = q.w[i];
      const c = q.count[i];
      const x = q.x[i];
      for (let j = start[f], end = start[f + 1]; j < end; j++) {
        const e = cls[j];
        if (stamp[e] !== t) {
          stamp[e] = t;
          pooled[e] = 0;
          bayes[e] = 0;
          ranker[e] = 0;
          touched[m++] = e;
        }
        // a paraphrase often borrows words from several of an entry's questions: the pooled vector sees that
        pooled[e] += w * pooledW[j];
        bayes[e] += c * logCount[j];
        ranker[e] += x * rankerW[j];
      }
    }
    const pool = this.exactPool(m);
    const { query } = s;
    const { entryDocs, docStart, docFeat, docW } = this;
    for (let i = 0; i < q.ids.length; i++) query[q.ids[i]] = q.w[i];
    const out: (Candidate & { e: number })[] = [];
    for (const e of pool) {
      let best = 0;
      let bestDoc = entryDocs[e];
      for (let d = entryDocs[e]; d < entryDocs[e + 1]; d++) {
        let dot = 0;
        for (let i = docStart[d], end = docStart[d + 1]; i < end; i++) dot += docW[i] * query[docFeat[i]];
        if (dot > best) {
          best = dot;
          bestDoc = d;
        }
      }
      const score = (1 - CENTROID_MIX) * best + CENTROID_MIX * pooled[e];
      if (score > 0) out.push({ entry: this.entries[e], score, matched: this.docText[bestDoc], e });
    }
    for (let i = 0; i < q.ids.length; i++) s.query[q.ids[i]] = 0;
    out.sort((a, b) => b.score - a.score);
    return this.rerank(out.slice(0, RERANK_POOL), q.known, m)
      .slice(0, k)
      .map(({ entry, score, matched }) => ({ entry, score, matched }));
  }

  /** Query features: TF-IDF weights over the known ones, normalized together with the unknown words. */
  private query(feats: string[]) {
    const counts = new Map<number, number>();
    const unknown = new Map<string, number>();
    let known = 0;
    for (const f of feats) {
      const id = this.vocab.get(f);
      if (id !== undefined) {
        counts.set(id, (counts.get(id) ?? 0) + 1);
        known++;
      } else if (!isBackup(f)) unknown.set(f, (unknown.get(f) ?? 0) + 1);
    }
    const ids = Int32Array.from(counts.keys());
    const count = Float64Array.from(counts.values());
    const w = new Float64Array(ids.length);
    const x = new Float64Array(ids.length);
    let norm = 0;
    let xnorm = 0;
    for (let i = 0; i < ids.length; i++) {
      w[i] = (1 + Math.log(count[i])) * this.idf[ids[i]] * this.kindWeight[ids[i]];
      norm += w[i] * w[i];
      x[i] = count[i] * this.rankerValue[ids[i]];
      xnorm += x[i] * x[i];
    }
    for (const [f, n] of unknown) norm += ((1 + Math.log(n)) * this.unknownWeight(f) * retrievalWeight(f)) ** 2;
    norm = Math.sqrt(norm) || 1;
    xnorm = Math.sqrt(xnorm) || 1;
    for (let i = 0; i < ids.length; i++) {
      w[i] /= norm;
      x[i] /= xnorm;
    }
    return { ids, count, w, x, known };
  }

  /** An unknown word weighs like the rarest known one; an unknown single character (a typo, mostly) much less. */
  private unknownWeight(f: string): number {
    return [...f].length === 1 ? this.unknownIdf * 0.3 : this.unknownIdf;
  }

  /** the touched entries with the best pooled scores, at most EXACT_POOL (ties at the edge all come in) */
  private exactPool(m: number): Int32Array {
    const { touched, pooled, values } = this.scratch;
    if (m <= EXACT_POOL) return touched.slice(0, m);
    for (let i = 0; i < m; i++) values[i] = pooled[touched[i]];
    const edge = nthLargest(values, m, EXACT_POOL);
    const pool: number[] = [];
    for (let i = 0; i < m; i++) if (pooled[touched[i]] >= edge) pool.push(touched[i]);
    return Int32Array.from(pool);
  }

  /**
   * Naive Bayes over each entry's questions (as probabilities across the candidates only) and the logistic
   * ranker. Retrieval finds the candidates and sets the confidence; these only reorder them when the entry's
   * whole wording fits better.
   */
  private rerank<C extends Candidate & { e: number }>(cands: C[], known: number, touched: number): C[] {
    if (cands.length < 2) return cands;
    const s = this.scratch;
    const v = this.vocab.size + 1;
    const logp = cands.map((c) => s.bayes[c.e] - known * Math.log(this.featTotal[c.e] + v));
    const max = Math.max(...logp);
    const z = logp.reduce((a, l) => a + Math.exp(l - max), 0);
    let learned = cands.map(() => 0);
    if (this.ranked) {
      const { max: rmax, sum } = softmaxInPlace(s.ranker, s.touched, touched, this.entries.length);
      learned = cands.map((c) => (s.stamp[c.e] === s.tick ? s.ranker[c.e] : Math.exp(-rmax)) / sum);
    }
    return cands
      .map((c, i) => ({ c, key: c.score + BAYES_WEIGHT * (Math.exp(logp[i] - max) / z) + RANKER_WEIGHT * learned[i] }))
      .sort((a, b) => b.key - a.key)
      .map((x) => x.c);
  }
}

/** Every question of every entry, entry by entry: the order `build`'s `feats` follow. */
export function questionsOf(entries: KbEntry[]): { entry: KbEntry; text: string }[] {
  return entries.flatMap((entry) => [entry.question, ...entry.similar].map((text) => ({ entry, text })));
}

/** per-query buffers, reused: a query touches only the entries that share a feature with it */
function scratchFor(entries: number, features: number) {
  return {
    tick: 0,
    stamp: new Uint32Array(entries),
    touched: new Int32Array(entries),
    pooled: new Float64Array(entries),
    bayes: new Float64Array(entries),
    ranker: new Float64Array(entries),
    values: new Float64Array(entries),
    query: new Float64Array(features),
  };
}

/** The n-th largest of a[0..m) by quickselect; reorders a. */
function nthLargest(a: Float64Array, m: number, n: number): number {
  let lo = 0;
  let hi = m - 1;
  const k = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] > pivot) i++;
      while (a[j] < pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k];
}
