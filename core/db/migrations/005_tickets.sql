-- Tickets: SLA, history, internal notes; per-team SLA targets and business hours.

alter table teams add column first_response_minutes int not null default 5 check (first_response_minutes > 0);
alter table teams add column resolution_minutes int not null default 240 check (resolution_minutes > 0);
-- null = always open; else {"tz":"Asia/Shanghai","days":[1,2,3,4,5,6,7],"start":"09:00","end":"22:00"}
alter table teams add column business_hours jsonb;

alter table tickets add column first_response_due_at timestamptz;
alter table tickets add column resolution_due_at timestamptz;
alter table tickets add column sla_warned_at timestamptz;
alter table tickets add column escalated_at timestamptz;
alter table tickets add column csat_requested_at timestamptz;
create index tickets_sla_open on tickets(first_response_due_at) where status in ('new', 'assigned') and first_response_at is null;

-- every change of a ticket, in order: who did what (system changes have no actor)
create table ticket_events (
  id bigint generated always as identity primary key,
  ticket_id uuid not null references tickets(id),
  actor_id uuid references agents(id),
  type text not null,
  data jsonb not null default '{}',
  created_at timestamptz not null default now()
);
create index ticket_events_ticket on ticket_events(ticket_id, id);

-- internal notes: never sent to the customer; @mentions notify colleagues
create table ticket_notes (
  id bigint generated always as identity primary key,
  ticket_id uuid not null references tickets(id),
  author_id uuid not null references agents(id),
  text text not null,
  mentions uuid[] not null default '{}',
  created_at timestamptz not null default now()
);
create index ticket_notes_ticket on ticket_notes(ticket_id, id);
