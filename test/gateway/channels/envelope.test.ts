import { createCipheriv, randomBytes } from 'node:crypto';
import { encrypt } from '@wecom/crypto';
import { describe, expect, it } from 'vitest';
import { openEnvelope, sign, type EnvelopeKeys } from '../../../gateway/channels/wx/envelope.ts';
import { vectors } from '../../support/vectors.ts';

const ref = vectors;
const keysOf = (ks: string): EnvelopeKeys => ({ token: ref.keysets[ks].token, aesKey: ref.keysets[ks].aeskey, receiveId: ref.keysets[ks].receiveid });
// the samples are years old: open the replay window around each vector's own timestamp
const at = (ts: string) => ({ nowS: Number(ts), windowS: 300 });

describe('WXBizMsgCrypt envelope', () => {
  it.each(ref.vectors.map((v) => [v.name, v] as const))('opens the official vector %s', (_, v) => {
    const plain = openEnvelope(keysOf(v.ks), { signature: v.msg_signature, timestamp: v.timestamp, nonce: v.nonce, encrypt: v.encrypt }, at(v.timestamp));
    expect(plain).toBe(v.plaintext);
  });

  const v = ref.vectors[1];
  const keys = keysOf(v.ks);
  const env = { signature: v.msg_signature, timestamp: v.timestamp, nonce: v.nonce, encrypt: v.encrypt };
  const signed = (encryptText: string, k: EnvelopeKeys = keys) => ({ ...env, encrypt: encryptText, signature: sign(k.token, env.timestamp, env.nonce, encryptText) });

  it.each([
    ['a tampered signature', { ...env, signature: env.signature.replace(/^./, (c) => (c === '0' ? '1' : '0')) }, 'bad_signature'],
    ['a signature of the wrong shape', { ...env, signature: 'abc' }, 'bad_signature'],
    ['a tampered ciphertext under the old signature', { ...env, encrypt: `A${env.encrypt.slice(1)}` }, 'bad_signature'],
    ['bad base64 (correctly signed)', signed('!!!!' + env.encrypt.slice(4)), 'invalid_ciphertext'],
    ['a truncated ciphertext (correctly signed)', signed(env.encrypt.slice(0, 40)), 'invalid_ciphertext'],
    ['an empty ciphertext', signed(''), 'invalid_ciphertext'],
    ['a non-numeric timestamp', { ...env, timestamp: 'yesterday' }, 'invalid_timestamp'],
  ])('rejects %s', (_, e, code) => {
    expect(() => openEnvelope(keys, e, at(v.timestamp))).toThrow(expect.objectContaining({ code }));
  });

  it('rejects a replayed (stale) timestamp before looking at anything else', () => {
    expect(() => openEnvelope(keys, env, { nowS: Number(v.timestamp) + 301, windowS: 300 })).toThrow(expect.objectContaining({ code: 'stale_timestamp', status: 401 }));
  });

  it('rejects a well-signed message encrypted for another corp id', () => {
    const forOther = encrypt(keys.aesKey, '<xml/>', 'wx-other-corp');
    expect(() => openEnvelope(keys, signed(forOther), at(v.timestamp))).toThrow(expect.objectContaining({ code: 'wrong_receive_id' }));
  });

  it('rejects a ciphertext made with another AES key (it decrypts to garbage, not to an error)', () => {
    const otherKey = 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';
    const foreign = encrypt(otherKey, '<xml><Content>hi</Content></xml>', keys.receiveId);
    expect(() => openEnvelope(keys, signed(foreign), at(v.timestamp))).toThrow(expect.objectContaining({ status: expect.any(Number) }));
  });

  it.each([
    ['past the end', 10_000, 'invalid_length'],
    ['far short of the end', -40, 'invalid_length'],
    ['far past the end (uint32 max)', 0xffffffff - 6, 'invalid_length'],
    // within the padding's slack the length check cannot tell; the receive id then no longer matches
    ['a little short, into the receive id', -4, 'wrong_receive_id'],
  ])('rejects a well-signed ciphertext whose msg_len points %s', (_, delta, code) => {
    const forged = forge(keys.aesKey, '<xml><Content>hi</Content></xml>', keys.receiveId, delta);
    expect(() => openEnvelope(keys, signed(forged), at(v.timestamp))).toThrow(expect.objectContaining({ code }));
  });

  it('round-trips our own encryption', () => {
    const text = '<xml><Content><![CDATA[你好，退货怎么弄]]></Content></xml>';
    expect(openEnvelope(keys, signed(encrypt(keys.aesKey, text, keys.receiveId)), at(v.timestamp))).toBe(text);
  });
});

/** WXBizMsgCrypt plaintext with msg_len off by `delta`, encrypted correctly: only the length field lies. */
function forge(aesKey: string, message: string, receiveId: string, delta: number): string {
  const key = Buffer.from(`${aesKey}=`, 'base64');
  const msg = Buffer.from(message);
  const len = Buffer.alloc(4);
  len.writeUInt32BE((msg.length + delta) >>> 0);
  const body = Buffer.concat([randomBytes(16), len, msg, Buffer.from(receiveId)]);
  const pad = 32 - (body.length % 32);
  const plain = Buffer.concat([body, Buffer.alloc(pad, pad)]);
  const c = createCipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  return Buffer.concat([c.update(plain), c.final()]).toString('base64');
}
