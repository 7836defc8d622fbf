-- Routing policy per team: {"sticky": true, "strategy": "least_loaded" | "longest_idle", "priorityFirst": true}
alter table teams add column routing jsonb not null default '{}';
