import { existsSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundleServer } from '../../gateway/bundle.js';

const entry = new URL('../fixtures/bundle/entry.ts', import.meta.url);

describe('the server compiled at start (gateway/bundle.js)', () => {
  it('gives each module its own import.meta.url, so data files beside the sources are found', async () => {
    const url: string = await bundleServer(entry);
    expect(url).toMatch(/node_modules\/\.cache\/huike\/entry-[0-9a-f]{16}\.mjs$/);
    const mod = (await import(url)) as { fromData: string; entryUrl: string };
    expect(mod.fromData).toBe('你好，回客');
    expect(fileURLToPath(mod.entryUrl)).toBe(fileURLToPath(entry));
    // the same sources give the same file: nodes starting together share it
    expect(await bundleServer(entry)).toBe(url);
  });

  it('removes bundles of the same entry older than a day, and keeps the current one', async () => {
    const url: string = await bundleServer(entry);
    const dir = path.dirname(fileURLToPath(url));
    const old = path.join(dir, 'entry-0000000000000000.mjs');
    const recent = path.join(dir, 'entry-1111111111111111.mjs');
    writeFileSync(old, '');
    writeFileSync(recent, '');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    utimesSync(old, twoDaysAgo, twoDaysAgo);
    expect(await bundleServer(entry)).toBe(url);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(recent)).toBe(true);
    expect(existsSync(fileURLToPath(url))).toBe(true);
    rmSync(recent);
  });

  it('points the source map comment at the map, and leaves code that looks like that comment alone', async () => {
    const url: string = await bundleServer(new URL('../fixtures/bundle/map-comment.ts', import.meta.url));
    const mod = (await import(url)) as { pattern: RegExp; note: string };
    expect(mod.note).toBe('//# sourceMappingURL=not-this-one.map');
    expect(mod.pattern.test('//# sourceMappingURL=x')).toBe(true);
    const text = readFileSync(fileURLToPath(url), 'utf8');
    expect(text.trimEnd().split('\n').at(-1)).toBe(`//# sourceMappingURL=${path.basename(fileURLToPath(url))}.map`);
  });
});

