-- The refund register (issue "Money the office handles itself", decision 0096): money given back to a family, of
-- a payment that settled an installment (a service cancelled, a partial refund), of money received twice or for a
-- cancelled notice (proposed by the paths that detect it), or of canteen credit left at the year's end. A refund is
-- proposed, opened (with the payer's IBAN), executed (with the bank's reference) or cancelled; rows are never
-- deleted. What a basis brought in is the ceiling of its refunds: the office's form checks it under a lock on the
-- installment (or pupil), and amount <= paid_cents holds each row.
create table refunds (
  id bigint generated always as identity primary key,
  installment_id bigint references installments (id),
  pupil_id bigint references pupils (id),
  payer_id bigint not null references payers (id),
  -- what is refunded: the payment that settled the installment, a pagoPA receipt kept without settling, an online
  -- payment that found the installment paid, a reporting-flow or bank line paid twice, canteen credit
  basis text not null check (basis in ('pagamento', 'ricevuta_pagopa', 'pagamento_online', 'riga_flusso', 'credito_mensa')),
  -- the basis's own reference: receipt number, receipt id, platform receipt, line reference, school year
  basis_ref text not null check (length(basis_ref) between 1 and 200),
  paid_cents bigint not null check (paid_cents > 0),
  amount_cents bigint not null check (amount_cents > 0),
  origin text not null check (origin in ('ufficio', 'duplicato', 'credito_mensa')),
  -- a proposal's reason in the catalogue (refunds.reasonCode.*); the office's own words in reason
  reason_code text,
  reason text not null default '' check (length(reason) <= 500),
  status text not null check (status in ('proposto', 'aperto', 'eseguito', 'annullato')),
  -- one proposal per detected duplicate, whichever path sees it first
  proposal_key text unique,
  iban text check (iban ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$'),
  beneficiary text check (length(beneficiary) <= 140),
  bank_reference text check (length(bank_reference) <= 140),
  executed_on date,
  cancel_reason text check (length(cancel_reason) <= 500),
  created_by_name text not null,
  created_at timestamptz not null default now(),
  opened_by_name text,
  opened_at timestamptz,
  executed_by_name text,
  executed_at timestamptz,
  cancelled_by_name text,
  cancelled_at timestamptz,
  check (amount_cents <= paid_cents),
  check (installment_id is not null or pupil_id is not null),
  check (status not in ('aperto', 'eseguito') or iban is not null),
  check ((status = 'eseguito') = (bank_reference is not null and executed_on is not null))
);
create index refunds_installment on refunds (installment_id) where installment_id is not null;
create index refunds_pupil on refunds (pupil_id) where pupil_id is not null;
create index refunds_status on refunds (status, created_at desc);
revoke delete, truncate on refunds from {{tenant_role}};

-- What executed refunds of the settling payment gave back: the installment's net paid is paid_cents - refunded_cents.
-- (Two statements: Citus adds a column and its constraint one at a time.)
alter table installments add column refunded_cents bigint not null default 0;
alter table installments add constraint installments_refunded_cents_check check (refunded_cents >= 0);
