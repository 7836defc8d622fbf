-- Recovery playbooks (挽回话术): a trigger, conditions, actions and up to two message templates (A/B).
create table playbooks (
  id uuid primary key default gen_random_uuid(),
  -- the demo seed's default playbooks carry a key, so seeding twice never duplicates them
  key text unique,
  name text not null,
  enabled boolean not null default true,
  trigger jsonb not null,
  conditions jsonb not null default '{}',
  actions jsonb not null,
  variants jsonb not null default '[]',
  coupon text,
  link text,
  attribution_hours int not null default 72 check (attribution_hours between 1 and 720),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  updated_by uuid references agents(id)
);

-- One run per playbook and reason (a cart, an order, a ticket, a year's birthday): triggering twice is harmless.
-- Runs wait here until due; a worker claims them with SKIP LOCKED and a lease, so a restart loses or doubles nothing.
create table recovery_runs (
  id uuid primary key default gen_random_uuid(),
  playbook_id uuid not null references playbooks(id) on delete cascade,
  customer_id uuid not null references customers(id),
  reason_key text not null,
  trigger text not null,
  context jsonb not null default '{}',
  status text not null default 'scheduled'
    check (status in ('scheduled', 'sent', 'suggested', 'fallback', 'done', 'skipped', 'cancelled', 'failed')),
  -- why it was skipped, cancelled, fell back or failed: a stable code the reports group by
  outcome text,
  variant text,
  due_at timestamptz not null,
  claimed_until timestamptz,
  attempts int not null default 0,
  conversation_id uuid references conversations(id),
  message_id uuid references messages(id),
  ticket_id uuid references tickets(id),
  script text,
  script_used_at timestamptz,
  executed_at timestamptz,
  recovered_at timestamptz,
  recovered_fen bigint,
  recovered_order_id uuid references orders(id),
  created_at timestamptz not null default now(),
  unique (playbook_id, reason_key)
);
create index recovery_runs_due on recovery_runs(due_at) where status = 'scheduled';
create index recovery_runs_customer on recovery_runs(customer_id, executed_at desc);
create index recovery_runs_reason on recovery_runs(reason_key) where status = 'scheduled';

-- 退订: a customer who asked for no more marketing gets none, from the moment the message is stored
create table recovery_optouts (
  customer_id uuid primary key references customers(id),
  message_id uuid references messages(id),
  created_at timestamptz not null default now()
);

-- birthday as MM-DD (the year is not needed and often not given)
alter table customers add column birthday text check (birthday ~ '^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$');
