import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../../core/config.ts';
import { WechatEmulator } from './wechat-emulator.ts';

export const DEMO_KF_ACCOUNT_PREFIX = 'wkDEMO';

/**
 * `npm start` with no WeChat settings and the embedded database is a demo: an in-process emulator plays WeCom
 * and WeChat, so a "WeCom customer" can be simulated with `huike simulate`. Returns the config pointing at it.
 */
export async function startDemoChannels(config: Config): Promise<{ emulator: WechatEmulator; config: Config; openKfid: string }> {
  const key = () => randomBytes(32).toString('base64').slice(0, 43);
  const keys = {
    corpId: 'wwdemo0000000001',
    corpSecret: randomBytes(16).toString('hex'),
    kfToken: randomBytes(8).toString('hex'),
    kfAesKey: key(),
    mpAppId: 'wxdemo0000000001',
    mpSecret: randomBytes(16).toString('hex'),
    mpToken: randomBytes(8).toString('hex'),
    mpAesKey: key(),
  };
  const emulator = new WechatEmulator(keys);
  const url = await emulator.start();
  // the emulator forgets its messages on restart, so each run uses a fresh kf account (and a fresh cursor)
  const openKfid = `${DEMO_KF_ACCOUNT_PREFIX}${Date.now().toString(36)}`;
  mkdirSync(config.DATA_DIR, { recursive: true });
  writeFileSync(demoFile(config.DATA_DIR), JSON.stringify({ url, openKfid }));
  return {
    emulator,
    openKfid,
    config: {
      ...config,
      WECOM_CORP_ID: keys.corpId,
      WECOM_SECRET: keys.corpSecret,
      WECOM_TOKEN: keys.kfToken,
      WECOM_AES_KEY: keys.kfAesKey,
      WECOM_API_BASE: url,
      MP_APPID: keys.mpAppId,
      MP_SECRET: keys.mpSecret,
      MP_TOKEN: keys.mpToken,
      MP_AES_KEY: keys.mpAesKey,
      MP_API_BASE: url,
    },
  };
}

export function isDemoChannels(config: Config): boolean {
  return !config.DATABASE_URL && !config.WECOM_CORP_ID && !config.MP_APPID;
}

const demoFile = (dataDir: string) => path.join(dataDir, 'demo-channels.json');

/** `huike simulate wecom|miniprogram "text"`: a customer writes through the running demo's emulator. */
export async function simulateCustomer(dataDir: string, channel: string, text: string, from?: string): Promise<string> {
  let demo: { url: string; openKfid: string };
  try {
    demo = JSON.parse(readFileSync(demoFile(dataDir), 'utf8'));
  } catch {
    throw new Error('没有找到运行中的演示渠道：请先 npm start（未配置 WECOM_*/MP_* 且使用内置数据库时才会启动模拟器）');
  }
  const user = from ?? '演示客户';
  const id = `demo${Buffer.from(user).toString('hex').slice(0, 16)}`;
  const [path_, body] =
    channel === 'wecom'
      ? ['__emulator/kf/customer-says', { openKfid: demo.openKfid, externalUserId: `wm${id}`, nickname: user, text }]
      : channel === 'miniprogram'
        ? ['__emulator/mp/customer-says', { openid: `o${id}`, text }]
        : [null, null];
  if (!path_) throw new Error(`未知渠道 ${channel}：可选 wecom、miniprogram`);
  const res = await fetch(`${demo.url}/${path_}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`模拟器返回 ${res.status}：${await res.text()}（演示服务是否仍在运行？）`);
  const r = (await res.json()) as { callbackStatus: number };
  return `已以「${user}」身份从${channel === 'wecom' ? '企业微信客服' : '小程序'}发送：${text}（回调状态 ${r.callbackStatus}）`;
}
