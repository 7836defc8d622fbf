import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config.ts';

describe('config', () => {
  it('applies the documented defaults', () => {
    const r = parseConfig({});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.PORT).toBe(3000);
    expect(r.config.DATA_DIR).toBe('./data');
    expect(r.config.DATABASE_URL).toBeUndefined();
    expect(r.config.WECOM_API_BASE).toBe('https://qyapi.weixin.qq.com');
    expect(r.config.MP_API_BASE).toBe('https://api.weixin.qq.com');
    expect(r.config.SERVICES).toEqual(['web', 'worker']);
    expect(r.config.WECOM_REPLAY_WINDOW_S).toBe(300);
    expect(r.config.DATABASE_POOL_MAX).toBe(20);
  });

  it('treats empty strings as unset', () => {
    const r = parseConfig({ DATABASE_URL: '', PORT: '' });
    expect(r.ok && r.config.DATABASE_URL === undefined && r.config.PORT === 3000).toBe(true);
  });

  it('reports every problem at once', () => {
    const r = parseConfig({ PORT: 'abc', DATABASE_URL: 'mysql://x', WECOM_AES_KEY: 'short', SERVICES: 'web,cron', JWT_SECRET: 'tiny', DATABASE_POOL_MAX: '1' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const keys = r.problems.map((p) => p.split(':')[0]);
    expect(keys).toEqual(expect.arrayContaining(['PORT', 'DATABASE_URL', 'WECOM_AES_KEY', 'SERVICES', 'JWT_SECRET', 'DATABASE_POOL_MAX']));
  });
});
