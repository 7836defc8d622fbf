import type { Tx } from '../db/client.ts';
import { createPlaybook, parsePlaybook } from './playbooks.ts';

/**
 * The playbooks a new shop starts with: the usual Chinese e-commerce recovery moments, worded the way a shop
 * talks to its customers. A supervisor edits or switches them off; the member-day broadcast starts switched off.
 */
export const DEFAULT_PLAYBOOKS: { key: string; input: unknown }[] = [
  {
    key: 'cart-abandoned-2h',
    input: {
      name: '加购未付款 · 2 小时提醒',
      trigger: { type: 'cart_abandoned', delayMinutes: 120 },
      actions: [{ type: 'send' }],
      coupon: 'HUIKE10',
      link: 'https://shop.example.com/cart',
      variants: [
        { id: 'A', weight: 50, kind: 'text', text: '{{name}}您好～您购物车里的「{{product}}」还在等您哦，库存不多了。现在下单输入券码 {{coupon}} 立减 10 元：{{link}}' },
        { id: 'B', weight: 50, kind: 'link', text: '{{name}}，您看中的「{{product}}」给您留着呢', title: '您的购物车宝贝可以领券啦', desc: '券码 {{coupon}}，下单立减 10 元', url: 'https://shop.example.com/cart' },
      ],
    },
  },
  {
    key: 'payment-failed-5m',
    input: {
      name: '支付失败 · 黄金 5 分钟',
      trigger: { type: 'payment_failed', delayMinutes: 5 },
      actions: [{ type: 'send' }, { type: 'suggest' }],
      variants: [
        { id: 'A', weight: 100, kind: 'text', text: '{{name}}您好，刚才 ¥{{amount}} 的订单付款没有成功，是遇到问题了吗？可以换微信、支付宝或花呗再试一次，订单为您保留 30 分钟，有问题直接回复我们～' },
      ],
    },
  },
  {
    key: 'order-cancelled',
    input: {
      name: '订单取消 · 客服回访',
      trigger: { type: 'order_cancelled', delayMinutes: 30 },
      conditions: { minOrderFen: 10000 },
      actions: [{ type: 'suggest' }],
      variants: [{ id: 'A', weight: 100, kind: 'text', text: '您好，看到您取消了 ¥{{amount}} 的「{{product}}」订单，是尺码、价格还是发货时间方面有顾虑吗？告诉我们，我们尽力帮您解决～' }],
    },
  },
  {
    key: 'lapsed-90d',
    input: {
      name: '沉睡客户唤醒 · 90 天未购',
      trigger: { type: 'lapsed', days: 90 },
      actions: [{ type: 'send' }, { type: 'tag', tag: '唤醒中' }],
      coupon: 'BACK20',
      variants: [{ id: 'A', weight: 100, kind: 'text', text: '{{name}}好久不见～店里上了不少新款，送您一张老客回归券 {{coupon}}（满 199 减 20），7 天内有效，有空回来逛逛呀' }],
    },
  },
  {
    key: 'unhappy-care',
    input: {
      name: '差评 / 不满安抚',
      trigger: { type: 'unhappy', maxCsat: 2, angry: true },
      actions: [{ type: 'suggest' }, { type: 'ticket', category: '投诉' }, { type: 'tag', tag: '需关怀' }],
      coupon: 'SORRY15',
      variants: [{ id: 'A', weight: 100, kind: 'text', text: '{{name}}，非常抱歉这次给您带来了不好的体验。我们已经记录并会认真改进，另外给您准备了一张 15 元补偿券 {{coupon}}，您看还有什么需要我们马上处理的吗？' }],
    },
  },
  {
    key: 'refund-care',
    input: {
      name: '退款后关怀',
      trigger: { type: 'refund', delayMinutes: 60 },
      actions: [{ type: 'suggest' }],
      variants: [{ id: 'A', weight: 100, kind: 'text', text: '您好，您 ¥{{amount}} 的退款已经处理，一般 1-3 个工作日原路到账。方便说说是哪里不满意吗？我们会改进的。' }],
    },
  },
  {
    key: 'birthday',
    input: {
      name: '生日祝福',
      trigger: { type: 'birthday', hour: 10 },
      actions: [{ type: 'send' }],
      coupon: 'BDAY30',
      variants: [{ id: 'A', weight: 100, kind: 'text', text: '{{name}}，生日快乐！🎂 送您一张生日专享券 {{coupon}}（满 299 减 30），本月内有效，祝您天天开心～' }],
    },
  },
  {
    key: 'tier-upgrade',
    input: {
      name: '会员升级祝贺',
      trigger: { type: 'tier_upgrade' },
      actions: [{ type: 'send' }],
      variants: [{ id: 'A', weight: 100, kind: 'text', text: '恭喜{{name}}升级为{{tier}}！新等级的专属折扣和生日礼已经生效，感谢一直以来的支持～' }],
    },
  },
  {
    key: 'member-day',
    input: {
      name: '会员日 · 每月 18 日',
      enabled: false,
      trigger: { type: 'member_day', dayOfMonth: 18, hour: 10 },
      conditions: { tiers: ['gold', 'diamond'] },
      actions: [{ type: 'send' }],
      variants: [{ id: 'A', weight: 100, kind: 'text', text: '{{name}}，今天是会员日！金卡及以上会员全场 9 折，积分双倍，今晚 24 点结束～' }],
    },
  },
];

/** Adds the default playbooks that are not there yet (by key); edits a shop made are kept. */
export async function seedDefaultPlaybooks(tx: Tx): Promise<number> {
  let n = 0;
  for (const d of DEFAULT_PLAYBOOKS) if (await createPlaybook(tx, parsePlaybook(d.input), null, d.key)) n++;
  return n;
}
