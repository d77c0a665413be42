-- Accounts (one registration serves every tenant), sessions, memberships, email tokens, throttling, outbox.
create table platform.accounts (
  id bigint generated always as identity primary key,
  email text not null,
  email_confirmed_at timestamptz,
  password_hash text,
  given_name text not null,
  family_name text not null,
  codice_fiscale text not null unique check (codice_fiscale ~ '^[A-Z0-9]{16}$'),
  phone text,
  address text,
  lang text not null default 'it' check (lang in ('it', 'en')),
  reminders boolean not null default true,
  operator boolean not null default false,
  deletion_requested_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index accounts_email on platform.accounts (lower(email));

create table platform.sessions (
  id bigint generated always as identity primary key,
  token_hash bytea not null unique,
  account_id bigint not null references platform.accounts (id) on delete cascade,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  ip text,
  user_agent text
);
create index sessions_account on platform.sessions (account_id) where revoked_at is null;

create table platform.memberships (
  account_id bigint not null references platform.accounts (id) on delete cascade,
  tenant_id bigint not null references platform.tenants (id) on delete cascade,
  role text not null check (role in ('admin', 'operatore', 'lettore')),
  created_at timestamptz not null default now(),
  primary key (account_id, tenant_id)
);
create index memberships_tenant on platform.memberships (tenant_id);

-- Single-use links: email confirmation, password reset, email change, staff invitation.
create table platform.email_tokens (
  token_hash bytea primary key,
  account_id bigint not null references platform.accounts (id) on delete cascade,
  purpose text not null check (purpose in ('confirm', 'reset', 'email_change', 'invite')),
  new_email text,
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null default now()
);
create index email_tokens_account on platform.email_tokens (account_id, purpose);

-- Failed attempts per key ('login:account:<id>', 'login:ip:<ip>', 'register:ip:<ip>', …) in a sliding window.
create table platform.throttle (
  key text primary key,
  window_start timestamptz not null default now(),
  failures int not null default 0,
  locked_until timestamptz
);

-- Email is written here in the same transaction as the event; a sender drains it with retries.
create table platform.outbox (
  id bigint generated always as identity primary key,
  dedupe_key text unique,
  to_address text not null,
  subject text not null,
  text_body text not null,
  html_body text,
  attachments jsonb not null default '[]',
  status text not null default 'pending' check (status in ('pending', 'sending', 'sent', 'failed')),
  attempts int not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error text,
  message_id text,
  created_at timestamptz not null default now(),
  sent_at timestamptz
);
create index outbox_due on platform.outbox (next_attempt_at) where status = 'pending';

grant select, insert, update, delete on platform.accounts, platform.sessions, platform.memberships,
  platform.email_tokens, platform.throttle, platform.outbox to {{app_role}};
grant select on platform.accounts, platform.sessions, platform.memberships to {{tenant_group}};
grant insert on platform.outbox to {{tenant_group}};
grant usage on all sequences in schema platform to {{app_role}}, {{tenant_group}};
