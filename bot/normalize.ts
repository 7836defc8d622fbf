/**
 * NFKC folds full-width letters, digits and punctuation to half-width (ＡＢＣ１２３！ -> ABC123!);
 * then lower case and collapsed white space, so "退 货" and "退货" meet.
 */
export function normalize(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}
