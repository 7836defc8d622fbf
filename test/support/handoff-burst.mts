// A separate process that hands off its share of conversations all at once (the multi-process routing proof).
// usage: node --import tsx test/support/handoff-burst.mts DATABASE_URL IDS_FILE
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { openDatabase } from '../../core/db/client.ts';
import { EventBus } from '../../core/events.ts';
import { handoff } from '../../core/tickets/tickets.ts';

const [url, file] = process.argv.slice(2);
const ids = JSON.parse(readFileSync(file, 'utf8')) as string[];
const db = await openDatabase({ databaseUrl: url });
const deps = { sql: db.sql, bus: new EventBus(), log: pino({ level: 'silent' }) };
let failed = 0;
// 4 processes × 300 transactions on 20 connections each: on a loaded CI machine some wait past the pool's 5 s
// deadline (CONNECT_TIMEOUT, what a callback answers 503 for). Like a retrying caller, try those again; the test's
// claim is about double assignment and capacity, which a retry must not break either.
const attempt = async (conversationId: string): Promise<unknown> => {
  for (let i = 1; ; i++) {
    try {
      return await handoff(deps, { conversationId, category: '并发', reason: 'customer_request' });
    } catch (err) {
      if ((err as { code?: string }).code !== 'CONNECT_TIMEOUT' || i === 5) throw err;
    }
  }
};
await Promise.all(
  ids.map((conversationId) =>
    attempt(conversationId).catch((err) => {
      failed++;
      console.error(String(err));
    }),
  ),
);
await db.close();
process.exit(failed ? 1 : 0);
