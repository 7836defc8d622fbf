import { WxApiError, WxTransportError } from './api.ts';
import { WxRateLimited } from './rate-limit.ts';

/** What a failed send means for the message: a stable code, the reason shown to the agent, and whether to retry. */
export interface DeliveryFailure {
  code: string;
  reason: string;
  retryable: boolean;
  /** not before this: the shared minute's calls are used up */
  retryAfterMs?: number;
}

const KNOWN: Record<number, Omit<DeliveryFailure, 'retryable'> & { retryable?: boolean }> = {
  [-1]: { code: 'platform_busy', reason: '微信系统繁忙，稍后自动重试', retryable: true },
  45009: { code: 'rate_limited', reason: '接口调用超过频率限制，稍后自动重试', retryable: true },
  45011: { code: 'rate_limited', reason: '接口调用过于频繁，稍后自动重试', retryable: true },
  // WeCom 微信客服
  95001: { code: 'quota_exhausted', reason: '客户上次来信后已发送 5 条消息，达到微信上限，需等客户回复' },
  95002: { code: 'window_closed', reason: '距客户上次来信已超过 48 小时，微信不允许再发送' },
  95004: { code: 'config_error', reason: '客服账号不存在或未授权给本应用，请检查企业微信客服配置' },
  95013: { code: 'session_closed', reason: '该会话已在企业微信中结束' },
  95018: { code: 'taken_by_wecom', reason: '会话正由企业微信接待人员接待，接口无法发送；请在企业微信中回复或先转回' },
  40096: { code: 'invalid_recipient', reason: '客户标识无效（external_userid 不正确）' },
  // mini-program 客服消息
  45015: { code: 'window_closed', reason: '距客户上次来信已超过 48 小时，微信不允许再发送' },
  45047: { code: 'quota_exhausted', reason: '客服消息下行条数超过上限，需等客户回复' },
  40003: { code: 'invalid_recipient', reason: '客户 openid 无效' },
  43101: { code: 'user_refused', reason: '客户拒收了消息' },
};

export function classifyDeliveryError(err: unknown): DeliveryFailure {
  if (err instanceof WxRateLimited)
    return { code: 'rate_limited', reason: '本分钟的微信接口调用次数已用完（各节点共享），稍后自动发送', retryable: true, retryAfterMs: err.retryAfterMs };
  if (err instanceof WxTransportError) return { code: 'network', reason: `连接微信接口失败，稍后自动重试（${err.message}）`, retryable: true };
  if (err instanceof WxApiError) {
    const known = KNOWN[err.errcode];
    if (known) return { retryable: false, ...known };
    return { code: `wx_${err.errcode}`, reason: `微信返回错误 ${err.errcode}：${err.errmsg}`, retryable: false };
  }
  return { code: 'internal', reason: `发送时出错：${(err as Error)?.message ?? String(err)}`, retryable: true };
}

/** msg_send_fail fail_type values from WeCom's kf event. */
export function kfFailType(failType: number): Omit<DeliveryFailure, 'retryable'> {
  switch (failType) {
    case 1:
      return { code: 'config_error', reason: '客服账号已删除' };
    case 2:
      return { code: 'config_error', reason: '应用已关闭' };
    case 4:
      return { code: 'window_closed', reason: '会话已过期：超过 48 小时' };
    case 5:
      return { code: 'session_closed', reason: '会话已关闭' };
    case 6:
      return { code: 'quota_exhausted', reason: '超过 5 条消息的发送上限' };
    case 10:
      return { code: 'user_refused', reason: '客户拒收了消息' };
    default:
      return { code: 'unknown', reason: `微信未送达（失败类型 ${failType}）` };
  }
}
