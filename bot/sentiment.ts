import { normalize } from './normalize.ts';
import { toSimplified } from './traditional.ts';

/**
 * A small Chinese lexicon of anger and threats in shop chats. It is not a sentiment model: it only needs to
 * catch the customer a bot must not keep answering (an angry or escalating customer goes to a person at once).
 * Weights: 3 = enough on its own, 2 = strong, 1 = mild.
 */
const LEXICON: [RegExp, number][] = [
  [/投诉|举报|12315|消协|工商局|市场监管|报警|律师|起诉|法院|曝光|媒体/, 3],
  [/骗子|骗人|欺骗|诈骗|黑店|坑人|坑爹|垃圾店|无良|退一赔三|假一赔三/, 3],
  [/妈的|他妈|操你|tmd|nmd|滚|去死|傻[逼b]|sb/, 3],
  [/垃圾|差评|恶心|气死|愤怒|火大|受够了|忍无可忍|太过分|欺人太甚/, 2],
  [/失望|无语|生气|不满|糟糕|太差|很差|差劲|离谱|再也不买|烂透/, 1],
];
const INTENSIFIER = /非常|特别|太|极其|真的|超级|！！|!!|？？|\?\?/;
// "不生气" / "没有不满" are not complaints
const NEGATED = /(不|没有?|别)(生气|不满|失望)/;

export function negativity(text: string): number {
  const t = toSimplified(normalize(text));
  let score = 0;
  for (const [re, w] of LEXICON) if (re.test(t)) score += w;
  if (NEGATED.test(t)) score = Math.max(0, score - 1);
  if (score > 0 && INTENSIFIER.test(t)) score += 1;
  return score;
}

/** Strongly negative: hand off to a human instead of answering. */
export const isAngry = (text: string) => negativity(text) >= 3;
