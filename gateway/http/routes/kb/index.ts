import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { transaction } from '../../../../core/db/client.ts';
import { audit } from '../../../../core/audit.ts';
import { authorize, isSupervisor } from '../../../../core/agents/policies.ts';
import { badRequest, notFound } from '../../../../core/errors.ts';
import { parseKbCsv, toKbCsv } from '../../../../core/knowledge/csv.ts';
import {
  addSimilar,
  categories,
  createEntry,
  deleteEntry,
  entryInput,
  entryPatch,
  getEntry,
  listEntries,
  updateEntry,
  upsertEntries,
} from '../../../../core/knowledge/entries.ts';
import { parseKbJsonl } from '../../../../core/knowledge/jsonl.ts';
import { presentEntry, presentUnanswered } from '../../../../core/knowledge/presenter.ts';
import { closeUnanswered, listUnanswered } from '../../../../core/knowledge/unanswered.ts';
import { saveSynonyms, shopSynonyms } from '../../../../bot/synonym-store.ts';
import { DEFAULT_SYNONYMS } from '../../../../bot/synonyms.ts';
import { readJson, readRaw } from '../../body.ts';
import type { HttpContext } from '../../context.ts';
import { actorOf, requireAgent } from '../../middleware/auth.ts';
import { parse } from '../../../validate.ts';
import { hasNul } from '../../../../core/nul.ts';

const listQuery = z.object({
  q: z.string().trim().max(100).optional(),
  category: z.string().trim().max(32).optional(),
  enabled: z.enum(['true', 'false']).optional(),
});
const formatQuery = z.object({ format: z.enum(['jsonl', 'csv']).default('jsonl') });
const resolveBody = z.discriminatedUnion('action', [
  z.object({ action: z.literal('add_similar'), entryId: z.string().min(1).max(64), question: z.string().trim().min(1).max(500).optional() }),
  z.object({ action: z.literal('new_entry'), entry: entryInput.partial({ question: true }) }),
  z.object({ action: z.literal('ignore') }),
]);
const testBody = z.object({ text: z.string().trim().min(1).max(500) });
const unansweredQuery = z.object({ status: z.enum(['open', 'added', 'ignored']).default('open') });
const IMPORT_LIMIT = 5 * 1024 * 1024;

/**
 * `/api/v1/kb`: the knowledge base the bot answers from. Agents read and try the bot; supervisors change
 * entries, import/export, turn unanswered questions into knowledge, and edit synonyms. Every change rebuilds
 * the bot's index (in the background, without pausing live answers).
 */
