-- Carts and payments span tenants, so they live in the platform schema; each tenant records in its own
-- schema which of its installments a payment settled (tenant migration 00002).
create table platform.cart_items (
  account_id bigint not null references platform.accounts (id) on delete cascade,
  tenant_id bigint not null references platform.tenants (id) on delete cascade,
  installment_id bigint not null,
  added_at timestamptz not null default now(),
  primary key (account_id, tenant_id, installment_id)
);

create sequence platform.receipt_number_seq as bigint;

create table platform.payments (
  id bigint generated always as identity primary key,
  account_id bigint references platform.accounts (id) on delete set null,
  idempotency_key text not null unique,
  status text not null default 'created'
    check (status in ('created', 'pending', 'succeeded', 'failed', 'cancelled', 'expired')),
  provider text not null,
  provider_ref text,
  amount_cents bigint not null check (amount_cents > 0),
  commission_cents bigint not null default 0 check (commission_cents >= 0),
  total_cents bigint not null check (total_cents > 0),
  email text,
  lang text not null default 'it',
  auth_code text,
  receipt_number text unique,
  -- set when a provider reports success for a payment whose installments were meanwhile settled otherwise
  needs_refund boolean not null default false,
  failure_reason text,
  expires_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  completed_at timestamptz,
  unique (provider, provider_ref)
);
create index payments_account on platform.payments (account_id, created_at desc);
create index payments_open on platform.payments (status, updated_at) where status in ('created', 'pending');

create table platform.payment_items (
  payment_id bigint not null references platform.payments (id) on delete cascade,
  tenant_id bigint not null references platform.tenants (id),
  installment_id bigint not null,
  amount_cents bigint not null check (amount_cents > 0),
  commission_cents bigint not null default 0,
  description text not null,
  iuv text not null,
  -- when the tenant schema recorded the outcome (paid, or released); null: still to apply
  applied_at timestamptz,
  outcome text check (outcome in ('paid', 'released', 'already_paid')),
  primary key (payment_id, tenant_id, installment_id)
);
create index payment_items_unapplied on platform.payment_items (payment_id) where applied_at is null;

-- Every notification and status answer, applied or not: replayed, late, out-of-order and forged ones are
-- kept here with the reason they changed nothing.
create table platform.payment_events (
  id bigint generated always as identity primary key,
  payment_id bigint,
  event_id text unique,
  source text not null,
  status text,
  outcome text not null check (outcome in ('applied', 'duplicate', 'ignored', 'rejected')),
  detail text,
  created_at timestamptz not null default now()
);
create index payment_events_payment on platform.payment_events (payment_id);

grant select, insert, update, delete on platform.cart_items, platform.payments, platform.payment_items,
  platform.payment_events to {{app_role}};
grant usage on all sequences in schema platform to {{app_role}}, {{tenant_group}};
