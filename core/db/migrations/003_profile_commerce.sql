-- Unified customer profile: merges (OneID), commerce events, carts, logistics, tags, settings, audit.

-- a merged customer keeps its row (so a split can restore it) and points at the survivor
alter table customers add column merged_into uuid references customers(id);
create index customers_name on customers(display_name);

-- how sure we are that an identity belongs to this person: a verified phone or a unionid can merge customers
alter table identities add column verified boolean not null default false;
-- sha256 of a phone (hex): platforms that only hand out hashed phones (phone_sha256) still find the customer
alter table identities add column value_hash text;
update identities set value_hash = encode(sha256(convert_to(value, 'UTF8')), 'hex') where kind = 'phone';
create index identities_value_hash on identities(value_hash) where value_hash is not null;

-- status_at orders out-of-order events: an older event never overwrites a newer status
alter table orders add column status_at timestamptz;
alter table orders add column discount_fen bigint not null default 0 check (discount_fen >= 0);
alter table orders add column address text;
alter table orders add column cart_id text;
update orders set status_at = coalesce(paid_at, ordered_at);
create index orders_platform_order on orders(platform_order_id);

-- every commerce event once (platform + event id); recovery playbooks read them later
create table commerce_events (
  id bigint generated always as identity primary key,
  platform text not null,
  event_id text not null,
  type text not null,
  customer_id uuid references customers(id),
  occurred_at timestamptz not null,
  payload jsonb not null,
  received_at timestamptz not null default now(),
  unique (platform, event_id)
);
create index commerce_events_customer on commerce_events(customer_id, occurred_at desc);

create table carts (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid not null references customers(id),
  platform text not null,
  platform_cart_id text not null,
  status text not null default 'active' check (status in ('active', 'abandoned', 'purchased')),
  items jsonb not null default '[]',
  total_fen bigint not null default 0,
  updated_at timestamptz not null,
  unique (platform, platform_cart_id)
);
create index carts_customer on carts(customer_id, updated_at desc);

create table logistics_events (
  id bigint generated always as identity primary key,
  platform text not null,
  platform_order_id text not null,
  carrier text,
  tracking_no text,
  status text not null,
  description text,
  occurred_at timestamptz not null
);
create index logistics_events_order on logistics_events(platform, platform_order_id, occurred_at desc);

create table customer_tags (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid not null references customers(id),
  tag text not null,
  source text not null default 'manual' check (source in ('manual', 'import')),
  created_by uuid references agents(id),
  created_at timestamptz not null default now(),
  unique (customer_id, tag)
);

-- a merge moves rows from `merged_id` to `survivor_id`; the lists say exactly what moved, so a split can undo it
create table customer_merges (
  id uuid primary key default gen_random_uuid(),
  survivor_id uuid not null references customers(id),
  merged_id uuid not null references customers(id),
  reason text not null,
  identity_ids uuid[] not null default '{}',
  conversation_ids uuid[] not null default '{}',
  order_ids uuid[] not null default '{}',
  ticket_ids uuid[] not null default '{}',
  cart_ids uuid[] not null default '{}',
  event_ids bigint[] not null default '{}',
  tags_added text[] not null default '{}',
  points_moved int not null default 0,
  created_by uuid references agents(id),
  created_at timestamptz not null default now(),
  split_at timestamptz,
  split_by uuid references agents(id)
);
create index customer_merges_survivor on customer_merges(survivor_id);
create index customer_merges_merged on customer_merges(merged_id);

-- CSAT (rated by the customer when a ticket is solved; issue #6 asks for it, the profile shows it)
alter table tickets add column csat_score int check (csat_score between 1 and 5);
alter table tickets add column csat_comment text;
alter table tickets add column csat_at timestamptz;

-- shop-wide settings (RFM rules, tiers, tag rules ...), validated by the code that reads them
create table settings (
  key text primary key,
  value jsonb not null,
  updated_by uuid references agents(id),
  updated_at timestamptz not null default now()
);

-- who looked at or changed something sensitive
create table audit_log (
  id bigint generated always as identity primary key,
  actor_id uuid references agents(id),
  action text not null,
  target_type text not null,
  target_id text not null,
  details jsonb not null default '{}',
  created_at timestamptz not null default now()
);
create index audit_log_target on audit_log(target_type, target_id, created_at desc);
