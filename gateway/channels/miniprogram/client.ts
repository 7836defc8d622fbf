import { apiUrl, wxRequest, type WxReply } from '../wx/api.ts';
import { tokenEndpoint, type AccessTokens, type TokenSource } from '../wx/access-token.ts';
import type { WxRateLimiter } from '../wx/rate-limit.ts';

export interface MpConfig {
  apiBase: string;
  appId: string;
  secret: string;
  /** per call; WX_API_TIMEOUT_MS */
  timeoutMs?: number;
}

/** Mini-program 客服消息 API (customerServiceMessage.send); base URL from MP_API_BASE. */
export class MpClient {
  private readonly source: TokenSource;

  constructor(
    private readonly cfg: MpConfig,
    private readonly tokens: AccessTokens,
    private readonly limits: WxRateLimiter | null = null,
  ) {
    this.source = tokenEndpoint(
      `mp:${cfg.apiBase}:${cfg.appId}`,
      apiUrl(cfg.apiBase, 'cgi-bin/token', { grant_type: 'client_credential', appid: cfg.appId, secret: cfg.secret }),
    );
  }

  async sendCustom(req: { touser: string; msgtype: string } & Record<string, unknown>): Promise<WxReply> {
    const path = 'cgi-bin/message/custom/send';
    await this.limits?.take(this.source.key, path);
    return this.tokens.withToken(this.source, (token) => wxRequest(apiUrl(this.cfg.apiBase, path, { access_token: token }), req, this.cfg.timeoutMs));
  }
}
