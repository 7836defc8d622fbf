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
    expect(r.config.BOT_REDRIVE_AFTER_S).toBe(30);
    expect(r.config.OUTBOX_LEASE_S).toBe(30);
    expect(r.config.INGEST_BATCH_SPACING_MS).toBe(15);
    expect(parseConfig({ INGEST_BATCH_SPACING_MS: '0' }).ok).toBe(true);
    expect(parseConfig({ INGEST_BATCH_SPACING_MS: '-1' }).ok).toBe(false);
    expect(parseConfig({ INGEST_BATCH_SPACING_MS: '2000' }).ok).toBe(false);
    expect(r.config.REDIS_PREFIX).toBe('huike:');
    expect(r.config.AGENT_OFFLINE_GRACE_S).toBe(30);
    expect(parseConfig({ AGENT_OFFLINE_GRACE_S: '0' }).ok).toBe(true);
    expect(parseConfig({ AGENT_OFFLINE_GRACE_S: '-1' }).ok).toBe(false);
    expect(parseConfig({ AGENT_OFFLINE_GRACE_S: '3601' }).ok).toBe(false);
  });

  it('takes a Redis prefix of its own and names what is wrong with a bad one', () => {
    const staging = parseConfig({ REDIS_PREFIX: 'huike-staging:' });
    expect(staging.ok && staging.config.REDIS_PREFIX).toBe('huike-staging:');
    for (const bad of ['with space:', '*', 'x'.repeat(65)]) {
      const r = parseConfig({ REDIS_PREFIX: bad });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problems.join('\n')).toMatch(/^REDIS_PREFIX: letters, digits/);
    }
  });

  it('refuses an outbox lease a WeChat call could outlast, with the other problems', () => {
    const short = parseConfig({ OUTBOX_LEASE_S: '15', PORT: 'abc' });
    expect(short.ok).toBe(false);
    if (short.ok) return;
    expect(short.problems.map((p) => p.split(':')[0]).sort()).toEqual(['OUTBOX_LEASE_S', 'PORT']);
    expect(short.problems.join('\n')).toMatch(/twice WX_API_TIMEOUT_MS \(10000 ms\)/);
    // a shorter timeout allows a shorter lease
    expect(parseConfig({ OUTBOX_LEASE_S: '5', WX_API_TIMEOUT_MS: '2000' }).ok).toBe(true);
    expect(parseConfig({ OUTBOX_LEASE_S: '4', WX_API_TIMEOUT_MS: '1000' }).ok).toBe(false);
    expect(parseConfig({ BOT_REDRIVE_AFTER_S: '1' }).ok).toBe(false);
    // unset, it grows with a long timeout instead of refusing a configuration that started before it existed
    const long = parseConfig({ WX_API_TIMEOUT_MS: '20000' });
    expect(long.ok && long.config.OUTBOX_LEASE_S).toBe(40);
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
