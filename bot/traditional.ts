// Traditional -> simplified for the characters customers actually type in shop questions. A full converter
// (OpenCC) is a large dictionary; these cover orders, delivery, refunds, sizes and payments, which is where a
// Hong Kong or Taiwan customer's question must still meet the simplified KB.
const PAIRS =
  '貨货運运費费換换號号碼码發发東东樣样麼么嗎吗單单購购買买賣卖價价錢钱張张會会員员積积優优還还這这個个們们時时間间問问題题遞递寶宝網网訂订與与為为說说話话請请謝谢處处幾几裝装褲裤襪袜顏颜質质壞坏錯错給给開开稅税專专務务郵邮門门區区內内來来過过後后讓让紅红沒没麼么嗎吗呢呢們们較较長长舊旧機机電电腦脑檢检驗验確确認认態态無无理里裡里邊边實实際际點点鐘钟節节慶庆禮礼歡欢迎迎頁页碼码縮缩塊块條条雙双隻只紙纸幣币賬账戶户帳账號号綁绑驗验證证碼码傳传送达達达滿满減减紅红節节專专區区塊块補补貼贴標标準准顯显示图圖图雜杂誌志龍龙鳳凤華华萬万億亿與与麗丽蘭兰現现嗎吗麼么';
const MAP = new Map<string, string>();
for (let i = 0; i + 1 < PAIRS.length; i += 2) MAP.set(PAIRS[i], PAIRS[i + 1]);

export function toSimplified(text: string): string {
  let out = '';
  for (const ch of text) out += MAP.get(ch) ?? ch;
  return out;
}
