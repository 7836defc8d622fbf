import { describe, expect, it } from 'vitest';
import { toMpOutgoing } from '../../../gateway/channels/miniprogram/outgoing.ts';
import { kfMsgId, toKfOutgoing } from '../../../gateway/channels/wecom-kf/outgoing.ts';

const msg = (type: string, text: string | null, payload: Record<string, unknown> = {}) => ({ type, text, payload });

describe('our messages in WeChat wire format', () => {
  it('kf: text, quick replies as msgmenu, image, link, mini-program card', () => {
    expect(toKfOutgoing(msg('text', '你好'))).toEqual({ msgtype: 'text', text: { content: '你好' } });
    expect(toKfOutgoing(msg('text', '您是想问：', { quickReplies: ['多久发货', '怎么退货'] }))).toEqual({
      msgtype: 'msgmenu',
      msgmenu: {
        head_content: '您是想问：',
        list: [
          { type: 'click', click: { id: '1', content: '多久发货' } },
          { type: 'click', click: { id: '2', content: '怎么退货' } },
        ],
      },
    });
    expect(toKfOutgoing(msg('image', '[图片]', { mediaId: 'M1' }))).toEqual({ msgtype: 'image', image: { media_id: 'M1' } });
    expect(toKfOutgoing(msg('link', '[链接]', { title: '优惠券', desc: '满99减10', url: 'https://shop/c', thumbMediaId: 'T1' }))).toEqual({
      msgtype: 'link',
      link: { title: '优惠券', desc: '满99减10', url: 'https://shop/c', thumb_media_id: 'T1' },
    });
    expect(toKfOutgoing(msg('miniprogram', null, { appId: 'wxapp', title: '商品', thumbMediaId: 'T2', pagePath: 'pages/i?id=1' }))).toEqual({
      msgtype: 'miniprogram',
      miniprogram: { appid: 'wxapp', title: '商品', thumb_media_id: 'T2', pagepath: 'pages/i?id=1' },
    });
  });

  it('kf msgid: 32 characters WeCom accepts, stable per message', () => {
    const id = kfMsgId('7e0ffd2b-6332-48f4-8362-4ab3f9eb0245');
    expect(id).toBe('7e0ffd2b633248f483624ab3f9eb0245');
    expect(id).toMatch(/^[0-9a-zA-Z_-]{1,32}$/);
  });

  it('mini-program: quick replies become numbered lines; cards map to miniprogrampage', () => {
    expect(toMpOutgoing(msg('text', '您是想问：', { quickReplies: ['多久发货', '怎么退货'] }))).toEqual({
      msgtype: 'text',
      text: { content: '您是想问：\n1. 多久发货\n2. 怎么退货' },
    });
    expect(toMpOutgoing(msg('miniprogram', null, { title: '商品', pagePath: 'pages/i', thumbMediaId: 'T' }))).toEqual({
      msgtype: 'miniprogrampage',
      miniprogrampage: { title: '商品', pagepath: 'pages/i', thumb_media_id: 'T' },
    });
  });
});
