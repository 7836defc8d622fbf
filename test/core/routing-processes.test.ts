import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingestInbound } from '../../core/conversations/ingest.ts';
import { depsFor, testDatabase } from '../support/db.ts';
import { buildAgent, buildTeam } from '../support/factories.ts';

const PROCESSES = 4;
const HANDOFFS = 300;
const AGENTS = 10;
const CAPACITY = 5;

describe('routing under concurrent handoffs from several processes', () => {
  // several processes need a server: PGlite is in-process
  it.skipIf(!process.env.DATABASE_URL)(`${HANDOFFS} handoffs from ${PROCESSES} processes: no ticket twice, no agent over capacity`, { timeout: 120_000 }, async () => {
    const db = await testDatabase();
    try {
      const deps = depsFor(db);
      const team = await buildTeam(db.sql, { name: '并发组', categories: ['并发'], isDefault: true });
      const agents = [];
      for (let i = 0; i < AGENTS; i++) agents.push(await buildAgent(db.sql, { teamIds: [team.id], status: 'online', maxConcurrent: CAPACITY }));
      const ids: string[] = [];
      for (let i = 0; i < HANDOFFS; i++) {
        const r = await ingestInbound(deps, { channel: 'web', channelMsgId: `burst-${i}`, identity: { kind: 'web_visitor', value: `burst-visitor-${i}` }, type: 'text', text: '转人工' });
        ids.push(r.conversation.id);
      }
      const dir = mkdtempSync(path.join(tmpdir(), 'huike-burst-'));
      // every process gets every conversation: the same handoffs race across processes, not just within one
      const file = path.join(dir, 'ids.json');
      writeFileSync(file, JSON.stringify(ids));
      const codes = await Promise.all(
        Array.from({ length: PROCESSES }, () =>
          new Promise<number | null>((resolve) => {
            const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/handoff-burst.mts', db.url!, file], { stdio: ['ignore', 'ignore', 'inherit'] });
            child.on('exit', resolve);
          }),
        ),
      );
      expect(codes).toEqual(Array(PROCESSES).fill(0));

      const [totals] = await db.sql<{ tickets: number; conversations: number; assigned: number; queued: number }[]>`
        select count(*)::int as tickets, count(distinct conversation_id)::int as conversations,
               (count(*) filter (where status = 'assigned'))::int as assigned, (count(*) filter (where status = 'new'))::int as queued
          from tickets where team_id = ${team.id}`;
      expect(totals).toEqual({ tickets: HANDOFFS, conversations: HANDOFFS, assigned: AGENTS * CAPACITY, queued: HANDOFFS - AGENTS * CAPACITY });
      const loads = await db.sql<{ n: number }[]>`
        select count(*)::int as n from tickets where team_id = ${team.id} and status = 'assigned' group by assignee_id`;
      expect(loads.map((l) => l.n)).toEqual(Array(AGENTS).fill(CAPACITY));
      const [twice] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from (select ticket_id from ticket_events where type = 'assigned' group by ticket_id having count(*) > 1) x`;
      expect(twice.n).toBe(0);
      const [mismatch] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from tickets t join conversations c on c.id = t.conversation_id
         where t.team_id = ${team.id} and t.status = 'assigned' and (c.assignee_id is distinct from t.assignee_id or c.status <> 'open')`;
      expect(mismatch.n).toBe(0);
    } finally {
      await db.close();
    }
  });
});
