import { spawn } from 'node:child_process';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beat, listNodes } from '../../core/agents/nodes.ts';
import type { Database } from '../../core/db/client.ts';
import { printNodes } from '../../gateway/nodes-cli.ts';
import { testDatabase } from '../support/db.ts';
import { buildAgent } from '../support/factories.ts';

const run = (args: string[], env: Record<string, string>) =>
  new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, ['gateway/bin.js', ...args], { env: { ...process.env, ...env, LOG_LEVEL: 'silent' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });

// `huike nodes`: what the on-call looks at when a node may have died
describe('huike nodes', () => {
  let db: Database & { url?: string };
  beforeAll(async () => {
    db = await testDatabase();
    await beat(db.sql, { id: 'aaaaaaaa-alive', host: 'gw-1', pid: 101 });
    await db.sql`
      insert into gateway_nodes (id, host, pid, started_at, seen_at, stopped_at) values
        ('bbbbbbbb-lost', 'gw-2', 202, now() - interval '1 hour', now() - interval '90 seconds', null),
        ('cccccccc-stopped', 'gw-3', 303, now() - interval '2 hours', now() - interval '1 hour', now() - interval '1 hour')`;
    const agent = await buildAgent(db.sql, { status: 'online' });
    await db.sql`update agents set console_node = 'aaaaaaaa-alive' where id = ${agent.id}`;
  });
  afterAll(() => db.close());

  it('lists the nodes alive first, then the lost, then the stopped, with the agents on each', async () => {
    const rows = await listNodes(db.sql, 10_000);
    expect(rows.map((r) => [r.id, r.state, r.agents])).toEqual([
      ['aaaaaaaa-alive', 'alive', 1],
      ['bbbbbbbb-lost', 'lost', 0],
      ['cccccccc-stopped', 'stopped', 0],
    ]);
    const lines: string[] = [];
    printNodes(rows, (l) => lines.push(l));
    expect(lines[0]).toMatch(/^状态 state\s+节点 node\s+主机 host/);
    expect(lines[1]).toMatch(/^在线 alive\s+aaaaaaaa\s+gw-1\s+101\s.*\s+1$/);
    expect(lines[2]).toMatch(/^失联 lost\s+bbbbbbbb\s+gw-2\s+202\s.*90 秒前\s+0$/);
    expect(lines[3]).toMatch(/^已停止 stopped\s+cccccccc\s+gw-3/);
    expect(lines[4]).toContain('在线 1 个，失联 1 个，已停止 1 个');
    // the columns line up, the Chinese counted as two columns each
    const col = (line: string) => [...line.slice(0, line.indexOf(line.includes('aaaa') ? 'aaaa' : line.includes('bbbb') ? 'bbbb' : 'cccc'))].reduce((w, ch) => w + (/[\u3000-\u9fff]/.test(ch) ? 2 : 1), 0);
    expect(new Set([col(lines[1]), col(lines[2]), col(lines[3])]).size).toBe(1);
  });

  it.skipIf(!process.env.DATABASE_URL)('runs as `huike nodes --json`; on a database never migrated it says so, without a stack trace', { timeout: 60_000 }, async () => {
    const r = await run(['nodes', '--json'], { DATABASE_URL: db.url! });
    expect(r.code, r.err).toBe(0);
    const rows = JSON.parse(r.out.trim().split('\n').at(-1)!) as { id: string; state: string }[];
    expect(rows.map((x) => x.state)).toEqual(['alive', 'lost', 'stopped']);

    const admin = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
    const empty = `huike_t_nodes_${process.pid}`;
    await admin.unsafe(`create database ${empty}`);
    try {
      const url = new URL(process.env.DATABASE_URL!);
      url.pathname = `/${empty}`;
      const bare = await run(['nodes'], { DATABASE_URL: url.toString() });
      expect(bare.code).toBe(1);
      expect(bare.err).toContain('请先运行 huike migrate');
      expect(bare.err).not.toMatch(/\n\s+at /);
    } finally {
      await admin.unsafe(`drop database if exists ${empty}`);
      await admin.end();
    }
  });
});
