-- WeChat channels: the kf account a conversation belongs to, the reply quota, and outbound delivery state.

-- open_kfid (WeCom kf) or appid (mini-program) the customer wrote to; replies go out through the same account
alter table conversations add column channel_account text;
-- outbound messages since the customer last wrote: WeChat allows 5 within 48 h of a customer message
alter table conversations add column replies_since_customer int not null default 0;

-- stable code of a delivery failure (window_closed, quota_exhausted, user_refused ...); `error` holds the Chinese text
alter table messages add column error_code text;

-- a claimed row is invisible to other workers until its lease ends; a crashed worker's rows come back by themselves
alter table outbox add column lease_until timestamptz;

-- "WeCom has news for this kf account": written by the callback before it answers, consumed by the sync worker
create table kf_sync_requests (
  id bigint generated always as identity primary key,
  open_kfid text not null,
  token text,
  received_at timestamptz not null default now(),
  done_at timestamptz
);
create index kf_sync_requests_pending on kf_sync_requests(open_kfid, id) where done_at is null;

-- one row per kf account: the sync_msg cursor and the lease that keeps two nodes from syncing it at once
create table kf_accounts (
  open_kfid text primary key,
  cursor text,
  lease_owner text,
  lease_until timestamptz,
  synced_at timestamptz
);

-- the WeCom userid of an agent, so a takeover can be mirrored to WeCom (kf/service_state/trans)
alter table agents add column wecom_userid text;
