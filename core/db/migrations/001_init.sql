-- Agents, teams and who may do what.
create table teams (
  id uuid primary key default gen_random_uuid(),
  name text not null unique,
  -- ticket categories this team handles; the default team takes the rest
  categories text[] not null default '{}',
  is_default boolean not null default false,
  created_at timestamptz not null default now()
);

create table agents (
  id uuid primary key default gen_random_uuid(),
  email text not null unique,
  name text not null,
  password_hash text not null,
  role text not null check (role in ('agent', 'supervisor', 'admin')),
  skills text[] not null default '{}',
  status text not null default 'offline' check (status in ('online', 'away', 'offline')),
  max_concurrent int not null default 8 check (max_concurrent > 0),
  last_assigned_at timestamptz,
  disabled_at timestamptz,
  created_at timestamptz not null default now()
);

create table agent_teams (
  agent_id uuid not null references agents(id) on delete cascade,
  team_id uuid not null references teams(id) on delete cascade,
  primary key (agent_id, team_id)
);

-- Customers and their identities on every platform (OneID).
create table customers (
  id uuid primary key default gen_random_uuid(),
  display_name text not null,
  avatar_url text,
  phone text,
  tier text not null default 'normal',
  points int not null default 0,
  created_at timestamptz not null default now()
);

create table identities (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid not null references customers(id),
  kind text not null,
  value text not null,
  display_name text,
  created_at timestamptz not null default now(),
  unique (kind, value)
);
create index identities_customer on identities(customer_id);

create table orders (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid not null references customers(id),
  platform text not null,
  platform_order_id text not null,
  status text not null,
  total_fen bigint not null check (total_fen >= 0),
  items jsonb not null default '[]',
  ordered_at timestamptz not null,
  paid_at timestamptz,
  created_at timestamptz not null default now(),
  unique (platform, platform_order_id)
);
create index orders_customer on orders(customer_id, ordered_at desc);

-- Conversations and messages. seq is per conversation so clients can fill gaps.
create table conversations (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid not null references customers(id),
  -- the identity the customer wrote from: replies go back there
  identity_id uuid not null references identities(id),
  channel text not null check (channel in ('web', 'wecom_kf', 'miniprogram')),
  status text not null default 'bot' check (status in ('bot', 'queued', 'open', 'resolved')),
  team_id uuid references teams(id),
  assignee_id uuid references agents(id),
  bot_misses int not null default 0,
  last_seq int not null default 0,
  last_message_at timestamptz,
  last_customer_message_at timestamptz,
  created_at timestamptz not null default now()
);
create index conversations_identity_active on conversations(identity_id) where status <> 'resolved';
create index conversations_assignee on conversations(assignee_id, last_message_at desc);
create index conversations_recent on conversations(last_message_at desc);

create table messages (
  id uuid primary key default gen_random_uuid(),
  conversation_id uuid not null references conversations(id),
  seq int not null,
  sender_type text not null check (sender_type in ('customer', 'bot', 'agent', 'system')),
  sender_id uuid,
  type text not null default 'text',
  text text,
  payload jsonb not null default '{}',
  channel text not null,
  channel_msg_id text,
  status text not null default 'sent' check (status in ('received', 'pending', 'sent', 'failed')),
  error text,
  created_at timestamptz not null default now(),
  unique (conversation_id, seq),
  unique (channel, channel_msg_id)
);

-- Messages that must leave through an external channel API; the outbox worker sends them.
create table outbox (
  id bigint generated always as identity primary key,
  message_id uuid not null unique references messages(id),
  channel text not null,
  status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
  attempts int not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error text,
  created_at timestamptz not null default now()
);
create index outbox_due on outbox(next_attempt_at) where status = 'pending';

-- Tickets (工单): a human's piece of work on a conversation.
create table tickets (
  id uuid primary key default gen_random_uuid(),
  number bigint generated always as identity unique,
  conversation_id uuid not null references conversations(id),
  customer_id uuid not null references customers(id),
  category text,
  reason text not null,
  priority int not null default 0,
  status text not null default 'new' check (status in ('new', 'assigned', 'pending', 'solved', 'closed')),
  team_id uuid references teams(id),
  assignee_id uuid references agents(id),
  assigned_at timestamptz,
  first_response_at timestamptz,
  solved_at timestamptz,
  created_at timestamptz not null default now()
);
create index tickets_open_assignee on tickets(assignee_id) where status in ('assigned', 'pending');
create index tickets_queue on tickets(team_id, priority desc, created_at) where status = 'new';
create unique index tickets_one_open_per_conversation on tickets(conversation_id) where status in ('new', 'assigned', 'pending');

-- Knowledge base the bot answers from.
create table kb_entries (
  id text primary key,
  category text not null,
  question text not null,
  similar_questions text[] not null default '{}',
  answer text not null,
  enabled boolean not null default true,
  hits int not null default 0,
  updated_at timestamptz not null default now()
);
