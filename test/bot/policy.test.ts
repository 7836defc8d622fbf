import { describe, expect, it } from 'vitest';
import { asksForHuman, decide, MAX_MISSES } from '../../bot/policy.ts';
import { Retriever } from '../../bot/retriever.ts';
import { normalize } from '../../bot/normalize.ts';
import { demoKb } from '../../core/seed/demo.ts';

const retriever = new Retriever(demoKb().map((e) => ({ ...e, enabled: true })));

describe('text normalization', () => {
  it('folds full-width characters and case', () => {
    expect(normalize('ＡＢＣ１２３！  退　货')).toBe('abc123! 退 货');
  });
});

describe('bot decisions on the demo KB', () => {
  it.each([
    ['快递到哪了', 'ship-track'],
    ['能开专票吗', 'inv-special'],
    ['包邮吗', 'ship-free'],
    ['積分能抵現嗎？', 'mem-points'], // traditional characters, full-width question mark
    ['ＶＩＰ会员等级有哪些', 'mem-levels'], // full-width letters
  ])('answers %s with %s', (text, id) => {
    const d = decide(retriever, text, 0);
    expect(d.kind).toBe('answer');
    if (d.kind === 'answer') expect(d.candidate.entry.id).toBe(id);
  });

  it('a typo (欵 for 款) still puts the right entry first, answering or asking', () => {
    const d = decide(retriever, '退欵多久到账', 0);
    const top = d.kind === 'answer' ? d.candidate : d.kind === 'clarify' ? d.candidates[0] : null;
    expect(top?.entry.id).toBe('ref-when');
  });

  it('asks which one when two entries fit equally well', () => {
    const d = decide(retriever, '运费', 0); // 包邮吗 or 退货运费?
    expect(d.kind).toBe('clarify');
    if (d.kind === 'clarify') {
      expect(d.candidates.length).toBeGreaterThanOrEqual(2);
      expect(d.candidates.length).toBeLessThanOrEqual(3);
      expect(d.candidates.map((c) => c.entry.id)).toEqual(expect.arrayContaining(['ship-free', 'ret-fee']));
    }
  });

  it('misses out-of-scope questions, and the second miss in a row hands off', () => {
    expect(decide(retriever, '能便宜点吗', 0).kind).toBe('miss');
    const second = decide(retriever, '能便宜点吗', MAX_MISSES - 1);
    expect(second).toMatchObject({ kind: 'handoff', reason: 'bot_miss' });
  });

  it('hands off at once on an explicit ask, with the category of the question when there is one', () => {
    expect(decide(retriever, '转人工', 0)).toMatchObject({ kind: 'handoff', reason: 'customer_request' });
    const d = decide(retriever, '退款一直没到账，转人工', 0);
    expect(d).toMatchObject({ kind: 'handoff', category: '退款' });
  });
});

describe('asksForHuman', () => {
  it.each(['人工', '转人工', '人工客服', '我要人工客服', '客服', '找客服！', '真人服务', '帮我转人工谢谢'])('%s is an ask for a person', (t) => {
    expect(asksForHuman(t)).toBe(true);
  });
  it.each(['人工客服几点上班', '客服电话是多少', '退货怎么弄'])('%s is a question, not an ask', (t) => {
    expect(asksForHuman(t)).toBe(false);
  });
});

describe('index rebuild', () => {
  it('builds in slices that let other work run, and answers exactly like the one-shot build', async () => {
    const entries = demoKb().map((e) => ({ ...e, enabled: true }));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const built = await Retriever.build(entries, { slice: 20 });
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0);
    for (const t of ['快递到哪了', '退款多久到账', '能开专票吗', '今天天气怎么样'])
      expect(built.search(t, 3).map((c) => [c.entry.id, c.score.toFixed(6)])).toEqual(retriever.search(t, 3).map((c) => [c.entry.id, c.score.toFixed(6)]));
  });
});
