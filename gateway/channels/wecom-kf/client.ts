import { apiUrl, wxRequest, type WxReply } from '../wx/api.ts';
import { tokenEndpoint, type AccessTokens, type TokenSource } from '../wx/access-token.ts';
import type { WxRateLimiter } from '../wx/rate-limit.ts';

export interface KfConfig {
  apiBase: string;
  corpId: string;
  secret: string;
  /** per call; WX_API_TIMEOUT_MS */
  timeoutMs?: number;
}

/** One message or event from kf/sync_msg. */
export interface KfSyncedMessage {
  msgid: string;
  open_kfid: string;
  external_userid?: string;
  send_time: number;
  origin: number;
  servicer_userid?: string;
  msgtype: string;
  [part: string]: unknown;
}

export interface KfSyncPage {
  next_cursor: string;
  has_more: number;
  msg_list: KfSyncedMessage[];
}

export interface KfCustomer {
  external_userid: string;
  nickname?: string;
  avatar?: string;
  unionid?: string;
}

/** A message body as kf/send_msg takes it: msgtype plus the part of that name. */
export type KfOutgoing = { msgtype: string } & Record<string, unknown>;

/** WeCom 微信客服 API: https://kf.weixin.qq.com/api/doc/path/94745 and siblings; base URL from WECOM_API_BASE. */
export class KfClient {
  private readonly source: TokenSource;

  constructor(
    private readonly cfg: KfConfig,
    private readonly tokens: AccessTokens,
    private readonly limits: WxRateLimiter | null = null,
  ) {
    this.source = tokenEndpoint(
      `wecom:${cfg.apiBase}:${cfg.corpId}`,
      apiUrl(cfg.apiBase, 'cgi-bin/gettoken', { corpid: cfg.corpId, corpsecret: cfg.secret }),
    );
  }

  private async post<T extends WxReply>(path: string, body: unknown): Promise<T> {
    await this.limits?.take(this.source.key, path);
    return this.tokens.withToken(this.source, (token) => wxRequest<T>(apiUrl(this.cfg.apiBase, path, { access_token: token }), body, this.cfg.timeoutMs));
  }

  syncMsg(req: { cursor?: string | null; token?: string | null; limit: number; open_kfid: string }): Promise<KfSyncPage> {
    const body: Record<string, unknown> = { limit: req.limit, open_kfid: req.open_kfid };
    if (req.cursor) body.cursor = req.cursor;
    if (req.token) body.token = req.token;
    return this.post<KfSyncPage & WxReply>('cgi-bin/kf/sync_msg', body);
  }

  /** `msgid` is ours (32 chars of [0-9a-zA-Z_-]) so a resend after a crash is recognizable as the same message. */
  sendMsg(req: { touser: string; open_kfid: string; msgid: string } & KfOutgoing): Promise<{ msgid: string }> {
    return this.post<WxReply & { msgid: string }>('cgi-bin/kf/send_msg', req);
  }

  /** Welcome/closing messages with the one-time code of an event (enter_session welcome_code, trans msg_code). */
  sendMsgOnEvent(req: { code: string; msgid?: string } & KfOutgoing): Promise<{ msgid: string }> {
    return this.post<WxReply & { msgid: string }>('cgi-bin/kf/send_msg_on_event', req);
  }

  async batchgetCustomers(ids: string[]): Promise<KfCustomer[]> {
    const r = await this.post<WxReply & { customer_list?: KfCustomer[] }>('cgi-bin/kf/customer/batchget', {
      external_userid_list: ids,
      need_enter_session_context: 0,
    });
    return r.customer_list ?? [];
  }

  /** service_state: 1 智能助手接待, 2 待接入池排队, 3 人工接待 (needs servicer_userid), 4 结束. */
  transState(req: { open_kfid: string; external_userid: string; service_state: number; servicer_userid?: string }): Promise<{ msg_code?: string }> {
    return this.post<WxReply & { msg_code?: string }>('cgi-bin/kf/service_state/trans', req);
  }
}
