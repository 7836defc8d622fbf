/**
 * Words customers use for the same thing, folded to one before retrieval. Each group is "canonical: variants".
 * Multi-character variants are replaced in the text (so typos like 优惠劵 are caught before segmentation);
 * single characters only when jieba leaves them as a word of their own ("有券吗" -> 券), since 码 inside 号码 or
 * 券 inside 优惠券 must stay. A shop can add its own groups (settings key bot_synonyms).
 */
export const DEFAULT_SYNONYMS: Record<string, string[]> = {
  物流: ['快递', '包裹', '运单', '单号', '快件'],
  退款: ['退钱', '退回钱', '钱退', '退的钱'],
  优惠券: ['优惠劵', '优惠卷', '券', '劵', '卷', '红包', '代金券', '折扣券'],
  专票: ['增票', '增值税专用发票', '增值税专票', '专用发票'],
  发票: ['开票', '票据'],
  尺码: ['码数', '码', '号码', '尺寸', '码子'],
  正品: ['真货', '假货', '假的', '高仿', '仿品', '仿的', '保真', '正规'],
  补货: ['断货', '缺货', '没货', '断码', '有货', '现货', '库存'],
  缩水: ['缩', '变小', '洗小'],
  面料: ['材质', '布料', '成分', '料子'],
  会员: ['vip', '会员卡'],
  加入会员: ['入会', '开会员', '开通会员', '注册会员', '办会员'],
  差价: ['价保', '保价', '价格保护', '降价'],
  换绑: ['更换绑定', '改绑', '换手机号', '换手机'],
  付款: ['支付', '付钱', '买单'],
  取消订单: ['下错单', '拍错', '不想买了', '取消一下订单'],
  催发货: ['催一下', '快点发', '快点发货'],
  客服: ['人工', '客服人员'],
  签收: ['代签', '代收'],
  // places outside the mainland all raise the same question: can you ship there?
  海外: ['国外', '外国', '境外', '国际', '美国', '日本', '韩国', '英国', '法国', '德国', '意大利', '加拿大', '澳洲', '澳大利亚', '新西兰', '新加坡', '马来西亚', '泰国', '欧洲', '香港', '澳门', '台湾', '港澳台'],
  运费: ['邮费', '快递费', '运输费', '配送费', '邮资'],
  进度: ['审核', '处理到', '到哪一步', '状态'],
  下单: ['拍', '拍下', '买了'],
  发货: ['发', '寄出', '发出', '发出来'],
};

export class Synonyms {
  private phrases = new Map<string, string>();
  /** every multi-character variant in one alternation, so the text is scanned once */
  private pattern: RegExp | null = null;
  private singles = new Map<string, string>();

  constructor(groups: Record<string, string[]> = DEFAULT_SYNONYMS) {
    for (const [canonical, variants] of Object.entries(groups)) {
      for (const v of variants) {
        if ([...v].length === 1) this.singles.set(v, canonical);
        else this.phrases.set(v, canonical);
      }
    }
    // longest first, so 增值税专用发票 wins over 专用发票 at the same place
    const alternatives = [...this.phrases.keys()].sort((a, b) => b.length - a.length).map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    if (alternatives.length) this.pattern = new RegExp(alternatives.join('|'), 'g');
  }

  /** Replaces multi-character variants in the text. */
  text(s: string): string {
    return this.pattern ? s.replace(this.pattern, (v) => this.phrases.get(v)!) : s;
  }

  /** Folds a single-character word. */
  word(w: string): string {
    return this.singles.get(w) ?? w;
  }
}
