// Traditional -> simplified for the characters customers actually type in shop questions. A full converter
// (OpenCC) is a large dictionary; these cover orders, delivery, refunds, sizes and payments, which is where a
// Hong Kong or Taiwan customer's question must still meet the simplified KB.
const PAIRS = '貨货運运費费換换號号碼码發发東东樣样麼么嗎吗單单購购買买賣卖價价錢钱張张會会員员積积優优還还這这個个們们時时間间問问題题遞递寶宝網网訂订與与為为說说話话請请謝谢處处幾几裝装褲裤襪袜顏颜質质壞坏錯错給给開开稅税專专務务郵邮門门區区來来過过後后讓让紅红沒没較较長长舊旧機机電电腦脑檢检驗验確确認认態态無无裡里邊边實实際际點点鐘钟節节慶庆禮礼歡欢頁页縮缩塊块條条雙双隻只紙纸幣币賬账戶户帳账綁绑證证傳传達达滿满減减補补貼贴標标準准顯显圖图雜杂龍龙華华萬万億亿麗丽蘭兰現现訴诉騙骗氣气離离譜谱報报師师導导類类據据詢询讀读謊谎級级衛卫觀观參参變变戲戏環环車车輛辆關关閉闭隊队陽阳陰阴風风飛飞馬马魚鱼鳥鸟黃黄齊齐寫写親亲愛爱聽听讚赞貴贵賺赚賠赔贈赠輕轻轉转辦办選选遲迟進进遠远適适邏逻醫医釋释鈕钮銀银鏈链鑽钻閃闪險险隨随難难靈灵預预領领頭头顧顾飾饰餘余館馆髮发鬆松麵面黨党';
const MAP = new Map<string, string>();
for (let i = 0; i + 1 < PAIRS.length; i += 2) MAP.set(PAIRS[i], PAIRS[i + 1]);

const TRADITIONAL = new RegExp(`[${[...MAP.keys()].join('')}]`, 'g');

export function toSimplified(text: string): string {
  return text.replace(TRADITIONAL, (ch) => MAP.get(ch)!);
}
