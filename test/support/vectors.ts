import { existsSync, readFileSync } from 'node:fs';

// Official WXBizMsgCrypt sample vectors: ../shared/reference when the checkout has it beside, else our copy.
const SHARED = new URL('../../../shared/reference/wecom-crypto-vectors.json', import.meta.url);
const COPY = new URL('../fixtures/wecom-crypto-vectors.json', import.meta.url);

export interface Vector {
  name: string;
  ks: string;
  msg_signature: string;
  timestamp: string;
  nonce: string;
  encrypt: string;
  plaintext: string;
}

export const vectors = JSON.parse(readFileSync(existsSync(SHARED) ? SHARED : COPY, 'utf8')) as {
  keysets: Record<string, { token: string; aeskey: string; receiveid: string }>;
  vectors: Vector[];
};
