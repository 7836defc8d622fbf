-- Tokens are stateless (JWT), so "end every session of this agent" needs a counter the token carries: a token
-- signed at an older epoch is refused. A password change or reset, and disabling the account, move it on.
alter table agents add column session_epoch integer not null default 0;
-- when the password was last set, shown to admins (a reset the agent never followed up on)
alter table agents add column password_set_at timestamptz;
-- a password an admin chose (a new account, a reset) is known to two people: the console asks its owner for a new one
alter table agents add column must_change_password boolean not null default false;
