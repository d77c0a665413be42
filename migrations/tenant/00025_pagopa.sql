-- Receipts of the pagoPA node (paSendRT / paSendRTV2) with what each did, flags for staff, and the tenant's
-- pagoPA settings. Receipts are never deleted: the tenant role may add them and record a resolution only.
create table pagopa_receipts (
  id bigint generated always as identity primary key,
  receipt_id text not null unique,
  installment_id bigint not null references installments (id),
  notice_number text not null check (notice_number ~ '^[0-9]{18}$'),
  operation text not null check (operation in ('paSendRT', 'paSendRTV2')),
  outcome text not null check (outcome in ('OK', 'KO')),
  amount_cents bigint not null check (amount_cents >= 0),
  -- the installment's amount when the receipt arrived
  expected_cents bigint not null,
  fee_cents bigint,
  psp_id text not null,
  psp_name text not null,
  psp_fiscal_code text,
  channel_id text not null,
  channel_description text not null,
  payment_method text,
  paid_at timestamptz,
  application_date date,
  transfer_date date,
  debtor_id text not null,
  payer_id text,
  payer_name text,
  payer_email text,
  transfers jsonb not null,
  -- the platform payment of a pagoPA Checkout cart this receipt belongs to
  checkout_payment_id bigint,
  -- settled: the installment is paid by this receipt; checkout: it completes a Checkout cart (settled when the
  -- cart is whole); already_paid / cancelled / not_ok: kept without settling
  effect text not null check (effect in ('settled', 'checkout', 'already_paid', 'cancelled', 'not_ok')),
  flag text check (flag in ('amount_mismatch', 'already_paid', 'cancelled')),
  resolved_at timestamptz,
  resolved_by_account_id bigint,
  resolved_by_name text,
  resolution_note text,
  xml text not null,
  received_at timestamptz not null default now()
);
create index pagopa_receipts_installment on pagopa_receipts (installment_id);
create index pagopa_receipts_flagged on pagopa_receipts (received_at desc) where flag is not null and resolved_at is null;
create index pagopa_receipts_received on pagopa_receipts (received_at desc);
revoke delete, truncate on pagopa_receipts from {{tenant_role}};

create table pagopa_settings (
  id int primary key default 1 check (id = 1),
  -- days after the due date during which the node may still collect a notice; null: it never expires
  payable_days_after_due int check (payable_days_after_due between 0 and 3650),
  -- taxonomy code of the collection service (transferCategory), e.g. 0101100IM
  transfer_category text not null check (transfer_category ~ '^[0-9]{7}[A-Z]{2}$'),
  updated_at timestamptz not null default now()
);
