-- Spontaneous payments: one row per confirmed check page (its idempotency key), claimed before the document is
-- issued, so a double submit issues one document and starts one payment. Also what the citizen asked for
-- (quantity × unit price), which the document alone does not keep.
create table spontaneous_requests (
  idempotency_key text primary key check (idempotency_key ~ '^[A-Za-z0-9_-]{43}$'),
  -- platform.accounts id of the citizen (no foreign key across schemas)
  account_id bigint not null,
  service_id bigint not null references services (id),
  pupil_id bigint references pupils (id),
  quantity int check (quantity between 1 and 500),
  unit_price_cents bigint check (unit_price_cents > 0),
  amount_cents bigint not null check (amount_cents > 0),
  document_id bigint references documents (id),
  installment_id bigint references installments (id),
  -- set when an unpaid request is withdrawn (its document cancelled) by the daily clean-up
  withdrawn_at timestamptz,
  created_at timestamptz not null default now()
);
create index spontaneous_requests_open on spontaneous_requests (created_at) where withdrawn_at is null;
create index spontaneous_requests_document on spontaneous_requests (document_id);
