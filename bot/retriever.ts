import type { KbEntry } from '../core/knowledge/entries.ts';
import { features } from './segment.ts';

const BIGRAM_WEIGHT = 0.6;

export interface Candidate {
  entry: KbEntry;
  /** Cosine similarity of TF-IDF vectors, 0..1, against the entry's best-matching question. */
  score: number;
  matched: string;
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

  constructor(entries: KbEntry[]) {
    const raw: { entry: KbEntry; text: string; feats: string[] }[] = [];
    for (const entry of entries) {
      for (const text of [entry.question, ...entry.similar]) raw.push({ entry, text, feats: features(text) });
    }
    const df = new Map<string, number>();
    for (const d of raw) for (const f of new Set(d.feats)) df.set(f, (df.get(f) ?? 0) + 1);
    for (const [f, n] of df) this.idf.set(f, Math.log(1 + raw.length / n));
    this.docs = raw.map((d) => ({ entry: d.entry, text: d.text, vec: this.vectorize(d.feats) }));
  }

  get size(): number {
    return this.docs.length;
  }

  private vectorize(feats: string[]): Map<string, number> {
    const tf = new Map<string, number>();
    for (const f of feats) if (this.idf.has(f)) tf.set(f, (tf.get(f) ?? 0) + 1);
    let norm = 0;
    for (const [f, n] of tf) {
      // bigrams back words up (typos, unknown names) but should not outvote them
      const w = (1 + Math.log(n)) * this.idf.get(f)! * (f.startsWith('#') ? BIGRAM_WEIGHT : 1);
      tf.set(f, w);
      norm += w * w;
    }
    norm = Math.sqrt(norm) || 1;
    for (const [f, w] of tf) tf.set(f, w / norm);
    return tf;
  }

  /** Best entries first, one candidate per entry. */
  search(text: string, k = 3): Candidate[] {
    const q = this.vectorize(features(text));
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
    return [...best.values()].sort((a, b) => b.score - a.score).slice(0, k);
  }
}
