import { randomBytes } from 'node:crypto';
import { encrypt } from '@wecom/crypto';
import { sign, signPlain } from '../wx/envelope.ts';
import { toWxXml } from '../wx/xml.ts';

export interface CallbackKeys {
  token: string;
  aesKey: string;
  receiveId: string;
}

const nonce = () => randomBytes(6).toString('hex');
const nowS = () => String(Math.floor(Date.now() / 1000));

/** What WeCom POSTs to a kf callback URL: the encrypted kf_msg_or_event telling us to sync. */
export function kfNewsCallback(keys: CallbackKeys, openKfid: string, syncToken: string) {
  const timestamp = nowS();
  const n = nonce();
  const inner = toWxXml({ ToUserName: keys.receiveId, CreateTime: Number(timestamp), MsgType: 'event', Event: 'kf_msg_or_event', Token: syncToken, OpenKfId: openKfid });
  const enc = encrypt(keys.aesKey, inner, keys.receiveId);
  const query = new URLSearchParams({ msg_signature: sign(keys.token, timestamp, n, enc), timestamp, nonce: n });
  return { query, body: toWxXml({ ToUserName: keys.receiveId, Encrypt: enc, AgentID: '' }) };
}

/** What WeChat POSTs to a mini-program message push URL in safe mode with the JSON format. */
export function mpSafeJsonCallback(keys: CallbackKeys, message: Record<string, unknown>) {
  const timestamp = nowS();
  const n = nonce();
  const enc = encrypt(keys.aesKey, JSON.stringify(message), keys.receiveId);
  const query = new URLSearchParams({
    signature: signPlain(keys.token, timestamp, n),
    timestamp,
    nonce: n,
    encrypt_type: 'aes',
    msg_signature: sign(keys.token, timestamp, n, enc),
  });
  return { query, body: JSON.stringify({ ToUserName: message.ToUserName, Encrypt: enc }) };
}
