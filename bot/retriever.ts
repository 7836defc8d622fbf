import type { KbEntry } from '../core/knowledge/entries.ts';
import { features } from './segment.ts';
import { Synonyms } from './synonyms.ts';

// Tuned on bot/eval/dev-cases.jsonl; the held-out set was written afterwards and only measured.
const BIGRAM_WEIGHT = 0.4;
const ASK_WEIGHT = 0.5;
/** share of an entry's score that comes from all its questions pooled, the rest from its best single question */
const CENTROID_MIX = 0.5;
const RERANK_WEIGHT = 1;
const RERANK_POOL = 10;

export interface Candidate {
  entry: KbEntry;
  /** Cosine similarity of TF-IDF vectors, 0..1, against the entry's best-matching question. */
  score: number;
  matched: string;
}

interface Prepared {
  entry: KbEntry;
  text: string;
  feats: string[];
}

interface Doc {
  entry: KbEntry;
  text: string;
  vec: Map<string, number>;
}

/**
 * TF-IDF over each entry's question and its similar questions. Cosine keeps scores in 0..1 whatever the KB
 * size, which makes a fixed confidence threshold meaningful.
 */
export class Retriever {
  private docs: Doc[] = [];
  private idf = new Map<string, number>();
  /** per entry: feature counts over all its questions, for the naive Bayes re-ranking */
  private nb = new Map<string, { total: number; f: Map<string, number> }>();
  /** per entry: all its questions pooled into one normalized vector */
  private centroids = new Map<string, Map<string, number>>();
  /** the weight of a word the KB has never seen: as rare as can be */
  private unknownIdf = 1;
  readonly synonyms: Synonyms;

  constructor(entries: KbEntry[], opts: { synonyms?: Synonyms } = {}) {
    this.synonyms = opts.synonyms ?? new Synonyms();
    const steps = this.steps(entries.flatMap((entry) => [entry.question, ...entry.similar].map((text) => ({ entry, text, feats: features(text, this.synonyms) }))));
    for (let s = steps.next(); !s.done; s = steps.next());
  }

  /**
   * Builds an index without holding the event loop: segmentation runs in slices of `slice` texts, and the
   * vectors, pooled vectors and inverted lists in steps, each followed by a yield. Answers from the current
   * index go on in between; the caller swaps the new one in when it is complete.
   */
  static async build(entries: KbEntry[], opts: { synonyms?: Synonyms; slice?: number } = {}): Promise<Retriever> {
    const r = new Retriever([], { synonyms: opts.synonyms });
    const texts = entries.flatMap((entry) => [entry.question, ...entry.similar].map((text) => ({ entry, text })));
    const prepared: Prepared[] = [];
    const slice = opts.slice ?? 200;
    const pause = () => new Promise((res) => setImmediate(res));
    for (let i = 0; i < texts.length; i += slice) {
      for (const t of texts.slice(i, i + slice)) prepared.push({ ...t, feats: features(t.text, r.synonyms) });
      await pause();
    }
    for (const _ of r.steps(prepared)) await pause();
    return r;
  }

  /** The build after segmentation, as resumable steps (a generator yields between slices of work). */
  private *steps(raw: Prepared[], slice = 2000): Generator<void> {
    const df = new Map<string, number>();
    for (const d of raw) for (const f of new Set(d.feats)) df.set(f, (df.get(f) ?? 0) + 1);
    for (const [f, n] of df) this.idf.set(f, Math.log(1 + raw.length / n));
    this.unknownIdf = Math.log(1 + raw.length / 0.5);
    yield;
    const docs: Doc[] = [];
    for (let i = 0; i < raw.length; i += slice) {
      for (const d of raw.slice(i, i + slice)) docs.push({ entry: d.entry, text: d.text, vec: this.vectorize(d.feats, false) });
      yield;
    }
    this.docs = docs;
    for (const d of docs) {
      const c = this.centroids.get(d.entry.id) ?? new Map<string, number>();
      for (const [f, w] of d.vec) c.set(f, (c.get(f) ?? 0) + w);
      this.centroids.set(d.entry.id, c);
    }
    for (const c of this.centroids.values()) {
      const n = Math.sqrt([...c.values()].reduce((a, w) => a + w * w, 0)) || 1;
      for (const [f, w] of c) c.set(f, w / n);
    }
    for (const d of raw) {
      const counts = this.nb.get(d.entry.id) ?? { total: 0, f: new Map<string, number>() };
      for (const f of d.feats) {
        counts.f.set(f, (counts.f.get(f) ?? 0) + 1);
        counts.total++;
      }
      this.nb.set(d.entry.id, counts);
    }
    yield;
    this.index = this.buildIndex(); // now, not on the first customer's question
  }

  /**
   * Naive Bayes over each entry's questions, as probabilities across the candidates only. Retrieval finds the
   * candidates and sets the confidence; this only reorders them when the entry's whole wording fits better.
   */
  private rerank(feats: string[], cands: Candidate[]): Candidate[] {
    if (cands.length < 2) return cands;
    const v = this.idf.size + 1;
    const logp = cands.map((c) => {
      const n = this.nb.get(c.entry.id)!;
      let lp = 0;
      for (const f of feats) if (this.idf.has(f)) lp += Math.log(((n.f.get(f) ?? 0) + 1) / (n.total + v));
      return lp;
    });
    const max = Math.max(...logp);
    const z = logp.reduce((a, l) => a + Math.exp(l - max), 0);
    return cands
      .map((c, i) => ({ c, key: c.score + RERANK_WEIGHT * (Math.exp(logp[i] - max) / z) }))
      .sort((a, b) => b.key - a.key)
      .map((x) => x.c);
  }

