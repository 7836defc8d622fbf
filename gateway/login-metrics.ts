import { loginPressure } from '../core/agents/login-guard.ts';
import type { Sql } from '../core/db/client.ts';
import { databaseGauges } from './db-gauges.ts';
import type { Metrics } from './metrics.ts';

/**
 * Password guessing, as the on-call sees it: failed logins in the last 15 minutes (the lockout's window) and the
 * accounts locked now. A jump in either, with nobody on the team forgetting a password, is someone trying.
 */
export function watchLogins(metrics: Metrics, sql: Sql, onError: (err: unknown) => void): void {
  databaseGauges(metrics, () => loginPressure(sql), onError, [
    { name: 'huike_login_failures_last_15m', help: 'Failed logins in the last 15 minutes, all nodes', pick: (r) => r.failures },
    { name: 'huike_accounts_locked', help: 'Agent accounts locked now by wrong passwords', pick: (r) => r.locked },
  ]);
}
