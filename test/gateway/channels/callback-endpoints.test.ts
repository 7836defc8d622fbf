import { encrypt } from '@wecom/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign, signPlain } from '../../../gateway/channels/wx/envelope.ts';
import { toWxXml } from '../../../gateway/channels/wx/xml.ts';
import { startTestHuike, type TestHuike } from '../../support/huike.ts';
import { vectors } from '../../support/vectors.ts';

const A = vectors.keysets.A;
const MP = vectors.keysets.MP;
const echo = vectors.vectors.find((v) => v.name.startsWith('A1'))!;
const post = vectors.vectors.find((v) => v.name.startsWith('A2'))!;
const mpVector = vectors.vectors.find((v) => v.name.startsWith('MP'))!;
const CENTURY = '3153600000';

let huike: TestHuike;
let strict: TestHuike; // the default 300 s replay window

beforeAll(async () => {
  const env = { WECOM_CORP_ID: A.receiveid, WECOM_TOKEN: A.token, WECOM_AES_KEY: A.aeskey, MP_APPID: MP.receiveid, MP_TOKEN: MP.token, MP_AES_KEY: MP.aeskey };
  huike = await startTestHuike({ env: { ...env, WECOM_REPLAY_WINDOW_S: CENTURY, MP_REPLAY_WINDOW_S: CENTURY } });
  strict = await startTestHuike({ env });
});
afterAll(async () => {
  await huike?.close();
  await strict?.close();
});

const wecom = (h: TestHuike, q: Record<string, string>, init?: RequestInit) =>
  fetch(`${h.url}/channels/wecom/callback?${new URLSearchParams(q)}`, init);
const outerXml = (enc: string) => toWxXml({ ToUserName: A.receiveid, Encrypt: enc, AgentID: '218' });
const postXml = (h: TestHuike, q: Record<string, string>, body: string) =>
  wecom(h, q, { method: 'POST', headers: { 'content-type': 'text/xml' }, body });

async function stored(h: TestHuike) {
  const [r] = await h.deps.sql<{ requests: number; messages: number }[]>`
    select (select count(*)::int from kf_sync_requests) as requests, (select count(*)::int from messages) as messages`;
  return r;
}