  get size(): number {
    return this.docs.length;
  }

  /**
   * For a query, words the KB has never seen stay in the vector (they can match nothing): "股票怎么买" must not
   * look like a perfect match for "怎么买" just because 股票 is unknown. That is what keeps out-of-scope
   * questions below the threshold.
   */
  private vectorize(feats: string[], query = true): Map<string, number> {
    const tf = new Map<string, number>();
    // unknown bigrams are mostly typos (退欵 -> #退欵, #欵多): the words carry the out-of-scope signal
    for (const f of feats) if (this.idf.has(f) || (query && !f.startsWith('#'))) tf.set(f, (tf.get(f) ?? 0) + 1);
    let norm = 0;
    for (const [f, n] of tf) {
      // bigrams back words up (typos, unknown names) but should not outvote them
      const w = (1 + Math.log(n)) * (this.idf.get(f) ?? this.unknownWeight(f)) * (f.startsWith('#') ? BIGRAM_WEIGHT : f.startsWith('@') ? ASK_WEIGHT : 1);
      tf.set(f, w);
      norm += w * w;
    }
    norm = Math.sqrt(norm) || 1;
    for (const [f, w] of tf) tf.set(f, w / norm);
    return tf;
  }

  /** An unknown word weighs like the rarest known one; an unknown single character (a typo, mostly) much less. */
  private unknownWeight(f: string): number {
    return [...f].length === 1 ? this.unknownIdf * 0.3 : this.unknownIdf;
  }

  /**
   * Best entries first, one candidate per entry. Scores are accumulated through inverted lists, so a query
   * touches only the questions that share a feature with it: cost grows with the overlap, not the KB size.
   */
  search(text: string, k = 3): Candidate[] {
    const feats = features(text, this.synonyms);
    const q = this.vectorize(feats);
    if (q.size === 0) return [];
    this.index ??= this.buildIndex();
    const { postings, centroidPostings, docScore, entryBest, entryDoc, entryCentroid, entryOfDoc, entries } = this.index;
    const touchedDocs: number[] = [];
    const touchedEntries: number[] = [];
    for (const [f, w] of q) {
      const p = postings.get(f);
      if (p) for (let i = 0; i < p.doc.length; i++) {
        const d = p.doc[i];
        if (docScore[d] === 0) touchedDocs.push(d);
        docScore[d] += w * p.w[i];
      }
      // a paraphrase often borrows words from several of an entry's questions: the pooled vector sees that
      const c = centroidPostings.get(f);
      if (c) for (let i = 0; i < c.entry.length; i++) entryCentroid[c.entry[i]] += w * c.w[i];
    }
    for (const d of touchedDocs) {
      const e = entryOfDoc[d];
      if (entryBest[e] === 0 && entryDoc[e] === -1) touchedEntries.push(e);
      if (docScore[d] > entryBest[e]) {
        entryBest[e] = docScore[d];
        entryDoc[e] = d;
      }
    }
    const out: Candidate[] = [];
    for (const e of touchedEntries) {
      const score = (1 - CENTROID_MIX) * entryBest[e] + CENTROID_MIX * entryCentroid[e];
      if (score > 0) out.push({ entry: entries[e], score, matched: this.docs[entryDoc[e]].text });
    }
    // reset the scratch buffers for the next query
    for (const d of touchedDocs) docScore[d] = 0;
    for (const e of touchedEntries) {
      entryBest[e] = 0;
      entryDoc[e] = -1;
    }
    entryCentroid.fill(0);
    return this.rerank(feats, out.sort((a, b) => b.score - a.score).slice(0, RERANK_POOL)).slice(0, k);
  }

  private index: ReturnType<Retriever['buildIndex']> | undefined;

  private buildIndex() {
    const entryIndex = new Map<string, number>();
    const entries: KbEntry[] = [];
    const entryOfDoc = new Int32Array(this.docs.length);
    this.docs.forEach((d, i) => {
      let e = entryIndex.get(d.entry.id);
      if (e === undefined) {
        e = entries.length;
        entryIndex.set(d.entry.id, e);
        entries.push(d.entry);
      }
      entryOfDoc[i] = e;
    });
    const lists = new Map<string, { doc: number[]; w: number[] }>();
    this.docs.forEach((d, i) => {
      for (const [f, w] of d.vec) {
        const l = lists.get(f) ?? { doc: [], w: [] };
        l.doc.push(i);
        l.w.push(w);
        lists.set(f, l);
      }
    });
    const centroidLists = new Map<string, { entry: number[]; w: number[] }>();
    for (const [id, vec] of this.centroids) {
      const e = entryIndex.get(id)!;
      for (const [f, w] of vec) {
        const l = centroidLists.get(f) ?? { entry: [], w: [] };
        l.entry.push(e);
        l.w.push(w);
        centroidLists.set(f, l);
      }
    }
    const postings = new Map([...lists].map(([f, l]) => [f, { doc: Int32Array.from(l.doc), w: Float64Array.from(l.w) }]));
    const centroidPostings = new Map([...centroidLists].map(([f, l]) => [f, { entry: Int32Array.from(l.entry), w: Float64Array.from(l.w) }]));
    return {
      postings,
      centroidPostings,
      entries,
      entryOfDoc,
      docScore: new Float64Array(this.docs.length),
      entryBest: new Float64Array(entries.length),
      entryDoc: new Int32Array(entries.length).fill(-1),
      entryCentroid: new Float64Array(entries.length),
    };
  }
}
