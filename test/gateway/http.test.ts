import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestInbound } from '../../core/conversations/ingest.ts';
import { handoff } from '../../core/tickets/tickets.ts';
import { buildAgent, buildCustomer, buildTeam } from '../support/factories.ts';
import { startTestHuike, type TestHuike } from '../support/huike.ts';

describe('HTTP API', () => {
  let h: TestHuike;
  let agentToken: string;
  let otherToken: string;
  let supervisorToken: string;
  let conversationId: string;
  let customerId: string;
  let agentId: string;

  const count = async (table: string) => (await h.deps.sql<{ n: number }[]>`select count(*)::int as n from ${h.deps.sql(table)}`)[0].n;

  beforeAll(async () => {
    h = await startTestHuike();
    const team = await buildTeam(h.deps.sql, { isDefault: true });
    const otherTeam = await buildTeam(h.deps.sql);
    const agent = await buildAgent(h.deps.sql, { email: 'a@test.huike', teamIds: [team.id], status: 'online' });
    agentId = agent.id;
    await buildAgent(h.deps.sql, { email: 'other@test.huike', teamIds: [otherTeam.id] });
    await buildAgent(h.deps.sql, { email: 'boss@test.huike', role: 'supervisor' });
    agentToken = await h.login('a@test.huike');
    otherToken = await h.login('other@test.huike');
    supervisorToken = await h.login('boss@test.huike');
    const customer = await buildCustomer(h.deps.sql, {
      phone: '13700001111',
      identities: [{ kind: 'web_visitor', value: 'http-visitor-1' }, { kind: 'taobao_nick', value: 'tb_http' }],
      orders: [{ totalFen: 12300 }],
    });
    customerId = customer.id;
    const r = await ingestInbound(h.deps, { channel: 'web', channelMsgId: 'http-1', identity: { kind: 'web_visitor', value: 'http-visitor-1' }, type: 'text', text: '人工' });
    conversationId = r.conversation.id;
    await handoff(h.deps, { conversationId, category: null, reason: 'customer_request' });
    await h.settle();
  });
  afterAll(() => h.close());

  const auth = (t: string) => ({ Authorization: `Bearer ${t}` });

  it('GET /healthz answers ok when the database does', async () => {
    const res = await request(h.http).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('GET /metrics speaks the Prometheus text format and counts requests', async () => {
    await request(h.http).get('/healthz');
    const res = await request(h.http).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(res.text).toMatch(/huike_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/);
  });

  it('GET /metrics shows the outbox backlog: waiting replies, the oldest one’s age, recent failures', async () => {
    const c = await buildCustomer(h.deps.sql);
    const [idn] = await h.deps.sql`select id from identities where customer_id = ${c.id}`;
    const [conv] = await h.deps.sql`insert into conversations (customer_id, identity_id, channel) values (${c.id}, ${idn.id}, 'web') returning id`;
    const message = async (seq: number) =>
      (await h.deps.sql`insert into messages (conversation_id, channel, seq, sender_type, type, text) values (${conv.id}, 'web', ${seq}, 'bot', 'text', '稍等') returning id`)[0].id;
    // due tomorrow, so no worker sends them meanwhile
    await h.deps.sql`insert into outbox (message_id, channel, next_attempt_at, created_at) values (${await message(1)}, 'web', now() + interval '1 day', now() - interval '90 seconds')`;
    await h.deps.sql`insert into outbox (message_id, channel, status, next_attempt_at) values (${await message(2)}, 'web', 'failed', now())`;
    const text = (await request(h.http).get('/metrics')).text;
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('huike_outbox_pending')).toBeGreaterThanOrEqual(1);
    expect(value('huike_outbox_oldest_pending_seconds')).toBeGreaterThanOrEqual(90);
    expect(value('huike_outbox_failed_last_hour')).toBeGreaterThanOrEqual(1);
  });

  it('GET /metrics shows the gateway nodes beating now, and those that fell silent without stopping', async () => {
    const text = async () => (await request(h.http).get('/metrics')).text;
    const value = (t: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(t)?.[1]);
    const before = await text();
    expect(value(before, 'huike_gateway_nodes_alive')).toBeGreaterThanOrEqual(1); // this one
    await h.deps.sql`
      insert into gateway_nodes (id, host, pid, seen_at, stopped_at) values
        ('metrics-crashed', 'test', 1, now() - interval '1 minute', null),
        ('metrics-stopped', 'test', 2, now() - interval '1 minute', now() - interval '1 minute'),
        ('metrics-long-gone', 'test', 3, now() - interval '2 hours', null)`;
    const after = await text();
    expect(value(after, 'huike_gateway_nodes_lost_last_hour')).toBe(value(before, 'huike_gateway_nodes_lost_last_hour') + 1);
    expect(value(after, 'huike_gateway_nodes_alive')).toBe(value(before, 'huike_gateway_nodes_alive'));
  });

  it('GET /metrics shows password guessing: failed logins in the lockout window, and the accounts locked now', async () => {
    const value = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec((await request(h.http).get('/metrics')).text)?.[1]);
    const [failures, locked] = [await value('huike_login_failures_last_15m'), await value('huike_accounts_locked')];
    for (let i = 0; i < 5; i++) await request(h.http).post('/api/v1/auth/login').send({ email: 'guessed@x.test', password: `guess-${i}` });
    await request(h.http).post('/api/v1/auth/login').send({ email: 'typo@x.test', password: 'nope' });
    // an hour-old failure is outside the window
    await h.deps.sql`insert into login_failures (email, ip, at) values ('old@x.test', '10.0.0.1', now() - interval '1 hour')`;
    expect(await value('huike_login_failures_last_15m')).toBe(failures + 6);
    expect(await value('huike_accounts_locked')).toBe(locked + 1);
  });

  it('GET /metrics shows the group-commit batches: how many writes each carried and how long it took', async () => {
    const count = async () => {
      const text = (await request(h.http).get('/metrics')).text;
      return Number(/^huike_batch_size_count\{batch="ingest"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    };
    const before = await count();
    await Promise.all(['m1', 'm2', 'm3'].map((id) => ingestInbound(h.deps, { channel: 'web', channelMsgId: `batch-metrics:${id}`, identity: { kind: 'web_visitor', value: `batch-metrics-${id}` }, type: 'text', text: '在吗' })));
    // three calls in one turn of the event loop: one batch, or a few under a busy machine
    const after = await count();
    expect(after - before).toBeGreaterThanOrEqual(1);
    expect(after - before).toBeLessThanOrEqual(3);
    const text = (await request(h.http).get('/metrics')).text;
    expect(text).toMatch(/^huike_batch_seconds_bucket\{le="\+Inf",batch="ingest"\} \d+$/m);
  });

  it('GET /metrics counts the writes run again after a lost database session, by what and why', async () => {
    // a lost session cannot be staged on this node's pool from here (test/faults/db-session-lost.test.ts does it
    // on a pool behind a relay); this is the node's hook for it, as retryAtOnce calls it
    h.deps.retried!('inbound messages', 'CONNECTION_CLOSED');
    const text = (await request(h.http).get('/metrics')).text;
    expect(text).toMatch(/^huike_db_retries_total\{what="inbound messages",code="CONNECTION_CLOSED"\} 1$/m);
  });

  it('with METRICS_TOKEN set, /metrics answers only that bearer token', async () => {
    const guarded = await startTestHuike({ env: { METRICS_TOKEN: 'metrics-token-0123456789' } });
    try {
      const get = (auth?: string) => fetch(`${guarded.url}/metrics`, { headers: auth ? { authorization: auth } : {} });
      const refused = await get();
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as any).error.message).toContain('METRICS_TOKEN');
      expect((await get('Bearer wrong-token-0123456789')).status).toBe(401);
      expect((await get('Bearer short')).status).toBe(401);
      const ok = await get('Bearer metrics-token-0123456789');
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('huike_http_requests_total');
    } finally {
      await guarded.close();
    }
  });

  describe('login', () => {
    it('returns a token and the agent without secrets', async () => {
      const res = await request(h.http).post('/api/v1/auth/login').send({ email: 'A@test.huike', password: 'test-password-1' });
      expect(res.status).toBe(200);
      expect(res.body.token).toMatch(/^ey/);
      expect(res.body.agent).toMatchObject({ email: 'a@test.huike', role: 'agent' });
      // no password nor its hash under any name (the flag mustChangePassword is no secret)
      expect(JSON.stringify(res.body)).not.toMatch(/argon|"password(_?hash)?"|"passwordHash"|"hash"/i);
      expect(JSON.stringify(res.body)).not.toContain('test-password-1');
    });
    it.each([
      [{ email: 'a@test.huike', password: 'wrong' }, 401, 'unauthorized'],
      [{ email: 'nobody@test.huike', password: 'x' }, 401, 'unauthorized'],
      [{ email: 'not-an-email', password: 'x' }, 400, 'invalid_request'],
      [{ email: 'a@test.huike' }, 400, 'invalid_request'],
    ])('rejects %j with %i', async (body, status, code) => {
      const res = await request(h.http).post('/api/v1/auth/login').send(body);
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.message).toBeTruthy();
    });
    it('rejects malformed JSON, a wrong content type and an oversized body', async () => {
      const bad = await request(h.http).post('/api/v1/auth/login').set('Content-Type', 'application/json').send('{"email":');
      expect([bad.status, bad.body.error.code]).toEqual([400, 'invalid_json']);
      const type = await request(h.http).post('/api/v1/auth/login').set('Content-Type', 'text/plain').send('hello');
      expect([type.status, type.body.error.code]).toEqual([415, 'unsupported_media_type']);
      const big = await request(h.http)
        .post('/api/v1/auth/login')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ email: 'a@test.huike', password: 'x'.repeat(100_000) }));
      expect([big.status, big.body.error.code]).toEqual([413, 'payload_too_large']);
    });
  });

  it('refuses /api/v1 without a valid token', async () => {
    for (const headers of [{}, { Authorization: 'Bearer nope' }, { Authorization: 'Basic abc' }]) {
      const res = await request(h.http).get('/api/v1/conversations').set(headers);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    }
  });

  it('refuses a token of a disabled agent at once', async () => {
    const gone = await buildAgent(h.deps.sql, { email: 'gone@test.huike' });
    const token = await h.login('gone@test.huike');
    await h.deps.sql`update agents set disabled_at = now() where id = ${gone.id}`;
    expect((await request(h.http).get('/api/v1/auth/me').set(auth(token))).status).toBe(401);
  });

  it('lists conversations an agent may see: their own and their teams’, everything for supervisors', async () => {
    const mine = await request(h.http).get('/api/v1/conversations').set(auth(agentToken));
    expect(mine.status).toBe(200);
    expect(mine.body.conversations.map((c: { id: string }) => c.id)).toContain(conversationId);
    const other = await request(h.http).get('/api/v1/conversations').set(auth(otherToken));
    expect(other.body.conversations.map((c: { id: string }) => c.id)).not.toContain(conversationId);
    const boss = await request(h.http).get('/api/v1/conversations?status=open').set(auth(supervisorToken));
    expect(boss.body.conversations.map((c: { id: string }) => c.id)).toContain(conversationId);
    const bad = await request(h.http).get('/api/v1/conversations?status=weird').set(auth(agentToken));
    expect(bad.status).toBe(400);
  });

  it('pages messages by seq', async () => {
    const all = await request(h.http).get(`/api/v1/conversations/${conversationId}/messages`).set(auth(agentToken));
    expect(all.status).toBe(200);
    const seqs = all.body.messages.map((m: { seq: number }) => m.seq);
    expect(seqs[0]).toBe(1);
    const after = await request(h.http).get(`/api/v1/conversations/${conversationId}/messages?after=1`).set(auth(agentToken));
    expect(after.body.messages.map((m: { seq: number }) => m.seq)).toEqual(seqs.slice(1));
    expect((await request(h.http).get(`/api/v1/conversations/${conversationId}/messages?after=-1`).set(auth(agentToken))).status).toBe(400);
  });

  it('answers 404 for unknown and malformed ids, 403 for conversations of other teams', async () => {
    const unknown = await request(h.http).get('/api/v1/conversations/00000000-0000-0000-0000-000000000000').set(auth(agentToken));
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'not_found']);
    const malformed = await request(h.http).get("/api/v1/conversations/1'%20or%201=1").set(auth(agentToken));
    expect(malformed.status).toBe(404);
    const forbidden = await request(h.http).get(`/api/v1/conversations/${conversationId}`).set(auth(otherToken));
    expect([forbidden.status, forbidden.body.error.code]).toEqual([403, 'forbidden']);
  });

  it('lets the assigned agent reply, and stores nothing for refused or invalid replies', async () => {
    const before = await count('messages');
    const refused = await request(h.http).post(`/api/v1/conversations/${conversationId}/messages`).set(auth(otherToken)).send({ text: '你好' });
    expect(refused.status).toBe(403);
    const empty = await request(h.http).post(`/api/v1/conversations/${conversationId}/messages`).set(auth(agentToken)).send({ text: '   ' });
    expect([empty.status, empty.body.error.code]).toEqual([400, 'invalid_request']);
    const wrongType = await request(h.http).post(`/api/v1/conversations/${conversationId}/messages`).set(auth(agentToken)).send({ text: 42 });
    expect(wrongType.status).toBe(400);
    expect(await count('messages')).toBe(before);

    const ok = await request(h.http).post(`/api/v1/conversations/${conversationId}/messages`).set(auth(agentToken)).send({ text: '您好，我是客服小美' });
    expect(ok.status).toBe(201);
    expect(ok.body.message).toMatchObject({ senderType: 'agent', senderId: agentId, text: '您好，我是客服小美', status: 'sent' });
    expect(await count('messages')).toBe(before + 1);
    const [ticket] = await h.deps.sql<{ firstResponseAt: Date | null }[]>`select first_response_at from tickets where conversation_id = ${conversationId}`;
    expect(ticket.firstResponseAt).toBeInstanceOf(Date);
  });

  it('shows the customer profile with the phone masked, and only to agents who serve the customer', async () => {
    const res = await request(h.http).get(`/api/v1/customers/${customerId}/profile`).set(auth(agentToken));
    expect(res.status).toBe(200);
    expect(res.body.profile).toMatchObject({ id: customerId, phone: '137****1111', totals: { orderCount: 1, spentFen: 12300 } });
    expect(res.body.profile.identities.map((i: { kind: string }) => i.kind).sort()).toEqual(['taobao_nick', 'web_visitor']);
    expect((await request(h.http).get(`/api/v1/customers/${customerId}/profile`).set(auth(otherToken))).status).toBe(403);
    expect((await request(h.http).get('/api/v1/customers/nope/profile').set(auth(agentToken))).status).toBe(404);
  });

  it('sets presence and validates it', async () => {
    const ok = await request(h.http).put('/api/v1/agents/me/status').set(auth(otherToken)).send({ status: 'away' });
    expect([ok.status, ok.body.status]).toEqual([200, 'away']);
    const bad = await request(h.http).put('/api/v1/agents/me/status').set(auth(otherToken)).send({ status: 'asleep' });
    expect(bad.status).toBe(400);
  });

  it('lists agents with their load for the team view', async () => {
    const res = await request(h.http).get('/api/v1/agents').set(auth(agentToken));
    expect(res.status).toBe(200);
    const me = res.body.agents.find((a: { id: string }) => a.id === agentId);
    expect(me).toMatchObject({ email: 'a@test.huike', load: 1 });
    expect(JSON.stringify(res.body)).not.toMatch(/passwordHash|argon/);
  });

  it('resolves a conversation only for its agent or a supervisor, and 404s unknown ones', async () => {
    const refused = await request(h.http).post(`/api/v1/conversations/${conversationId}/resolve`).set(auth(otherToken));
    expect(refused.status).toBe(403);
    const unknown = await request(h.http).post('/api/v1/conversations/00000000-0000-0000-0000-000000000000/resolve').set(auth(supervisorToken));
    expect(unknown.status).toBe(404);
    const [open] = await h.deps.sql<{ status: string }[]>`select status from tickets where conversation_id = ${conversationId}`;
    expect(open.status).toBe('assigned');
    const ok = await request(h.http).post(`/api/v1/conversations/${conversationId}/resolve`).set(auth(agentToken));
    expect([ok.status, ok.body.conversation.status]).toEqual([200, 'resolved']);
    const [solved] = await h.deps.sql<{ status: string }[]>`select status from tickets where conversation_id = ${conversationId}`;
    expect(solved.status).toBe('solved');
    const late = await request(h.http).post(`/api/v1/conversations/${conversationId}/messages`).set(auth(agentToken)).send({ text: '还在吗' });
    expect([late.status, late.body.error.code]).toEqual([409, 'conversation_resolved']);
  });

  it('answers unknown API paths with a JSON 404 and never leaks a stack', async () => {
    const res = await request(h.http).get('/api/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts/);
  });

  it('serves the console and the chat page', async () => {
    const index = await request(h.http).get('/');
    expect(index.status).toBe(200);
    expect(index.text).toContain('客服工作台');
    const chat = await request(h.http).get('/chat');
    expect(chat.text).toContain('在线客服');
    const traversal = await request(h.http).get('/assets/..%2f..%2fpackage.json');
    expect(traversal.status).toBe(404);
  });
});

describe('ingest batch spacing (INGEST_BATCH_SPACING_MS)', () => {
  let h: TestHuike;
  beforeAll(async () => {
    h = await startTestHuike({ env: { INGEST_BATCH_SPACING_MS: '300' } });
  });
  afterAll(() => h?.close());

  it('stores the messages that arrive within the spacing after a batch together, in the next batch', async () => {
    const batches = async () => {
      const text = (await request(h.http).get('/metrics')).text;
      return Number(/^huike_batch_size_count\{batch="ingest"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    };
    const send = (id: string) => ingestInbound(h.deps, { channel: 'web', channelMsgId: `spacing:${id}`, identity: { kind: 'web_visitor', value: `spacing-${id}` }, type: 'text', text: '在吗' });
    const before = await batches();
    const t0 = performance.now();
    await send('m1');
    const second = send('m2');
    await new Promise((r) => setTimeout(r, 100));
    await Promise.all([second, send('m3')]);
    // m1 alone, then m2 and m3 together once the spacing was over
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect((await batches()) - before).toBe(2);
    const stored = await h.deps.sql`select count(*)::int as n from messages where channel_msg_id like 'spacing:%'`;
    expect(stored[0].n).toBe(3);
  });
});