async function metric(h: TestHuike, channel: string, kind: string): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`huike_channel_callbacks_total{channel="${channel}",kind="${kind}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** A kf_msg_or_event encrypted and signed like WeCom does, with knobs to break one thing at a time. */
function kfNews(o: { receiveId?: string; timestamp?: string; mangle?: (enc: string) => string; openKfid?: string } = {}) {
  const timestamp = o.timestamp ?? String(Math.floor(Date.now() / 1000));
  const inner = toWxXml({ ToUserName: A.receiveid, CreateTime: Number(timestamp), MsgType: 'event', Event: 'kf_msg_or_event', Token: 'ENCtoken', OpenKfId: o.openKfid ?? 'wkTEST' });
  let enc = encrypt(A.aeskey, inner, o.receiveId ?? A.receiveid);
  if (o.mangle) enc = o.mangle(enc);
  const nonce = '1372623149';
  return { q: { msg_signature: sign(A.token, timestamp, nonce, enc), timestamp, nonce }, body: outerXml(enc) };
}

describe('WeCom callback with the official sample vectors', () => {
  it('GET URL verification returns the decrypted echostr as the whole body', async () => {
    const res = await wecom(huike, { msg_signature: echo.msg_signature, timestamp: echo.timestamp, nonce: echo.nonce, echostr: echo.encrypt });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(echo.plaintext);
  });

  it('POST of the sample message is accepted and parsed (a text message, which is not kf news)', async () => {
    const before = await metric(huike, 'wecom', 'text');
    const res = await postXml(huike, { msg_signature: post.msg_signature, timestamp: post.timestamp, nonce: post.nonce }, outerXml(post.encrypt));
    expect(res.status).toBe(200);
    expect(await metric(huike, 'wecom', 'text')).toBe(before + 1);
    expect(await stored(huike)).toEqual({ requests: 0, messages: 0 });
  });

  it('POST of kf_msg_or_event records one durable sync request per callback', async () => {
    const { q, body } = kfNews({ openKfid: 'wkVECTOR' });
    expect((await postXml(huike, q, body)).status).toBe(200);
    const rows = await huike.deps.sql`select open_kfid, token from kf_sync_requests where open_kfid = 'wkVECTOR'`;
    expect(rows).toEqual([{ openKfid: 'wkVECTOR', token: 'ENCtoken' }]);
    await huike.deps.sql`delete from kf_sync_requests`;
  });
});

describe('WeCom callback rejects bad input and stores nothing', () => {
  const ok = kfNews();
  const flip = (s: string) => s.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
  it.each([
    ['a tampered signature', () => ({ q: { ...ok.q, msg_signature: flip(ok.q.msg_signature) }, body: ok.body }), 401, 'bad_signature'],
    ['a missing signature', () => ({ q: { ...ok.q, msg_signature: '' }, body: ok.body }), 401, 'bad_signature'],
    ['another corp id inside the ciphertext', () => kfNews({ receiveId: 'wxAAAAAAAAAAAAAAAA' }), 401, 'wrong_receive_id'],
    ['another corp id of another length', () => kfNews({ receiveId: 'wwSOMEONEELSE' }), 400, 'invalid_length'],
    ['bad base64 (correctly signed)', () => kfNews({ mangle: (e) => `!!!!${e.slice(4)}` }), 400, 'invalid_ciphertext'],
    ['a ciphertext truncated off the AES block size', () => kfNews({ mangle: (e) => e.slice(0, 40) }), 400, 'invalid_ciphertext'],
    ['a ciphertext truncated to whole blocks (msg_len now points past the end)', () => kfNews({ mangle: (e) => Buffer.from(e, 'base64').subarray(0, 48).toString('base64') }), 400, 'invalid_length'],
    ['malformed XML', () => ({ q: ok.q, body: '<xml><Encrypt>abc</xml' }), 400, 'invalid_xml'],
    ['XML without Encrypt', () => ({ q: ok.q, body: '<xml><ToUserName>x</ToUserName></xml>' }), 400, 'invalid_xml'],
    ['a DOCTYPE (entity expansion)', () => ({ q: ok.q, body: '<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>' }), 400, 'invalid_xml'],
  ])('%s', async (_, make, status, code) => {
    const { q, body } = make();
    const res = await postXml(huike, q, body);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    expect(await stored(huike)).toEqual({ requests: 0, messages: 0 });
  });

  it('a huge body gets 413 before it is read', async () => {
    const res = await postXml(huike, ok.q, `<xml><Encrypt>${'A'.repeat(200_000)}</Encrypt></xml>`);
    expect(res.status).toBe(413);
    expect(await stored(huike)).toEqual({ requests: 0, messages: 0 });
  });

  it('a replayed timestamp is refused by the default 5-minute window (the sample vectors too)', async () => {
    const old = kfNews({ timestamp: String(Math.floor(Date.now() / 1000) - 301) });
    const res = await postXml(strict, old.q, old.body);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('stale_timestamp');
    const vec = await wecom(strict, { msg_signature: echo.msg_signature, timestamp: echo.timestamp, nonce: echo.nonce, echostr: echo.encrypt });
    expect(vec.status).toBe(401);
    expect(await stored(strict)).toEqual({ requests: 0, messages: 0 });
    expect(await metric(strict, 'wecom', 'rejected:stale_timestamp')).toBe(2);
  });

  it('the same fresh callback is accepted by the strict node', async () => {
    const fresh = kfNews({ openKfid: 'wkFRESH' });
    expect((await postXml(strict, fresh.q, fresh.body)).status).toBe(200);
    await strict.deps.sql`delete from kf_sync_requests`;
  });
});

describe('mini-program callback', () => {
  const mp = (h: TestHuike, q: Record<string, string>, init?: RequestInit) =>
    fetch(`${h.url}/channels/miniprogram/callback?${new URLSearchParams(q)}`, init);
  const plainQ = (timestamp = String(Math.floor(Date.now() / 1000)), nonce = '42') => ({ signature: signPlain(MP.token, timestamp, nonce), timestamp, nonce });

  it('GET check returns echostr as is when the 3-part signature matches', async () => {
    const res = await mp(huike, { ...plainQ(), echostr: 'echo-123' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('echo-123');
    const bad = await mp(huike, { ...plainQ(), signature: 'f'.repeat(40), echostr: 'echo-123' });
    expect(bad.status).toBe(401);
  });

  it('safe mode: the official JSON vector is accepted and parsed (an event we do not keep)', async () => {
    const q = { signature: signPlain(MP.token, mpVector.timestamp, mpVector.nonce), timestamp: mpVector.timestamp, nonce: mpVector.nonce, encrypt_type: 'aes', msg_signature: mpVector.msg_signature };
    const res = await mp(huike, q, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ToUserName: 'gh_97417a04a28d', Encrypt: mpVector.encrypt }) });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('success');
    expect(await stored(huike)).toEqual({ requests: 0, messages: 0 });
  });

  it('plain mode XML and JSON text messages are stored once each, whatever the retries', async () => {
    const xml = toWxXml({ ToUserName: 'gh_x', FromUserName: 'oPLAINxml', CreateTime: 1, MsgType: 'text', Content: '多久发货', MsgId: '700000000000000001' });
    // written as text: MsgId is a 64-bit integer that a JS number literal would already have rounded
    const json = `{"ToUserName":"gh_x","FromUserName":"oPLAINjson","CreateTime":1,"MsgType":"miniprogrampage","Title":"连衣裙","AppId":"wxapp","PagePath":"pages/item?id=1","MsgId": 700000000000000002}`;
    for (let i = 0; i < 3; i++) {
      expect((await mp(huike, plainQ(), { method: 'POST', headers: { 'content-type': 'text/xml' }, body: xml })).status).toBe(200);
      expect((await mp(huike, plainQ(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: json })).status).toBe(200);
    }
    const rows = await huike.deps.sql<{ type: string; text: string; channelMsgId: string; channelAccount: string }[]>`
      select m.type, m.text, m.channel_msg_id, c.channel_account from messages m join conversations c on c.id = m.conversation_id
       where m.sender_type = 'customer' order by m.channel_msg_id`;
    expect(rows).toEqual([
      { type: 'text', text: '多久发货', channelMsgId: `${MP.receiveid}:700000000000000001`, channelAccount: MP.receiveid },
      { type: 'miniprogram', text: '[小程序] 连衣裙', channelMsgId: `${MP.receiveid}:700000000000000002`, channelAccount: MP.receiveid },
    ]);
    await huike.settle();
    await huike.deps.sql`delete from outbox`;
    await huike.deps.sql`delete from kb_unanswered`;
    await huike.deps.sql`delete from messages`;
  });

  it('plain mode with a wrong signature, or malformed JSON, stores nothing', async () => {
    const body = JSON.stringify({ FromUserName: 'oBAD', CreateTime: 1, MsgType: 'text', Content: 'x', MsgId: 1 });
    const bad = await mp(huike, { ...plainQ(), signature: '0'.repeat(40) }, { method: 'POST', body });
    expect(bad.status).toBe(401);
    const broken = await mp(huike, plainQ(), { method: 'POST', body: '{"FromUserName": ' });
    expect(broken.status).toBe(400);
    const missing = await mp(huike, plainQ(), { method: 'POST', body: JSON.stringify({ MsgType: 'text' }) });
    expect(missing.status).toBe(400);
    expect(await stored(huike)).toEqual({ requests: 0, messages: 0 });
  });
});

describe('a channel without settings', () => {
  it('answers 404 channel_not_configured', async () => {
    const bare = await startTestHuike();
    try {
      const res = await fetch(`${bare.url}/channels/wecom/callback?echostr=x`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('channel_not_configured');
    } finally {
      await bare.close();
    }
  });
});
