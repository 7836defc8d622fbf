import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';
import { normalize } from './normalize.ts';
import { Synonyms } from './synonyms.ts';
import { toSimplified } from './traditional.ts';

// Shop words the general dictionary splits wrongly; each line "word freq tag" as jieba expects.
const SHOP_WORDS = [
  '七天无理由', '退货', '换货', '退款', '运费险', '优惠券', '满减', '发票', '电子发票', '尺码', '会员', '积分',
  '包邮', '顺丰', '到货', '签收', '拒收', '售后', '退换货', '开发票', '专票', '普票', '会员等级', '预售', '定金', '尾款',
  '转人工', '人工客服', '物流', '快递', '改地址', '催发货', '发货',
  '到账', '运费', '邮费', '尺码表', '差价', '退差价', '补货', '现货', '断码', '面料', '起球', '正品', '花呗', '货到付款',
  '取消订单', '绑定', '手机号', '发错', '少发', '漏发', '质量问题', '瑕疵', '开线', '代签', '抬头', '税号', '增值税',
  '清零', '入会', '会员卡', '下单', '付款', '支付', '缩水', '偏大', '偏小', '色差', '污渍', '退货地址', '收货地址',
];

const STOPWORDS = new Set(
  '的 了 吗 呢 吧 啊 呀 哦 嘛 么 谁 我 你 您 他 她 它 我们 你们 我要 我想 想要 是 在 有 和 与 就 都 也 还 要 会 能 可以 想 请问 请 一下 这个 那个 这 那 怎么 如何 什么 多少 哪 哪里 哪儿 为什么 么 个 啦 哈 嗯 喔 亲 你好 您好 谢谢 嘞 弄 搞 个 有个 这件 一件 给 咯 哇 呐 不 没 吗吗 ? ! , . 。 ， ？ ！ 、 ~ ～ …'.split(
    ' ',
  ),
);

let jieba: Jieba | undefined;
function instance(): Jieba {
  if (!jieba) {
    jieba = Jieba.withDict(dict);
    jieba.loadDict(new TextEncoder().encode(SHOP_WORDS.map((w) => `${w} 100000 n`).join('\n')));
  }
  return jieba;
}

const PUNCT = /^[\p{P}\p{S}\s]+$/u;
const isHan = (code: number) => code >= 0x4e00 && code <= 0x9fff;
/** most tokens are Chinese words: those skip the (slow) Unicode class test */
const isPunct = (t: string) => !isHan(t.charCodeAt(0)) && PUNCT.test(t);

const DEFAULT = new Synonyms();

// The question word says what is asked: 退款多久到账 (when) and 退款怎么申请 (how) share every other word.
// They become light features of their own instead of being thrown away as stop words.
const ASKS: Record<string, string[]> = {
  '@how': ['怎么', '怎么弄', '怎么办', '如何', '怎样', '咋', '咋办', '怎么操作', '怎么样'],
  '@when': ['多久', '几天', '多长时间', '什么时候', '啥时候', '何时', '几点', '多快'],
  '@where': ['哪里', '哪儿', '在哪', '在哪里', '哪', '哪边'],
  '@which': ['哪家', '哪个', '哪些', '哪种'],
  '@can': ['可以', '能', '能不能', '可不可以', '行吗', '行不行', '是否', '支持', '允许'],
  '@howmuch': ['多少', '几', '多少钱'],
  '@why': ['为什么', '为啥', '怎么回事', '咋回事'],
};
const ASK_OF = new Map(Object.entries(ASKS).flatMap(([ask, ws]) => ws.map((w) => [w, ask] as const)));
const askOf = (w: string) => ASK_OF.get(w);

/**
 * Words of the text without stop words and punctuation: normalized (width, case), traditional characters
 * simplified, synonyms folded to one word.
 */
export function words(text: string, synonyms: Synonyms = DEFAULT): string[] {
  return instance()
    // without HMM: unknown runs fall apart into known words and characters ("有券" -> 有 券) instead of new words
    .cut(synonyms.text(toSimplified(normalize(text))), false)
    .map((w) => askOf(w) ?? w)
    .filter((w) => !isPunct(w) && !STOPWORDS.has(w))
    .map((w) => synonyms.word(w));
}

/**
 * Features for retrieval: words, character bigrams of the Chinese runs (`#退欵`) and the single characters of
 * the words (`.棉`). Bigrams keep a typo ("退欵") or an unknown product name from losing the whole match;
 * characters carry meaning jieba's words hide: 是棉的吗 shares nothing with 纯棉 as words, but 棉 as a character.
 */
export function features(text: string, synonyms: Synonyms = DEFAULT): string[] {
  const ws = words(text, synonyms);
  const grams: string[] = [];
  const chars: string[] = [];
  // per word, so "我要" never links "我要退货" to "我要开发票" once stop words are gone
  for (const w of ws) {
    if (w.startsWith('@')) continue;
    for (const run of allHan(w) ? [w] : (w.match(/[\p{Script=Han}]+/gu) ?? [])) {
      for (let i = 0; i + 1 < run.length; i++) grams.push(`#${run.slice(i, i + 2)}`);
      for (const ch of run) chars.push(`.${ch}`);
    }
  }
  return [...ws, ...grams, ...chars];
}

function allHan(w: string): boolean {
  for (let i = 0; i < w.length; i++) if (!isHan(w.charCodeAt(i))) return false;
  return true;
}

/** A feature that is a word (not a bigram `#`, character `.` or question word `@`). */
export const isWord = (f: string) => f[0] !== '#' && f[0] !== '.' && f[0] !== '@';

/** Features of many texts, `slice` at a time with a yield to the event loop after each slice. */
export async function featuresOfAll(texts: string[], synonyms: Synonyms = DEFAULT, slice = 200): Promise<string[][]> {
  const out: string[][] = [];
  for (let i = 0; i < texts.length; i += slice) {
    for (let j = i; j < Math.min(texts.length, i + slice); j++) out.push(features(texts[j], synonyms));
    await new Promise((res) => setImmediate(res));
  }
  return out;
}
