-- Due-date reminders: one row per (installment, offset in days from the due date), written in the same
-- transaction as the email's outbox row, so a reminder is decided once even across reruns, late runs,
-- crashes and several instances. Rows are kept for what was not sent, too (no address, reminders off).
create table reminders_sent (
  installment_id bigint not null references installments (id) on delete cascade,
  offset_days int not null check (offset_days between -60 and 60),
  payer_id bigint not null references payers (id) on delete cascade,
  -- the day (Rome) of the run that decided it
  run_date date not null,
  outcome text not null check (outcome in ('queued', 'no_address', 'opted_out')),
  -- the outbox dedupe key of the email that carried it
  outbox_key text,
  created_at timestamptz not null default now(),
  primary key (installment_id, offset_days)
);
create index reminders_sent_payer on reminders_sent (payer_id, run_date);
