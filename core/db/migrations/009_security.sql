-- Failed logins, for lockout per account and throttling per address; kept in the database so every node sees them.
create table login_failures (
  id bigint generated always as identity primary key,
  email text not null,
  ip text not null,
  at timestamptz not null default now()
);
create index login_failures_email on login_failures(email, at desc);
create index login_failures_ip on login_failures(ip, at desc);

-- Tokens ended by logout before their expiry; rows past expires_at can be deleted.
create table revoked_tokens (
  jti text primary key,
  agent_id uuid not null references agents(id),
  expires_at timestamptz not null
);
