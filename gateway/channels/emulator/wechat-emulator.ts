import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { kfNewsCallback, mpSafeJsonCallback, type CallbackKeys } from './callbacks.ts';

/**
 * A local stand-in for qyapi.weixin.qq.com (WeCom 微信客服) and api.weixin.qq.com (mini-program 客服消息),
 * speaking their documented JSON: tokens that expire, sync_msg paging with cursors, the 48 h / 5-message rule,
 * single-use event codes. It also plays the customer: a message written "in WeChat" is queued for sync_msg and
 * announced to Huike's callback exactly as WeCom does, encrypted and signed. Tests inject faults through it.
 */
export interface EmulatorOptions {
  corpId: string;
  corpSecret: string;
  /** the kf callback's Token/EncodingAESKey, to sign and encrypt the news we send to Huike */
  kfToken: string;
  kfAesKey: string;
  mpAppId?: string;
  mpSecret?: string;
  mpToken?: string;
  mpAesKey?: string;
  /** Huike's base URL, for callbacks; may be set later with `callbackBase = ...` */
  callbackBase?: string;
  tokenTtlS?: number;
}

export interface ApiCall {
  path: string;
  query: Record<string, string>;
  body: any;
}

interface Fault {
  path: string;
  times: number;
  /** let this many calls through first */
  after?: number;
  status?: number;
  errcode?: number;
  delayMs?: number;
}

interface KfCustomer {
  nickname: string;
  avatar: string;
  unionid?: string;
}

const WINDOW_MS = 48 * 3600 * 1000;
const MAX_REPLIES = 5;

export class WechatEmulator {
  readonly calls: ApiCall[] = [];
  /** requests to paths the emulator does not know: a test should fail when this is not empty */
  readonly unexpected: string[] = [];
  readonly kfSent: any[] = [];
  readonly kfEventSent: any[] = [];
  readonly kfTrans: any[] = [];
  readonly mpSent: any[] = [];
  /** sees each mini-program message as it is accepted (the bench times the answers' arrival) */
  onMpSent: ((b: any) => void) | null = null;
  /**
   * Keep every call and sent message for tests to inspect. A load generator turns it off: ten minutes at 1,000
   * msgs/s kept 1.2 million of them, part of a heap whose full GCs stopped the bench for up to a second.
   */
  keepLog = true;
  readonly kfCustomers = new Map<string, KfCustomer>();
  callbackBase?: string;
  /** shifts the emulator's clock, to age the 48 h window without waiting */
  clockOffsetMs = 0;

  private server: Server | null = null;
  private tokens = new Map<string, { kind: 'wecom' | 'mp'; expiresAt: number }>();
  private kfLog = new Map<string, any[]>();
  private sessions = new Map<string, { lastCustomerAt: number; replies: number }>();
  private sentMsgIds = new Set<string>();
  private eventCodes = new Set<string>();
  private faults: Fault[] = [];
  private seq = 0;
  private syncInflight = 0;
  /** the most sync_msg calls for one account that were ever in flight at once (the lease should keep it at 1) */
  maxConcurrentSync = 0;

  constructor(readonly opts: EmulatorOptions) {
    this.callbackBase = opts.callbackBase;
  }

