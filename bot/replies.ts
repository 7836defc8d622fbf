// What the bot says, in one place so shops (and translators) find it.
export const REPLIES = {
  clarify: '您是想问以下哪个问题呢？点击即可查看答案：',
  miss: '抱歉，我没能理解您的问题。您可以换个说法，或回复「人工」转接人工客服。',
  handoff: '正在为您转接人工客服，请稍候～',
  thanksForRating: '感谢您的评价！有其他问题随时找我们～',
  sorry: '非常抱歉给您带来不好的体验，已为您优先转接人工客服处理，请稍候。',
  welcome: '您好，欢迎咨询！请直接输入您的问题，例如「多久发货」「怎么退货」；回复「人工」可转接人工客服。',
  nonText: '已收到～机器人暂时只能看懂文字。请用文字描述您的问题，或回复「人工」由客服为您查看。',
  queued: '当前客服都在忙，您已进入排队，客服接入后会第一时间回复您。',
  queuedAt: (ahead: number, minutes: number) =>
    ahead > 0
      ? `当前客服都在忙，您前面还有 ${ahead} 位，预计等待约 ${minutes} 分钟。客服接入后会第一时间回复您。`
      : `您已排在第一位，预计等待约 ${minutes} 分钟，客服接入后会第一时间回复您。`,
};
