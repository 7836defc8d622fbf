import type { KbEntry } from '../core/knowledge/entries.ts';
import { features } from './segment.ts';
import { Synonyms } from './synonyms.ts';

// Tuned on bot/eval/dev-cases.jsonl; the held-out set was written afterwards and only measured.
const BIGRAM_WEIGHT = 0.4;
const ASK_WEIGHT = 0.5;
/** share of an entry's score that comes from all its questions pooled, the rest from its best single question */
const CENTROID_MIX = 0.5;

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
  /** per entry: all its questions pooled into one normalized vector */
  private centroids = new Map<string, Map<string, number>>();
  /** the weight of a word the KB has never seen: as rare as can be */
  private unknownIdf = 1;
  readonly synonyms: Synonyms;

  constructor(entries: KbEntry[], opts: { synonyms?: Synonyms; prepared?: Prepared[] } = {}) {
    this.synonyms = opts.synonyms ?? new Synonyms();
    const raw = opts.prepared ?? entries.flatMap((entry) => [entry.question, ...entry.similar].map((text) => ({ entry, text, feats: features(text, this.synonyms) })));
    const df = new Map<string, number>();
    for (const d of raw) for (const f of new Set(d.feats)) df.set(f, (df.get(f) ?? 0) + 1);
    for (const [f, n] of df) this.idf.set(f, Math.log(1 + raw.length / n));
    this.unknownIdf = Math.log(1 + raw.length / 0.5);
    this.docs = raw.map((d) => ({ entry: d.entry, text: d.text, vec: this.vectorize(d.feats, false) }));
    for (const d of this.docs) {
      const c = this.centroids.get(d.entry.id) ?? new Map<string, number>();
      for (const [f, w] of d.vec) c.set(f, (c.get(f) ?? 0) + w);
      this.centroids.set(d.entry.id, c);
    }
    for (const c of this.centroids.values()) {
      const n = Math.sqrt([...c.values()].reduce((a, w) => a + w * w, 0)) || 1;
      for (const [f, w] of c) c.set(f, w / n);
    }
  }

  /**
   * Builds an index without holding the event loop: segmentation (the slow part) runs in slices of `slice`
   * texts with a yield between them, so answers from the current index go on while the new one is built.
   */
  static async build(entries: KbEntry[], opts: { synonyms?: Synonyms; slice?: number } = {}): Promise<Retriever> {
    const synonyms = opts.synonyms ?? new Synonyms();
    const texts = entries.flatMap((entry) => [entry.question, ...entry.similar].map((text) => ({ entry, text })));
    const prepared: Prepared[] = [];
    const slice = opts.slice ?? 200;
    for (let i = 0; i < texts.length; i += slice) {
      for (const t of texts.slice(i, i + slice)) prepared.push({ ...t, feats: features(t.text, synonyms) });
      await new Promise((r) => setImmediate(r));
    }
    return new Retriever(entries, { synonyms, prepared });
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

  /** Best entries first, one candidate per entry. */
  search(text: string, k = 3): Candidate[] {
    const q = this.vectorize(features(text, this.synonyms));
    if (q.size === 0) return [];
    const best = new Map<string, Candidate>();
    for (const d of this.docs) {
      let score = 0;
      for (const [f, w] of q) {
        const dw = d.vec.get(f);
        if (dw) score += w * dw;
      }
      if (score <= 0) continue;
      const prev = best.get(d.entry.id);
      if (!prev || score > prev.score) best.set(d.entry.id, { entry: d.entry, score, matched: d.text });
    }
    // a paraphrase often borrows words from several of an entry's questions: the pooled vector sees that
    for (const c of best.values()) {
      const cen = this.centroids.get(c.entry.id)!;
      let s = 0;
      for (const [f, w] of q) s += w * (cen.get(f) ?? 0);
      c.score = (1 - CENTROID_MIX) * c.score + CENTROID_MIX * s;
    }
    return [...best.values()].sort((a, b) => b.score - a.score).slice(0, k);
  }
}
