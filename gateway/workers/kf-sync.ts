import { randomUUID } from 'node:crypto';
import type { Deps } from '../../core/deps.ts';
import { accountsWithPendingSync, finishKfSync, leaseKfAccount, saveKfCursor } from '../../core/conversations/kf-sync.ts';
import { WxApiError } from '../channels/wx/api.ts';
import type { KfClient, KfSyncedMessage } from '../channels/wecom-kf/client.ts';

export interface KfSyncOptions {
  pageLimit?: number;
  leaseMs?: number;
  owner?: string;
}

// sync_msg's callback token is valid for 10 minutes; past that, pull without it (allowed, just rate-limited harder)
const BAD_SYNC_TOKEN = new Set([95007, 95008]);

const PAGE_CONCURRENCY = 8;

/**
 * Handles a page with customers in parallel, each customer's messages in their order (a reply must not overtake
 * the question it answers). Resolves when all are stored, so the cursor is saved only after the whole page.
 */
async function handlePage(list: KfSyncedMessage[], handle: (msg: KfSyncedMessage) => Promise<void>): Promise<void> {
  const lanes = new Map<string, KfSyncedMessage[]>();
  for (const msg of list) {
    const who = msg.external_userid ?? String((msg.event as Record<string, unknown> | undefined)?.external_userid ?? '');
    const lane = lanes.get(who);
    if (lane) lane.push(msg);
    else lanes.set(who, [msg]);
  }
  const queue = [...lanes.values()];
  const errors: unknown[] = [];
  const worker = async () => {
    for (let lane = queue.shift(); lane; lane = queue.shift()) {
      try {
        for (const msg of lane) await handle(msg);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PAGE_CONCURRENCY, queue.length) }, worker));
  if (errors.length) throw errors[0];
}

/**
 * Pulls kf messages for every account WeCom told us about: pages sync_msg while has_more, stores each page, and
 * only then saves next_cursor. A crash between the two replays the page, and msgid dedupe makes that harmless.
 */
export function createKfSync(
  deps: Deps,
  client: KfClient,
  handle: (msg: KfSyncedMessage) => Promise<void>,
  opts: KfSyncOptions = {},
) {
  const pageLimit = opts.pageLimit ?? 1000;
  const leaseMs = opts.leaseMs ?? 60_000;
  const owner = opts.owner ?? randomUUID();

  async function syncAccount(openKfid: string): Promise<boolean> {
    const lease = await leaseKfAccount(deps.sql, openKfid, owner, leaseMs);
    if (!lease) return false;
    let finished = false;
    try {
      let { cursor, token } = lease;
      for (let page = 0; page < 10_000; page++) {
        let result;
        try {
          result = await client.syncMsg({ cursor, token, limit: pageLimit, open_kfid: openKfid });
        } catch (err) {
          if (token && err instanceof WxApiError && BAD_SYNC_TOKEN.has(err.errcode)) {
            token = null;
            continue;
          }
          throw err;
        }
        await handlePage(result.msg_list ?? [], handle);
        if (result.next_cursor) {
          if (!(await saveKfCursor(deps.sql, openKfid, owner, result.next_cursor, leaseMs)))
            throw new Error(`lost the sync lease of kf account ${openKfid}`);
          cursor = result.next_cursor;
        }
        if (!result.has_more) break;
      }
      finished = true;
      return true;
    } finally {
      await finishKfSync(deps.sql, openKfid, owner, finished ? lease.upto : null);
    }
  }

  return {
    /** One pass over the accounts with pending requests; true when any was synced. */
    async tick(): Promise<boolean> {
      let worked = false;
      let firstError: unknown = null;
      // one broken account must not starve the others; its error still reaches the loop for backoff
      for (const openKfid of await accountsWithPendingSync(deps.sql)) {
        try {
          worked = (await syncAccount(openKfid)) || worked;
        } catch (err) {
          deps.log.warn({ err, openKfid }, 'kf sync failed');
          firstError ??= err;
        }
      }
      if (firstError && !worked) throw firstError;
      return worked;
    },
  };
}
