import { describe, expect, it } from 'vitest';
import { inlineAnswers, type InlineQuestion } from '../../core/conversations/inline-answer.ts';

const msg = (key: string, text: string, over: Partial<{ echo: boolean; optOut: boolean; status: string }> = {}) => ({
  key,
  echo: over.echo,
  optOut: over.optOut ?? false,
  existing: over.status ? { id: `c-${key}`, status: over.status, botMisses: 1 } : undefined,
  type: 'text',
  text,
});

describe('which new messages are answered in the transaction that stores them', () => {
  const echoing = (q: InlineQuestion) => (q.text === '?' ? null : { text: `re: ${q.text} (${q.botMisses})` });

  it("only a bot conversation's single new message, never an opt-out or a servicer's own message", () => {
    const answers = inlineAnswers(echoing, [
      msg('a', 'hi'),
      msg('b', 'one', { status: 'bot' }),
      msg('b', 'two', { status: 'bot' }),
      msg('c', 'mine', { status: 'open' }),
      msg('d', '退订', { optOut: true }),
      msg('e', 'from the app', { echo: true }),
      msg('f', '?', { status: 'bot' }),
      msg('g', 'there', { status: 'bot' }),
    ]);
    expect([...answers]).toEqual([
      [0, { text: 're: hi (0)' }],
      [7, { text: 're: there (1)' }],
    ]);
  });

  it('leaves a message to the bot after commit when the answerer throws, instead of failing the batch', () => {
    const answers = inlineAnswers(
      (q) => {
        if (q.text === 'boom') throw new Error('bot bug');
        return { text: 'ok' };
      },
      [msg('a', 'boom'), msg('b', 'fine')],
    );
    expect([...answers]).toEqual([[1, { text: 'ok' }]]);
  });

  it('answers nothing without an answerer (a node without the bot, a test deps)', () => {
    expect(inlineAnswers(undefined, [msg('a', 'hi')]).size).toBe(0);
  });
});
