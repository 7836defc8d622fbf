import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWechat } from '../../support/wechat.ts';

// The emulator keeps every call for tests to inspect; the bench's load turns that off, since ten minutes at
// 1,000 msgs/s kept 1.2 million entries in the load's heap. Off, it must still answer and enforce the rules.
const wx = await startWechat();
let token = '';
const post = async (path: string, body: unknown) =>
  (await fetch(`${wx.env.MP_API_BASE}/${path}?access_token=${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<{ errcode: number }>;
const text = (touser: string) => ({ touser, msgtype: 'text', text: { content: '您好' } });

beforeAll(async () => {
  const r = await fetch(`${wx.env.MP_API_BASE}/cgi-bin/token?grant_type=client_credential&appid=${wx.env.MP_APPID}&secret=${wx.env.MP_SECRET}`);
  token = ((await r.json()) as { access_token: string }).access_token;
});
afterAll(() => wx.emulator.stop());

describe('the emulator call log', () => {
  it('keeps every call and sent message by default', async () => {
    wx.emulator.mpCustomerWrote('oKEEP');
    const before = wx.emulator.calls.length;
    expect((await post('cgi-bin/message/custom/send', text('oKEEP'))).errcode).toBe(0);
    expect(wx.emulator.calls.length).toBe(before + 1);
    expect(wx.emulator.mpSent.at(-1)).toMatchObject({ touser: 'oKEEP' });
  });

  it('off, keeps nothing, still tells the listener, and still enforces the 48 h window', async () => {
    const heard: string[] = [];
    wx.emulator.keepLog = false;
    wx.emulator.onMpSent = (b: { touser: string }) => heard.push(b.touser);
    try {
      const [calls, sent] = [wx.emulator.calls.length, wx.emulator.mpSent.length];
      wx.emulator.mpCustomerWrote('oLOAD');
      expect((await post('cgi-bin/message/custom/send', text('oLOAD'))).errcode).toBe(0);
      // a customer who never wrote: WeChat refuses, and the listener hears nothing
      expect((await post('cgi-bin/message/custom/send', text('oSILENT'))).errcode).toBe(45015);
      expect(heard).toEqual(['oLOAD']);
      expect([wx.emulator.calls.length, wx.emulator.mpSent.length]).toEqual([calls, sent]);
    } finally {
      wx.emulator.keepLog = true;
      wx.emulator.onMpSent = null;
    }
  });
});
