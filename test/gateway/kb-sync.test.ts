import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/client.ts';
import { testDatabase } from '../support/db.ts';
import { buildAgent, buildTeam } from '../support/factories.ts';
import { startTestHuike, type TestHuike } from '../support/huike.ts';
import { databaseBehindRelay } from '../support/tcp-proxy.ts';

// Two nodes over one PostgreSQL (no Redis needed): a KB edit made through node A changes node B's answers.
// The embedded database serves one node only, so there is nothing to follow there.
describe.skipIf(!process.env.DATABASE_URL)('KB changes reach every node', () => {
  let db: Database;
  let a: TestHuike;
  let b: TestHuike;
  let token = '';
  beforeAll(async () => {
    db = await testDatabase();
    a = await startTestHuike({ database: db });
    b = await startTestHuike({ database: db });
    const team = await buildTeam(db.sql, { isDefault: true });
    token = await a.login((await buildAgent(db.sql, { role: 'supervisor', teamIds: [team.id] })).email);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.close();
  });

  const decisionOn = (node: TestHuike, text: string) => node.bot.decide(text).kind;
  const edit = (path: string, method: string, body?: unknown) =>
    a.api(token, path, { method, body: body === undefined ? undefined : JSON.stringify(body) }).then((r) => expect(r.status).toBeLessThan(300));

  it('an entry added, edited and removed on node A is answered, changed and forgotten on node B', async () => {
    const question = '你们的发票可以开专票吗';
    expect(decisionOn(b, question)).not.toBe('answer');
    await edit('/kb/entries', 'POST', { id: 'invoice-special', category: '发票', question, answer: '可以开增值税专用发票，请提供税号。' });
    // node A rebuilt before it answered; node B within a moment
    expect(decisionOn(a, question)).toBe('answer');
    await expect.poll(() => decisionOn(b, question), { timeout: 5000 }).toBe('answer');

    await edit('/kb/entries/invoice-special', 'PUT', { answer: '可以开专票，下单备注税号即可。' });
    await expect.poll(() => { const d = b.bot.decide(question); return d.kind === 'answer' ? d.candidate.entry.answer : null; }, { timeout: 5000 }).toBe('可以开专票，下单备注税号即可。');

    await edit('/kb/entries/invoice-special', 'DELETE');
    await expect.poll(() => decisionOn(b, question), { timeout: 5000 }).not.toBe('answer');
  });

  it('a change made while node B had lost the database reaches B once it is back', { timeout: 30_000 }, async () => {
    // node B behind a relay the test cuts; node A keeps its connection and goes on editing
    const relayed = await databaseBehindRelay();
    const a2 = await startTestHuike({ database: relayed.direct });
    const b2 = await startTestHuike({ database: relayed.database });
    try {
      const team = await buildTeam(relayed.direct.sql, { isDefault: true });
      const sup = await a2.login((await buildAgent(relayed.direct.sql, { role: 'supervisor', teamIds: [team.id] })).email);
      const question = '可以用花呗分期付款吗';
      await relayed.proxy.cut();
      const r = await a2.api(sup, '/kb/entries', { method: 'POST', body: JSON.stringify({ id: 'huabei', category: '支付', question, answer: '支持花呗分期，下单时选择即可。' }) });
      expect(r.status).toBe(201);
      await new Promise((resolve) => setTimeout(resolve, 1500)); // longer than a reconnect attempt's backoff
      expect(decisionOn(b2, question)).not.toBe('answer'); // the notification was sent while B could not hear it
      await relayed.proxy.restore();
      await expect.poll(() => decisionOn(b2, question), { timeout: 15_000 }).toBe('answer');
    } finally {
      await b2.close();
      await a2.close();
      await relayed.close();
    }
  });
});
