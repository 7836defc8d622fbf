// Simplified Chinese labels for values the server sends as codes.
export const STATUS_LABEL: Record<string, string> = { bot: '机器人接待', queued: '排队中', open: '人工接待', resolved: '已结束' };
export const STATUS_COLOR: Record<string, string> = { bot: 'cyan', queued: 'orange', open: 'green', resolved: 'default' };
export const CHANNEL_LABEL: Record<string, string> = { web: '网页', wecom_kf: '微信客服', miniprogram: '小程序' };
export const IDENTITY_LABEL: Record<string, string> = {
  web_visitor: '网页访客',
  wecom_external_userid: '微信客服',
  wx_openid: '微信 OpenID',
  wx_unionid: '微信 UnionID',
  phone: '手机号',
  phone_sha256: '手机号(加密)',
  taobao_nick: '淘宝',
  jd_pin: '京东',
  douyin_openid: '抖音',
  email: '邮箱',
};
export const PLATFORM_LABEL: Record<string, string> = {
  taobao: '淘宝', tmall: '天猫', jd: '京东', douyin: '抖音', pdd: '拼多多', wechat_mall: '微信商城', own_site: '官网',
};
export const ORDER_STATUS_LABEL: Record<string, string> = {
  created: '待付款', paid: '已付款', shipped: '已发货', delivered: '已签收', completed: '已完成', refunded: '已退款', cancelled: '已取消',
};
export const TIER_LABEL: Record<string, string> = { normal: '普通会员', silver: '银卡', gold: '金卡', diamond: '钻石' };
export const PRESENCE_LABEL: Record<string, string> = { online: '在线', away: '离开', offline: '离线' };
