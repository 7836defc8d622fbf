-- Questions the bot could not answer, with its best guesses, for a supervisor to turn into KB knowledge.
create table kb_unanswered (
  id bigint generated always as identity primary key,
  conversation_id uuid references conversations(id),
  message_id uuid references messages(id),
  text text not null,
  decision text not null check (decision in ('miss', 'handoff')),
  reason text,
  candidates jsonb not null default '[]',
  status text not null default 'open' check (status in ('open', 'added', 'ignored')),
  resolved_entry_id text,
  resolved_by uuid references agents(id),
  resolved_at timestamptz,
  created_at timestamptz not null default now()
);
create index kb_unanswered_open on kb_unanswered(created_at desc) where status = 'open';

alter table kb_entries add column created_at timestamptz not null default now();
create index kb_entries_category on kb_entries(category);
