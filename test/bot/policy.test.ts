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

  it('asks which one when several entries fit equally well', () => {
    const d = decide(retriever, '尺码', 0); // how to choose, the size table, or does it run large?
    expect(d.kind).toBe('clarify');
    if (d.kind === 'clarify') {
      expect(d.candidates.length).toBeGreaterThanOrEqual(2);
      expect(d.candidates.length).toBeLessThanOrEqual(3);
      expect(d.candidates.map((c) => c.entry.id)).toEqual(expect.arrayContaining(['size-how', 'size-table']));
    }
  });

  it('weighs the margin against the best other candidate, not the one the rerankers put second', () => {
    const entry = (id: string) => demoKb().find((e) => e.id === id)!;
    const ranked = (scores: [string, number][]) =>
      ({ search: () => scores.map(([id, score]) => ({ entry: { ...entry(id), enabled: true }, score, matched: id })) }) as unknown as Retriever;
    // reordered so that ref-only comes first, though ref-when scored higher
    expect(decide(ranked([['ref-only', 0.74], ['ref-progress', 0.66], ['ref-when', 0.81]]), '退款', 0).kind).toBe('clarify');
    expect(decide(ranked([['ref-only', 0.76], ['ref-progress', 0.66], ['ref-when', 0.5]]), '退款', 0).kind).toBe('answer');
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
  it('builds in slices that let other work run, answers at once, and once its ranker (trained on a worker thread) joins answers exactly like the one-shot build', async () => {
    const entries = demoKb().map((e) => ({ ...e, enabled: true }));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const built = await Retriever.build(entries, { slice: 20, ranker: 'thread' });
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0);
    const texts = ['快递到哪了', '退款多久到账', '能开专票吗', '今天天气怎么样', '是不是全棉的', '开发票需要多久', '新人券在哪里领'];
    const top = (r: Retriever, t: string) => r.search(t, 3).map((c) => [c.entry.id, c.score.toFixed(6)]);
    // before the ranker joins: the same candidates and scores, ordered by retrieval and naive Bayes alone
    for (const t of texts) expect(new Set(top(built, t).map(([id]) => id)).size).toBe(top(built, t).length);
    await built.rankerReady;
    for (const t of texts) expect(top(built, t)).toEqual(top(retriever, t));
  });

  it('a small KB trains its ranker on this thread, in slices, and answers like the one-shot build at once', async () => {
    const entries = demoKb().map((e) => ({ ...e, enabled: true }));
    const built = await Retriever.build(entries);
    for (const t of ['付了款怎么迟迟不发', '能开普通发票吗', '国外地址能下单吗']) expect(built.search(t, 3).map((c) => c.entry.id)).toEqual(retriever.search(t, 3).map((c) => c.entry.id));
  });

  it('a build replaced before its ranker arrives stops training, and its rankerReady still settles', async () => {
    const entries = demoKb().map((e) => ({ ...e, enabled: true }));
    const built = await Retriever.build(entries, { ranker: 'thread' });
    built.dispose();
    await expect(built.rankerReady).resolves.toBeUndefined();
    expect(built.search('退款多久到账', 1)[0].entry.id).toBe('ref-when');
  });
});

describe('the learned ranker', () => {
  const withoutRanker = new Retriever(demoKb().map((e) => ({ ...e, enabled: true })), { ranker: false });
  it.each([
    ['国外地址能下单吗', 'ship-overseas', 'ship-address'], // "地址" pulls toward changing the address
    ['能开普通发票吗', 'inv-how', 'inv-when'],
    ['付了款怎么迟迟不发', 'ship-urge', 'ship-when'], // a complaint about waiting, not a question of when
  ])('puts %s first as %s, where retrieval and naive Bayes alone pick %s', (text, right, wrong) => {
    expect(withoutRanker.search(text, 1)[0].entry.id).toBe(wrong);
    expect(retriever.search(text, 1)[0].entry.id).toBe(right);
  });
});
