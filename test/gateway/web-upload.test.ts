import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/client.ts';
import { UPLOAD_LIMIT } from '../../gateway/channels/web/uploads.ts';
import { testDatabase } from '../support/db.ts';
import { startTestHuike, type TestHuike } from '../support/huike.ts';
import { PNG_1X1 } from '../support/images.ts';

let db: Database;
let h: TestHuike;
// a second node over the same database, with a DATA_DIR of its own (as on another machine)
let other: TestHuike;
beforeAll(async () => {
  db = await testDatabase();
  h = await startTestHuike({ database: db });
  other = await startTestHuike({ database: db });
});
afterAll(async () => {
  await h?.close();
  await other?.close();
  await db?.close();
});

const upload = (body: Buffer | string, headers: Record<string, string> = {}) =>
  fetch(`${h.url}/channels/web/upload`, { method: 'POST', headers: { 'content-type': 'image/png', 'x-visitor-id': 'visitor-upload-1', ...headers }, body: typeof body === 'string' ? body : new Uint8Array(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

describe('pictures from the H5 chat page', () => {
  it('refuses no visitor, non-images by their bytes, other content types and oversized bodies', async () => {
    expect((await upload(PNG_1X1, { 'x-visitor-id': '' })).status).toBe(401);
    expect((await upload('<?php echo 1; ?>')).body.error.code).toBe('invalid_image');
    expect((await upload(PNG_1X1, { 'content-type': 'text/html' })).status).toBe(415);
    expect((await upload(Buffer.alloc(UPLOAD_LIMIT + 1, 1))).status).toBe(413);
  });

  it('stores a picture once by its hash, serves it, and the page sends it as an image message', async () => {
    const a = await upload(PNG_1X1);
    const b = await upload(PNG_1X1);
    expect(a.status).toBe(201);
    expect(a.body.url).toMatch(/^\/uploads\/[0-9a-f]{64}\.png$/);
    expect(b.body.url).toBe(a.body.url);
    const got = await fetch(`${h.url}${a.body.url}`);
    expect(got.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await got.arrayBuffer()).equals(PNG_1X1)).toBe(true);
    expect((await fetch(`${h.url}/uploads/..%2F..%2Fetc%2Fpasswd`)).status).toBe(404);

    const { socket } = await h.customerSocket('visitor-upload-1');
    const ack: any = await socket.timeout(5000).emitWithAck('message:send', { clientMsgId: 'img-1', image: a.body.url });
    expect(ack.ok).toBe(true);
    expect(ack.message).toMatchObject({ type: 'image', payload: { url: a.body.url } });
    const bad: any = await socket.timeout(5000).emitWithAck('message:send', { clientMsgId: 'img-2', image: 'https://evil.example/x.png' });
    expect(bad.ok).toBe(false);
    const [{ n }] = await h.deps.sql<{ n: number }[]>`select count(*)::int as n from messages where sender_type = 'customer'`;
    const never: any = await socket.timeout(5000).emitWithAck('message:send', { clientMsgId: 'img-3', image: `/uploads/${'ab'.repeat(32)}.png` });
    expect(never).toMatchObject({ ok: false, error: { code: 'image_not_found', message: expect.stringContaining('重新上传') } });
    expect((await h.deps.sql<{ n: number }[]>`select count(*)::int as n from messages where sender_type = 'customer'`)[0].n).toBe(n);
  });

  it('a picture taken by one node is served by every node: it is kept in the database, not on one disk', async () => {
    const gif = Buffer.concat([Buffer.from('GIF89a'), Buffer.from([1, 0, 1, 0, 0, 0, 0, 0x3b])]);
    const up = await fetch(`${h.url}/channels/web/upload`, { method: 'POST', headers: { 'content-type': 'image/gif', 'x-visitor-id': 'visitor-upload-2' }, body: new Uint8Array(gif) });
    expect(up.status).toBe(201);
    const { url } = (await up.json()) as { url: string };
    const got = await fetch(`${other.url}${url}`);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('image/gif');
    expect(Buffer.from(await got.arrayBuffer()).equals(gif)).toBe(true);
  });

  it('pictures an earlier version kept under DATA_DIR/uploads are still served', async () => {
    const bytes = Buffer.concat([PNG_1X1, Buffer.from('legacy')]);
    const name = `${createHash('sha256').update(bytes).digest('hex')}.png`;
    mkdirSync(path.join(h.config.DATA_DIR, 'uploads'), { recursive: true });
    writeFileSync(path.join(h.config.DATA_DIR, 'uploads', name), bytes);
    const got = await fetch(`${h.url}/uploads/${name}`);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
    expect((await fetch(`${h.url}/uploads/${'0'.repeat(64)}.png`)).status).toBe(404);
  });
});
