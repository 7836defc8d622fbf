import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessTokens } from '../../../gateway/channels/wx/access-token.ts';
import { KfClient } from '../../../gateway/channels/wecom-kf/client.ts';
import type { WechatEmulator } from '../../../gateway/channels/emulator/wechat-emulator.ts';
import { dropRedisPrefix, testRedisPrefix } from '../../support/huike.ts';
import { startWechat } from '../../support/wechat.ts';

let emulator: WechatEmulator;
let env: Record<string, string>;
beforeAll(async () => ({ emulator, env } = await startWechat()));
afterAll(async () => emulator?.stop());

const client = (tokens: AccessTokens) =>
  new KfClient({ apiBase: env.WECOM_API_BASE, corpId: env.WECOM_CORP_ID, secret: env.WECOM_SECRET }, tokens);
const gettokens = () => emulator.callCount('cgi-bin/gettoken');

describe('access tokens', () => {
  it('one process: 20 concurrent calls share one gettoken, and the token is reused', async () => {
    const before = gettokens();
    const kf = client(new AccessTokens());
    await Promise.all(Array.from({ length: 20 }, () => kf.batchgetCustomers(['wmX'])));
    await kf.batchgetCustomers(['wmX']);
    expect(gettokens() - before).toBe(1);
  });

  it('an expired token is refreshed once for all the calls that hit 42001', async () => {
    const kf = client(new AccessTokens());
    await kf.batchgetCustomers(['wmX']);
    const before = gettokens();
    emulator.expireTokens();
    await Promise.all(Array.from({ length: 10 }, () => kf.batchgetCustomers(['wmX'])));
    expect(gettokens() - before).toBe(1);
  });

  it('bad credentials fail with WeChat’s errcode instead of looping', async () => {
    const kf = new KfClient({ apiBase: env.WECOM_API_BASE, corpId: env.WECOM_CORP_ID, secret: 'wrong' }, new AccessTokens());
    await expect(kf.batchgetCustomers(['wmX'])).rejects.toMatchObject({ errcode: 40001 });
  });

  it.skipIf(!process.env.REDIS_URL)('several processes (one Redis): one refresh between them, the others wait for it', async () => {
    const prefix = testRedisPrefix();
    const redises = Array.from({ length: 4 }, () => new Redis(process.env.REDIS_URL!, { keyPrefix: prefix }));
    try {
      emulator.fail('cgi-bin/gettoken', { times: 1, delayMs: 100 }); // a slow refresh, so the others really wait
      const before = gettokens();
      const nodes = redises.map((r) => client(new AccessTokens(r)));
      await Promise.all(nodes.flatMap((kf) => Array.from({ length: 5 }, () => kf.batchgetCustomers(['wmX']))));
      expect(gettokens() - before).toBe(1);
      // shared in the workspace's space, where the next refresh finds it
      expect(await redises[0].keys(`${prefix}token:wecom:*`).then((ks) => ks.length)).toBe(1);
    } finally {
      emulator.clearFaults();
      for (const r of redises) r.disconnect();
      await dropRedisPrefix(process.env.REDIS_URL!, prefix);
    }
  });
});
