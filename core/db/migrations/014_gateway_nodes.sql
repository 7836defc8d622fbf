-- Each gateway process beats here every few seconds. A node that stops beating (killed, crashed, frozen, or cut
-- off from the database) is dead to the others: the agents whose latest console was there (agents.console_node)
-- start their offline grace. The database, not Redis, is the witness: it is there with one node and no Redis,
-- where a crashed process left its agents online for good, and a node cut off from Redis alone is still alive.
create table gateway_nodes (
  id text primary key,
  host text not null,
  pid integer not null,
  started_at timestamptz not null default now(),
  seen_at timestamptz not null default now(),
  -- stopped on purpose (SIGTERM): silent, but not lost; /metrics tells the two apart
  stopped_at timestamptz
);
