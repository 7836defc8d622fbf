-- A customer message is acknowledged once stored; if its node died before the bot answered, no event is left to
-- answer it. Conversations still the bot's whose last message is the customer's are found through this index,
create index conversations_waiting_bot on conversations(last_customer_message_at) where status = 'bot';
-- and each such message is taken over once, by one node.
create table bot_redrives (
  message_id uuid primary key references messages(id),
  at timestamptz not null default now()
);
