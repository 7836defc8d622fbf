-- Canned responses (快捷回复): "/" in the reply box finds them by shortcut or title.
create table canned_responses (
  id uuid primary key default gen_random_uuid(),
  shortcut text not null unique,
  title text not null,
  text text not null,
  category text,
  created_by uuid references agents(id),
  updated_at timestamptz not null default now()
);

-- 稍后处理: a snoozed conversation leaves the agent's inbox until then, or until the customer writes
alter table conversations add column snoozed_until timestamptz;
