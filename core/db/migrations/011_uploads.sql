-- Pictures from the H5 chat page, by their sha256. In the database, not on a node's disk: behind a load
-- balancer the console may fetch a picture from another node than the one that took it.
create table uploads (
  name text primary key,
  bytes bytea not null,
  created_at timestamptz not null default now()
);
