-- When the agent's last console closed. They stay online (and keep their tickets) for AGENT_OFFLINE_GRACE_S: a
-- network blip, a reloaded page or a gateway node stopping for an upgrade is followed by a reconnect. Meanwhile
-- routing gives them nothing new; after the grace the presence sweep sets them offline, or clears it if a console
-- of theirs is open on some node.
alter table agents add column disconnected_at timestamptz;
create index agents_disconnected on agents (disconnected_at) where disconnected_at is not null;
-- The node (its socket.io adapter's id for /agent) the agent's latest console connected to. A node killed outright
-- (SIGKILL, a crash) writes nothing as its consoles vanish: when it is gone from Redis, its agents' grace starts.
alter table agents add column console_node text;
