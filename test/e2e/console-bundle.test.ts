import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CONSOLE_DIST } from '../../gateway/huike.ts';
import { ensureConsoleBuilt } from '../../gateway/console-build.ts';

describe('console bundle', () => {
  it('the console route loads under 400 KB of gzipped JS; the dashboard and its charts are a separate chunk', { timeout: 120_000 }, async () => {
    await ensureConsoleBuilt();
    const html = readFileSync(path.join(CONSOLE_DIST, 'index.html'), 'utf8');
    const initial = [...html.matchAll(/(?:src|href)="\/assets\/([^"]+\.js)"/g)].map((m) => m[1]);
    expect(initial.some((f) => f.startsWith('console-'))).toBe(true);
    const gz = initial.map((f) => ({ f, kb: gzipSync(readFileSync(path.join(CONSOLE_DIST, 'assets', f))).length / 1024 }));
    const total = gz.reduce((a, x) => a + x.kb, 0);
    console.log(`console initial JS: ${total.toFixed(0)} KB gzip (${gz.map((x) => `${x.f.replace(/-[\w-]+\.js$/, '')} ${x.kb.toFixed(0)}`).join(', ')})`);
    expect(total).toBeLessThan(400);
    expect(initial.some((f) => /^(DashboardPage|Chart)-/.test(f))).toBe(false);
    expect(initial.join(' ')).not.toMatch(/echarts/i);
  });
});
