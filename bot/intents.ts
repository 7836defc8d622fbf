import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { KbEntry } from '../core/knowledge/entries.ts';
import { words } from './segment.ts';
import type { Synonyms } from './synonyms.ts';

interface BayesClassifier {
  addDocument(tokens: string[], label: string): void;
  train(): void;
  getClassifications(tokens: string[]): { label: string; value: number }[];
}
// natural's index pulls in storage back-ends (and dotenv noise); the classifier module alone is enough
const Bayes = createRequire(import.meta.url)('natural/lib/natural/classifiers/bayes_classifier') as new () => BayesClassifier;

/** Labeled examples beyond the KB: categories the KB has no FAQ for (投诉) and everyday phrasings. */
const EXAMPLES = readFileSync(new URL('./intents.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { text: string; category: string });

export interface Intent {
  category: string;
  /** the winning class's share of the probability mass */
  confidence: number;
}

/**
 * Intent (ticket category) of a message, from natural's naive Bayes trained on every KB question and similar
 * question (labelled with the entry's category) plus the labelled examples. Routing uses it on handoff.
 */
export class IntentClassifier {
  private readonly bayes = new Bayes();
  private readonly trained: boolean;

  constructor(
    entries: KbEntry[],
    private readonly synonyms?: Synonyms,
  ) {
    let docs = 0;
    const add = (text: string, label: string) => {
      const t = words(text, synonyms).filter((w) => !w.startsWith('@'));
      if (t.length) {
        this.bayes.addDocument(t, label);
        docs++;
      }
    };
    for (const e of entries) for (const q of [e.question, ...e.similar]) add(q, e.category);
    for (const x of EXAMPLES) add(x.text, x.category);
    this.trained = docs > 0;
    if (this.trained) this.bayes.train();
  }

  classify(text: string): Intent | null {
    const t = words(text, this.synonyms).filter((w) => !w.startsWith('@'));
    if (!this.trained || !t.length) return null;
    const all = this.bayes.getClassifications(t);
    const total = all.reduce((n, c) => n + c.value, 0);
    const [top] = all;
    return top && total > 0 ? { category: top.label, confidence: top.value / total } : null;
  }
}
