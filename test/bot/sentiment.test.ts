import { describe, expect, it } from 'vitest';
import { isAngry, negativity } from '../../bot/sentiment.ts';
import { entities } from '../../bot/self-service.ts';

describe('negative sentiment', () => {
  it.each(['我要投诉你们', '你们就是骗子', '再不处理我就打12315', '垃圾店，气死我了', '太过分了！！失望透顶', '什麼破店，我要投訴'])('%s is angry', (t) => {
    expect(isAngry(t)).toBe(true);
  });
  it.each(['快递到哪了', '有点失望', '我不生气，就问问什么时候发货', '差评怎么删除不了', '衣服质量还行'])('%s is not (or not enough)', (t) => {
    expect(isAngry(t)).toBe(false);
  });
  it('intensifiers add weight', () => {
    expect(negativity('太差了')).toBeGreaterThan(negativity('差劲'));
  });
});

describe('entities', () => {
  it('finds order numbers and phones, and never takes a phone for an order', () => {
    expect(entities('订单TB900001还有JD20260101234，电话13812345678')).toEqual({ orderIds: ['TB900001', 'JD20260101234'], phones: ['13812345678'] });
    expect(entities('ｔｂ９００００２ 到哪了').orderIds).toEqual(['TB900002']);
    expect(entities('我买了3件，花了259元')).toEqual({ orderIds: [], phones: [] });
  });
});

describe('traditional -> simplified', () => {
  it('converts shop words and leaves simplified text alone', async () => {
    const { toSimplified } = await import('../../bot/traditional.ts');
    expect(toSimplified('退貨運費多少？發票開錯了')).toBe('退货运费多少？发票开错了');
    expect(toSimplified('送货显示已签收，退款到账')).toBe('送货显示已签收，退款到账');
  });
});
