import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import { decrypt } from '@wecom/crypto';
import { AppError } from '../../../core/errors.ts';

/** The keys of one WXBizMsgCrypt endpoint: WeCom (receiveId = corp id) or a mini-program (receiveId = appid). */
export interface EnvelopeKeys {
  token: string;
  aesKey: string;
  receiveId: string;
}

export interface Envelope {
  signature: string;
  timestamp: string;
  nonce: string;
  encrypt: string;
}

const reject = (code: string, message: string, status = 400) => new AppError(status, code, message);

// Base64 of whole AES blocks: at least two blocks (16 random + 4 length bytes need more than one).
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
export const MAX_ENCRYPT_LENGTH = 512 * 1024;

/** sha1 of the sorted parts, as WeCom and WeChat sign callbacks. */
export function sign(token: string, timestamp: string, nonce: string, encrypt: string): string {
  return createHash('sha1').update([token, timestamp, nonce, encrypt].sort().join('')).digest('hex');
}

/**
 * The plaintext is random(16) | msg_len(4, big-endian) | msg | receiveId | PKCS#7 padding (1..32 bytes). The
 * library trusts msg_len blindly, so we peek at the first two blocks and require that msg_len leaves exactly room
 * for our receive id and a legal padding.
 */
export function msgLenWithinBounds(aesKey: string, encrypt: string, receiveIdBytes: number): boolean {
  const key = Buffer.from(`${aesKey}=`, 'base64');
  // only the first two blocks are decoded here (44 base64 characters hold 33 bytes); the library decodes the rest
  const cipherLength = (encrypt.length / 4) * 3 - (encrypt.endsWith('==') ? 2 : encrypt.endsWith('=') ? 1 : 0);
  const first = Buffer.from(encrypt.slice(0, 44), 'base64');
  if (key.length !== 32 || cipherLength < 32 || first.length < 32) return false;
  const head = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false).update(first.subarray(0, 32));
  const pad = cipherLength - (20 + head.readUInt32BE(16) + receiveIdBytes);
  return pad >= 1 && pad <= 32;
}

/** Plain-mode signature: sha1 of the sorted token, timestamp and nonce. */
export function signPlain(token: string, timestamp: string, nonce: string): string {
  return createHash('sha1').update([token, timestamp, nonce].sort().join('')).digest('hex');
}

/** Constant-time comparison of two hex signatures; a malformed one never matches. */
export function signatureMatches(expected: string, given: string): boolean {
  if (!/^[0-9a-f]{40}$/i.test(given)) return false;
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(given.toLowerCase(), 'hex'));
}

/**
 * Verifies and opens one encrypted callback, in the order that leaks nothing: shape and replay window, then the
 * signature in constant time, and only then decryption. The library decrypts a wrong key or a tampered block to
 * garbage without complaint, so the receive id check afterwards is what proves the plaintext is ours; a msg_len
 * that points past the data (or short of it) leaves a receive id that cannot match.
 */
export function openEnvelope(keys: EnvelopeKeys, env: Envelope, opts: { nowS: number; windowS: number }): string {
  if (!/^\d{1,12}$/.test(env.timestamp)) throw reject('invalid_timestamp', 'timestamp 缺失或格式错误');
  if (!env.nonce || env.nonce.length > 64) throw reject('invalid_nonce', 'nonce 缺失或过长');
  if (Math.abs(opts.nowS - Number(env.timestamp)) > opts.windowS) throw reject('stale_timestamp', '回调时间戳超出允许窗口，疑似重放', 401);
  if (!env.encrypt || env.encrypt.length > MAX_ENCRYPT_LENGTH) throw reject('invalid_ciphertext', '密文为空或过长');
  if (!signatureMatches(sign(keys.token, env.timestamp, env.nonce, env.encrypt), env.signature ?? ''))
    throw reject('bad_signature', '签名校验失败', 401);
  if (!BASE64.test(env.encrypt) || env.encrypt.length % 4 !== 0) throw reject('invalid_ciphertext', '密文不是合法的 Base64');
  const bytes = (env.encrypt.length / 4) * 3 - (env.encrypt.endsWith('==') ? 2 : env.encrypt.endsWith('=') ? 1 : 0);
  if (bytes < 32 || bytes % 16 !== 0) throw reject('invalid_ciphertext', '密文长度不是 AES 块的整数倍');
  if (!msgLenWithinBounds(keys.aesKey, env.encrypt, Buffer.byteLength(keys.receiveId)))
    throw reject('invalid_length', '密文中的消息长度字段越界');
  let opened: { message: string; id: string };
  try {
    opened = decrypt(keys.aesKey, env.encrypt);
  } catch {
    throw reject('invalid_ciphertext', '密文无法解密');
  }
  if (opened.id !== keys.receiveId) throw reject('wrong_receive_id', '解密结果的接收方 ID 不匹配', 401);
  return opened.message;
}

/**
 * WeChat's plain-mode check: sha1 of the sorted token, timestamp and nonce. It does not cover the body, so the
 * replay window is what keeps an old signature from carrying a new message; safe mode (msg_signature) is better.
 */
export function verifyPlainSignature(token: string, q: { signature: string; timestamp: string; nonce: string }, opts: { nowS: number; windowS: number }): void {
  if (!/^\d{1,12}$/.test(q.timestamp)) throw reject('invalid_timestamp', 'timestamp 缺失或格式错误');
  if (!q.nonce || q.nonce.length > 64) throw reject('invalid_nonce', 'nonce 缺失或过长');
  if (Math.abs(opts.nowS - Number(q.timestamp)) > opts.windowS) throw reject('stale_timestamp', '回调时间戳超出允许窗口，疑似重放', 401);
  if (!signatureMatches(signPlain(token, q.timestamp, q.nonce), q.signature ?? '')) throw reject('bad_signature', '签名校验失败', 401);
}
