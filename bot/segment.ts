import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';
import { normalize } from './normalize.ts';

// Shop words the general dictionary splits wrongly; each line "word freq tag" as jieba expects.
const SHOP_WORDS = [
  '七天无理由', '退货', '换货', '退款', '运费险', '优惠券', '满减', '发票', '电子发票', '尺码', '会员', '积分',
  '包邮', '顺丰', '到货', '签收', '拒收', '售后', '退换货', '开发票', '专票', '普票', '会员等级', '预售', '定金', '尾款',
  '转人工', '人工客服', '物流', '快递', '改地址', '催发货', '发货',
];

const STOPWORDS = new Set(
  '的 了 吗 呢 吧 啊 呀 哦 嘛 么 谁 我 你 您 他 她 它 我们 你们 我要 我想 想要 是 在 有 和 与 就 都 也 还 要 会 能 可以 想 请问 请 一下 这个 那个 这 那 怎么 如何 什么 多少 哪 哪里 哪儿 为什么 么 个 啦 哈 嗯 喔 亲 你好 您好 谢谢 ? ! , . 。 ， ？ ！ 、 ~ ～ …'.split(
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

const isPunct = (t: string) => /^[\p{P}\p{S}\s]+$/u.test(t);

/** Words of the text without stop words and punctuation. */
export function words(text: string): string[] {
  return instance()
    .cut(normalize(text), true)
    .filter((w) => !isPunct(w) && !STOPWORDS.has(w));
}

/**
 * Features for retrieval: words plus character bigrams of the Chinese runs. Bigrams keep a typo
 * ("退欵") or an unknown product name from losing the whole match.
 */
export function features(text: string): string[] {
  const ws = words(text);
  const grams: string[] = [];
  // bigrams over the text with stop words taken out, so "我要" never links "我要退货" to "我要开发票"
  for (const run of ws.join(' ').match(/[\p{Script=Han}]+/gu) ?? []) {
    for (let i = 0; i + 1 < run.length; i++) grams.push(`#${run.slice(i, i + 2)}`);
  }
  return [...ws, ...grams];
}
