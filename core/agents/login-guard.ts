import type { Queryable } from '../db/client.ts';
import { AppError } from '../errors.ts';

/** Wrong passwords an account may have in the window before it is locked for the rest of it. */
export const MAX_FAILURES_PER_ACCOUNT = 5;
export const ACCOUNT_WINDOW_MIN = 15;
/** Failures from one address (many accounts tried) before it is slowed down. */
export const MAX_FAILURES_PER_IP = 30;
export const IP_WINDOW_MIN = 10;

/**
 * Refuses a login attempt while the account is locked (too many wrong passwords lately) or the address is
 * throttled (password spraying across accounts). Checked before the password, so a locked account cannot be
 * probed either; the answer says how long to wait.
 */
export async function assertLoginAllowed(q: Queryable, email: string, ip: string): Promise<void> {
  const [r] = await q<{ account: number; accountOldest: Date | null; address: number }[]>`
    select (select count(*)::int from login_failures where email = ${email} and at > now() - ${ACCOUNT_WINDOW_MIN} * interval '1 minute') as account,
           (select min(at) from (select at from login_failures where email = ${email} and at > now() - ${ACCOUNT_WINDOW_MIN} * interval '1 minute'
                                  order by at desc limit ${MAX_FAILURES_PER_ACCOUNT}) f) as account_oldest,
           (select count(*)::int from login_failures where ip = ${ip} and at > now() - ${IP_WINDOW_MIN} * interval '1 minute') as address`;
  if (r.account >= MAX_FAILURES_PER_ACCOUNT) {
    const until = new Date(new Date(r.accountOldest!).getTime() + ACCOUNT_WINDOW_MIN * 60_000);
    const minutes = Math.max(1, Math.ceil((until.getTime() - Date.now()) / 60_000));
    throw new AppError(423, 'account_locked', `密码错误次数过多，账号已锁定，请 ${minutes} 分钟后再试或联系管理员`);
  }
  if (r.address >= MAX_FAILURES_PER_IP) throw new AppError(429, 'too_many_attempts', `登录尝试过于频繁，请 ${IP_WINDOW_MIN} 分钟后再试`);
}

export async function recordLoginFailure(q: Queryable, email: string, ip: string): Promise<void> {
  await q`insert into login_failures (email, ip) values (${email}, ${ip})`;
}

/** A successful login starts the account's count again, and old rows go. */
export async function clearLoginFailures(q: Queryable, email: string): Promise<void> {
  await q`delete from login_failures where email = ${email} or at < now() - interval '1 day'`;
}

/** The accounts locked right now and until when, by email: what `assertLoginAllowed` would refuse, for the team page. */
export async function lockedAccounts(q: Queryable): Promise<Map<string, Date>> {
  const rows = await q<{ email: string; until: Date }[]>`
    select email, min(at) + ${ACCOUNT_WINDOW_MIN} * interval '1 minute' as until
      from (select email, at, row_number() over (partition by email order by at desc) as n
              from login_failures where at > now() - ${ACCOUNT_WINDOW_MIN} * interval '1 minute') f
     where n <= ${MAX_FAILURES_PER_ACCOUNT}
     group by email having count(*) >= ${MAX_FAILURES_PER_ACCOUNT}`;
  return new Map(rows.map((r) => [r.email, new Date(r.until)]));
}

/** For /metrics: failed logins in the lockout window across the fleet, and the accounts locked by them now. */
export async function loginPressure(q: Queryable): Promise<{ failures: number; locked: number }> {
  const [r] = await q<{ failures: number; locked: number }[]>`
    select (select count(*)::int from login_failures where at > now() - ${ACCOUNT_WINDOW_MIN} * interval '1 minute') as failures,
           (select count(*)::int from (select 1 from login_failures where at > now() - ${ACCOUNT_WINDOW_MIN} * interval '1 minute'
                                        group by email having count(*) >= ${MAX_FAILURES_PER_ACCOUNT}) l) as locked`;
  return r;
}
