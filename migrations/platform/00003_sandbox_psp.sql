-- The sandbox payment provider that ships with Sportello (demo and tests pay through it): its hosted checkout
-- sessions, each with the one signed notification it owes the merchant and the state of its delivery.
create table platform.sandbox_psp_sessions (
  id text primary key check (id ~ '^[A-Za-z0-9_-]{20,64}$'),
  payment_id bigint not null,
  idempotency_key text not null unique check (length(idempotency_key) between 1 and 200),
  amount_cents bigint not null check (amount_cents > 0),
  description text not null,
  payer_email text,
  return_url text not null,
  notify_url text not null,
  lang text not null default 'it' check (lang in ('it', 'en')),
  -- 'expired' is written lazily, the first time an expired session is looked at
  status text not null default 'pending' check (status in ('pending', 'succeeded', 'failed', 'cancelled', 'expired')),
  auth_code text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  -- card submitted but left pending on purpose (the "hanging" test card): no retry, no notification
  submitted_at timestamptz,
  completed_at timestamptz,
  -- the notification: one event per session, retried with backoff until a 2xx or 8 attempts
  event_id text unique,
  notify_attempts int not null default 0,
  notify_next_at timestamptz,
  notify_delivered_at timestamptz,
  notify_last_error text
);
create index sandbox_psp_sessions_due on platform.sandbox_psp_sessions (notify_next_at)
  where notify_next_at is not null and notify_delivered_at is null;

grant select, insert, update on platform.sandbox_psp_sessions to {{app_role}};
