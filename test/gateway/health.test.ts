import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHuike, type TestHuike } from '../support/huike.ts';

describe('GET /healthz when the database is gone', () => {
  let h: TestHuike;
  beforeAll(async () => {
    h = await startTestHuike();
  });
  afterAll(() => h.stop());

  it('answers 503 with a JSON error instead of hanging or crashing', async () => {
    expect((await request(h.http).get('/healthz')).status).toBe(200);
    await h.database.close();
    const res = await request(h.http).get('/healthz');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ ok: false, error: { code: 'database_unavailable' } });
  });
});
