-- Which payment holds an installment while it is being paid, and how each installment was settled.
alter table installments add column pending_payment_id bigint;
create index installments_pending on installments (pending_payment_id) where pending_payment_id is not null;

-- One row per settled installment: the unique key is what makes paying twice impossible.
create table installment_payments (
  id bigint generated always as identity primary key,
  installment_id bigint not null unique references installments (id),
  -- the platform payment (checkout), or null for payments made elsewhere (pagoPA node, bank)
  payment_id bigint,
  source text not null check (source in ('checkout', 'pagopa', 'riconciliazione', 'manuale')),
  receipt_number text not null,
  amount_cents bigint not null check (amount_cents > 0),
  paid_at timestamptz not null,
  psp text,
  channel text,
  auth_code text,
  created_at timestamptz not null default now()
);
create index installment_payments_payment on installment_payments (payment_id);
create index installment_payments_paid_at on installment_payments (paid_at);