export function kbRoutes(app: HttpContext): Router {
  const r = new Router({ prefix: '/api/v1/kb' });
  r.use(requireAgent(app));
  const sql = app.deps.sql;
  const supervisor = (ctx: Context) => {
    const actor = actorOf(ctx);
    authorize(isSupervisor(actor), '只有主管可以修改知识库');
    return actor;
  };
  const changed = async (actorId: string, action: string, target: string) => {
    await audit(sql, { actorId, action, targetType: 'kb', targetId: target });
    await app.kb.changed();
  };

  r.get('/entries', async (ctx) => {
    const q = parse(listQuery, ctx.query);
    const rows = await listEntries(sql, { q: q.q, category: q.category, enabled: q.enabled === undefined ? undefined : q.enabled === 'true' });
    ctx.body = { entries: rows.map(presentEntry) };
  });
  r.get('/entries/:id', async (ctx) => {
    ctx.body = { entry: presentEntry(await getEntry(sql, ctx.params.id)) };
  });
  r.post('/entries', async (ctx) => {
    const actor = supervisor(ctx);
    const entry = await createEntry(sql, await readJson(ctx, entryInput));
    await changed(actor.id, 'kb.create', entry.id);
    ctx.status = 201;
    ctx.body = { entry: presentEntry(entry) };
  });
  r.put('/entries/:id', async (ctx) => {
    const actor = supervisor(ctx);
    const entry = await updateEntry(sql, ctx.params.id, await readJson(ctx, entryPatch));
    await changed(actor.id, 'kb.update', entry.id);
    ctx.body = { entry: presentEntry(entry) };
  });
  r.delete('/entries/:id', async (ctx) => {
    const actor = supervisor(ctx);
    await deleteEntry(sql, ctx.params.id);
    await changed(actor.id, 'kb.delete', ctx.params.id);
    ctx.status = 204;
  });
  r.get('/categories', async (ctx) => {
    ctx.body = { categories: await categories(sql) };
  });

  r.get('/export', async (ctx) => {
    const { format } = parse(formatQuery, ctx.query);
    const entries = await listEntries(sql);
    // the whole knowledge base leaving the shop: who took it is kept, as for reveals and merges
    await audit(sql, { actorId: actorOf(ctx).id, action: 'kb.export', targetType: 'kb', targetId: format, details: { entries: entries.length } });
    ctx.set('content-disposition', `attachment; filename="huike-kb.${format}"`);
    if (format === 'csv') {
      ctx.type = 'text/csv; charset=utf-8';
      ctx.body = toKbCsv(entries);
    } else {
      ctx.type = 'application/x-ndjson; charset=utf-8';
      ctx.body = entries.map((e) => JSON.stringify({ id: e.id, category: e.category, question: e.question, similar: e.similar, answer: e.answer, enabled: e.enabled })).join('\n') + '\n';
    }
  });
  // the whole file is validated first; one bad line and nothing is imported
  r.post('/import', async (ctx) => {
    const actor = supervisor(ctx);
    const { format } = parse(formatQuery, ctx.query);
    const text = (await readRaw(ctx, IMPORT_LIMIT)).toString('utf8');
    if (!text.trim()) throw badRequest('empty_file', '文件是空的');
    const entries = format === 'csv' ? parseKbCsv(text) : parseKbJsonl(text).map((e) => ({ ...e, enabled: (e as { enabled?: boolean }).enabled ?? true }));
    if (hasNul(entries)) throw badRequest('invalid_text', '文件中有空字符（U+0000），请另存为 UTF-8 文本后重试');
    await transaction(sql, (tx) => upsertEntries(tx, entries));
    await changed(actor.id, 'kb.import', `${entries.length}`);
    ctx.body = { imported: entries.length };
  });

  r.get('/unanswered', async (ctx) => {
    const { status } = parse(unansweredQuery, ctx.query);
    ctx.body = { questions: (await listUnanswered(sql, status)).map(presentUnanswered) };
  });
  r.post('/unanswered/:id/resolve', async (ctx) => {
    const actor = supervisor(ctx);
    const id = Number(ctx.params.id);
    if (!Number.isInteger(id) || id <= 0) throw badRequest('invalid_id', '问题 id 不正确');
    const body = await readJson(ctx, resolveBody);
    const [row] = await sql<{ text: string }[]>`select text from kb_unanswered where id = ${id}`;
    if (!row) throw notFound('待处理问题');
    const text = row.text;
    let entryId: string | null = null;
    // KB change and closing the question in one transaction: never one without the other
    const done = await transaction(sql, async (tx) => {
      if (body.action === 'add_similar') entryId = (await addSimilar(tx, body.entryId, body.question ?? text)).id;
      if (body.action === 'new_entry') {
        const entry = parse(entryInput, { ...body.entry, question: body.entry.question ?? text });
        entryId = (await createEntry(tx, entry)).id;
      }
      return closeUnanswered(tx, id, body.action === 'ignore' ? 'ignored' : 'added', entryId, actor.id);
    });
    if (entryId) await changed(actor.id, `kb.${body.action}`, entryId);
    ctx.body = { question: presentUnanswered(done), entryId };
  });

  // the console's test box: what would the bot do with this message?
  r.post('/test', async (ctx) => {
    const { text } = await readJson(ctx, testBody);
    const d = app.bot.decide(text);
    const candidates = d.kind === 'answer' ? [d.candidate] : d.kind === 'handoff' ? [] : d.candidates;
    ctx.body = {
      decision: d.kind,
      reason: d.kind === 'handoff' ? d.reason : null,
      intent: app.bot.classify(text),
      candidates: candidates.map((c) => ({ id: c.entry.id, question: c.entry.question, answer: c.entry.answer, score: Math.round(c.score * 1000) / 1000, matched: c.matched })),
    };
  });

  r.get('/synonyms', async (ctx) => {
    ctx.body = { defaults: DEFAULT_SYNONYMS, shop: await shopSynonyms(sql) };
  });
  r.put('/synonyms', async (ctx) => {
    const actor = supervisor(ctx);
    const shop = await saveSynonyms(sql, await readJson(ctx, z.unknown()), actor.id);
    await changed(actor.id, 'kb.synonyms', 'bot_synonyms');
    ctx.body = { defaults: DEFAULT_SYNONYMS, shop };
  });
  return r;
}