  get url(): string {
    if (!this.server) throw new Error('emulator not started');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get kfKeys(): CallbackKeys {
    return { token: this.opts.kfToken, aesKey: this.opts.kfAesKey, receiveId: this.opts.corpId };
  }

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => void this.route(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** The next `times` calls to `path` fail with an HTTP status or an errcode, or (delay only) are just slow. */
  fail(path: string, f: Omit<Fault, 'path'>): void {
    this.faults.push({ path, ...f });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Invalidates every issued token, as a secret rotation or WeCom's early expiry would. */
  expireTokens(): void {
    for (const t of this.tokens.values()) t.expiresAt = 0;
  }

  callCount(path: string): number {
    return this.calls.filter((c) => c.path === path).length;
  }

  // ---- the customer's side ----

  registerKfCustomer(externalUserId: string, c: Partial<KfCustomer> = {}): void {
    this.kfCustomers.set(externalUserId, { nickname: c.nickname ?? `微信用户${externalUserId.slice(-4)}`, avatar: c.avatar ?? '', unionid: c.unionid });
  }

  /** Queues a message for sync_msg as if the customer (origin 3) or a servicer (origin 5) wrote it in WeChat. */
  kfMessage(openKfid: string, m: { externalUserId: string; origin?: number; msgtype?: string; [part: string]: unknown }): string {
    const { externalUserId, origin = 3, msgtype = 'text', ...parts } = m;
    if (!this.kfCustomers.has(externalUserId)) this.registerKfCustomer(externalUserId);
    const msgid = `emu${++this.seq}${randomBytes(4).toString('hex')}`;
    const entry: any = { msgid, open_kfid: openKfid, external_userid: externalUserId, send_time: Math.floor(this.now() / 1000), origin, msgtype, ...parts };
    if (origin === 5) entry.servicer_userid = parts.servicer_userid ?? 'servicer01';
    this.log(openKfid).push(entry);
    if (origin === 3) this.sessions.set(`${openKfid}|${externalUserId}`, { lastCustomerAt: this.now(), replies: 0 });
    return msgid;
  }

  kfText(openKfid: string, externalUserId: string, content: string): string {
    return this.kfMessage(openKfid, { externalUserId, msgtype: 'text', text: { content } });
  }

  /** Queues a system event (origin 4), e.g. enter_session with a fresh welcome_code. */
  kfEvent(openKfid: string, event: Record<string, unknown>): string {
    const msgid = `evt${++this.seq}${randomBytes(4).toString('hex')}`;
    if (event.event_type === 'enter_session' && !event.welcome_code) event.welcome_code = `wc${randomBytes(6).toString('hex')}`;
    if (typeof event.welcome_code === 'string') this.eventCodes.add(event.welcome_code);
    this.log(openKfid).push({ msgid, open_kfid: openKfid, send_time: Math.floor(this.now() / 1000), origin: 4, msgtype: 'event', event: { open_kfid: openKfid, ...event } });
    return msgid;
  }

  /** Tells Huike there is news for the account, as WeCom does; resolves with Huike's HTTP status. */
  async notifyKf(openKfid: string): Promise<number> {
    if (!this.callbackBase) throw new Error('emulator has no callbackBase');
    const { query, body } = kfNewsCallback(this.kfKeys, openKfid, `tok${randomBytes(8).toString('hex')}`);
    const res = await fetch(`${this.callbackBase}/channels/wecom/callback?${query}`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body });
    await res.text();
    return res.status;
  }

  /** A mini-program customer writes: pushed to Huike in safe mode, JSON. Resolves with Huike's status. */
  mpCustomerSays(openid: string, content: string): Promise<number> {
    return this.mpPush(openid, { MsgType: 'text', Content: content, MsgId: `${Date.now()}${++this.seq}` });
  }

  /**
   * Opens (or reopens) a mini-program customer's 48 h window, as their message does; for a load generator that
   * posts its own pre-encrypted callbacks.
   */
  mpCustomerWrote(openid: string): void {
    // a message and entering the chat both open the 48 h window
    this.sessions.set(`mp|${openid}`, { lastCustomerAt: this.now(), replies: 0 });
  }

  /** Any push from a mini-program customer (a message or an event such as user_enter_tempsession). */
  async mpPush(openid: string, fields: Record<string, unknown>): Promise<number> {
    const { mpAppId, mpToken, mpAesKey } = this.opts;
    if (!this.callbackBase || !mpAppId || !mpToken || !mpAesKey) throw new Error('emulator has no mini-program keys or callbackBase');
    this.mpCustomerWrote(openid);
    const msg = { ToUserName: 'gh_emulator0001', FromUserName: openid, CreateTime: Math.floor(this.now() / 1000), ...fields };
    const { query, body } = mpSafeJsonCallback({ token: mpToken, aesKey: mpAesKey, receiveId: mpAppId }, msg);
    const res = await fetch(`${this.callbackBase}/channels/miniprogram/callback?${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await res.text();
    return res.status;
  }

  private log(openKfid: string): any[] {
    let l = this.kfLog.get(openKfid);
    if (!l) this.kfLog.set(openKfid, (l = []));
    return l;
  }

  // ---- the API side ----

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const query = Object.fromEntries(url.searchParams);
    const path = url.pathname.replace(/^\//, '');
    let body: any = undefined;
    const raw = await new Promise<string>((resolve) => {
      let data = '';
      req.on('data', (c) => (data += c));
      req.on('end', () => resolve(data));
    });
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        return this.reply(res, { errcode: 47001, errmsg: 'data format error' });
      }
    }
    if (path.startsWith('__emulator/')) return this.control(path, body, res);
    if (this.keepLog) this.calls.push({ path, query, body });
    const syncing = path === 'cgi-bin/kf/sync_msg';
    if (syncing) this.maxConcurrentSync = Math.max(this.maxConcurrentSync, ++this.syncInflight);
    try {
      const fault = this.faults.find((f) => f.path === path && f.times > 0);
      if (fault && fault.after) fault.after--;
      else if (fault) {
        fault.times--;
        if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
        if (fault.status) return void res.writeHead(fault.status).end('emulated failure');
        if (fault.errcode !== undefined) return this.reply(res, { errcode: fault.errcode, errmsg: 'emulated error' });
      }
      this.answer(path, query, body, req, res);
    } finally {
      if (syncing) this.syncInflight--;
    }
  }

  private answer(path: string, query: Record<string, string>, body: any, req: IncomingMessage, res: ServerResponse): void {
    const handler = this.handlers[path];
    if (!handler) {
      this.unexpected.push(`${req.method} ${path}`);
      return void res.writeHead(404).end('unknown path');
    }
    if (path !== 'cgi-bin/gettoken' && path !== 'cgi-bin/token') {
      const t = this.tokens.get(query.access_token ?? '');
      if (!t) return this.reply(res, { errcode: 40014, errmsg: 'invalid access_token' });
      if (t.expiresAt <= Date.now()) return this.reply(res, { errcode: 42001, errmsg: 'access_token expired' });
    }
    this.reply(res, handler(query, body ?? {}));
  }

  private reply(res: ServerResponse, data: unknown): void {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(data));
  }

  private issueToken(kind: 'wecom' | 'mp') {
    const access_token = `${kind}_${randomBytes(12).toString('hex')}`;
    const expires_in = this.opts.tokenTtlS ?? 7200;
    this.tokens.set(access_token, { kind, expiresAt: Date.now() + expires_in * 1000 });
    return { errcode: 0, errmsg: 'ok', access_token, expires_in };
  }

  /** Enforces WeChat's rule for a business message; returns the errcode to answer, or 0. */
  private allowReply(key: string, codes: { window: number; quota: number }): number {
    const s = this.sessions.get(key);
    if (!s || this.now() - s.lastCustomerAt > WINDOW_MS) return codes.window;
    if (s.replies >= MAX_REPLIES) return codes.quota;
    s.replies++;
    return 0;
  }

  private handlers: Record<string, (q: Record<string, string>, b: any) => unknown> = {
    'cgi-bin/gettoken': (q) =>
      q.corpid === this.opts.corpId && q.corpsecret === this.opts.corpSecret ? this.issueToken('wecom') : { errcode: 40001, errmsg: 'invalid credential' },
    'cgi-bin/kf/sync_msg': (_q, b) => {
      if (!b.open_kfid) return { errcode: 95000, errmsg: 'open_kfid required' };
      const log = this.log(b.open_kfid);
      const start = b.cursor ? Number(Buffer.from(String(b.cursor), 'base64url').toString()) : 0;
      if (!Number.isInteger(start) || start < 0 || start > log.length) return { errcode: 95000, errmsg: 'invalid cursor' };
      const limit = Math.min(1000, Math.max(1, Number(b.limit ?? 1000)));
      const page = log.slice(start, start + limit);
      const next = start + page.length;
      return { errcode: 0, errmsg: 'ok', next_cursor: Buffer.from(String(next)).toString('base64url'), has_more: next < log.length ? 1 : 0, msg_list: page };
    },
    'cgi-bin/kf/send_msg': (_q, b) => {
      if (!b.touser || !b.open_kfid || !b.msgtype || !b[b.msgtype]) return { errcode: 95000, errmsg: 'invalid param' };
      // a resend of a msgid we already delivered is not delivered again
      if (b.msgid && this.sentMsgIds.has(b.msgid)) return { errcode: 0, errmsg: 'ok', msgid: b.msgid };
      const blocked = this.allowReply(`${b.open_kfid}|${b.touser}`, { window: 95002, quota: 95001 });
      if (blocked) return { errcode: blocked, errmsg: blocked === 95002 ? 'msg send time exceed limit' : 'msg send count exceed limit' };
      const msgid = b.msgid || `sent${++this.seq}`;
      this.sentMsgIds.add(msgid);
      if (this.keepLog) this.kfSent.push({ ...b, msgid });
      return { errcode: 0, errmsg: 'ok', msgid };
    },
    'cgi-bin/kf/send_msg_on_event': (_q, b) => {
      if (!this.eventCodes.delete(b.code)) return { errcode: 95007, errmsg: 'invalid code' };
      this.kfEventSent.push(b);
      return { errcode: 0, errmsg: 'ok', msgid: `ev${++this.seq}` };
    },
    'cgi-bin/kf/customer/batchget': (_q, b) => {
      const ids: string[] = Array.isArray(b.external_userid_list) ? b.external_userid_list : [];
      const known = ids.filter((id) => this.kfCustomers.has(id));
      return {
        errcode: 0,
        errmsg: 'ok',
        customer_list: known.map((id) => ({ external_userid: id, gender: 0, ...this.kfCustomers.get(id) })),
        invalid_external_userid: ids.filter((id) => !this.kfCustomers.has(id)),
      };
    },
    'cgi-bin/kf/service_state/trans': (_q, b) => {
      if (b.service_state === 3 && !b.servicer_userid) return { errcode: 95000, errmsg: 'servicer_userid required' };
      this.kfTrans.push(b);
      return { errcode: 0, errmsg: 'ok', msg_code: `mc${++this.seq}` };
    },
    'cgi-bin/token': (q) =>
      q.appid === this.opts.mpAppId && q.secret === this.opts.mpSecret ? this.issueToken('mp') : { errcode: 40013, errmsg: 'invalid appid' },
    'cgi-bin/message/custom/send': (_q, b) => {
      if (!b.touser || !b.msgtype || !b[b.msgtype]) return { errcode: 44002, errmsg: 'empty post data' };
      const blocked = this.allowReply(`mp|${b.touser}`, { window: 45015, quota: 45047 });
      if (blocked) return { errcode: blocked, errmsg: blocked === 45015 ? 'response out of time limit' : 'out of response count limit' };
      if (this.keepLog) this.mpSent.push(b);
      this.onMpSent?.(b);
      return { errcode: 0, errmsg: 'ok' };
    },
  };

  /** Demo controls: `huike simulate` drives the customer's side through these. */
  private async control(path: string, b: any, res: ServerResponse): Promise<void> {
    try {
      if (path === '__emulator/kf/customer-says') {
        const openKfid = String(b?.openKfid ?? 'wkDEMO0001');
        const user = String(b?.externalUserId ?? 'wmDEMOcustomer01');
        if (b?.nickname) this.registerKfCustomer(user, { nickname: String(b.nickname), unionid: b.unionid });
        const msgid = this.kfText(openKfid, user, String(b?.text ?? ''));
        return this.reply(res, { ok: true, msgid, callbackStatus: await this.notifyKf(openKfid) });
      }
      if (path === '__emulator/mp/customer-says') {
        return this.reply(res, { ok: true, callbackStatus: await this.mpCustomerSays(String(b?.openid ?? 'oDEMOcustomer01'), String(b?.text ?? '')) });
      }
      if (path === '__emulator/sent') return this.reply(res, { kf: this.kfSent, mp: this.mpSent, kfEvent: this.kfEventSent });
      res.writeHead(404).end('unknown control');
    } catch (err) {
      res.writeHead(502).end(String((err as Error).message));
    }
  }
}
