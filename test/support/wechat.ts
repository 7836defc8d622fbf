import { randomBytes } from 'node:crypto';
import { WechatEmulator } from '../../gateway/channels/emulator/wechat-emulator.ts';

const aesKey = () => randomBytes(32).toString('base64').slice(0, 43);

/** A started WeChat/WeCom emulator and the Huike env that points at it (fresh keys per call). */
export async function startWechat(): Promise<{ emulator: WechatEmulator; env: Record<string, string> }> {
  const opts = {
    corpId: `ww${randomBytes(8).toString('hex')}`,
    corpSecret: randomBytes(16).toString('hex'),
    kfToken: randomBytes(8).toString('hex'),
    kfAesKey: aesKey(),
    mpAppId: `wx${randomBytes(8).toString('hex')}`,
    mpSecret: randomBytes(16).toString('hex'),
    mpToken: randomBytes(8).toString('hex'),
    mpAesKey: aesKey(),
  };
  const emulator = new WechatEmulator(opts);
  const url = await emulator.start();
  return {
    emulator,
    env: {
      WECOM_CORP_ID: opts.corpId,
      WECOM_SECRET: opts.corpSecret,
      WECOM_TOKEN: opts.kfToken,
      WECOM_AES_KEY: opts.kfAesKey,
      WECOM_API_BASE: url,
      MP_APPID: opts.mpAppId,
      MP_SECRET: opts.mpSecret,
      MP_TOKEN: opts.mpToken,
      MP_AES_KEY: opts.mpAesKey,
      MP_API_BASE: url,
    },
  };
}

/** Fast retries so backoff tests take milliseconds, not minutes. */
export const FAST_WORKERS = { idleMs: 50, outbox: { baseDelayMs: 20, maxDelayMs: 200 } };
