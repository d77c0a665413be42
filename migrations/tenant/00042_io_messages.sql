-- Messages to the IO app (decision 0102): one row per notice, reminder or formal reminder of an installment, written
-- in the transaction that issues or reminds, sent by the io-messages job (profile looked up first). The unique key
-- makes each message once; a row claimed and never confirmed (a crash mid-call) becomes 'incerto', never resent.
create table io_messages (
  id bigint generated always as identity primary key,
  dedupe_key text not null unique,
  service_id bigint not null references services (id),
  installment_id bigint references installments (id),
  fiscal_code text not null check (fiscal_code ~ '^[A-Z0-9]{16}$'),
  kind text not null check (kind in ('avviso', 'promemoria', 'sollecito')),
  subject text not null,
  markdown text not null,
  amount_cents bigint check (amount_cents > 0),
  notice_number text check (notice_number ~ '^[0-3][0-9]{17}$'),
  due_date date,
  status text not null default 'da_inviare'
    check (status in ('da_inviare', 'in_invio', 'inviato', 'non_su_io', 'non_abilitato', 'errore', 'incerto')),
  attempts int not null default 0,
  next_attempt_at timestamptz not null default now(),
  claimed_at timestamptz,
  io_message_id text,
  last_error text,
  created_at timestamptz not null default now(),
  sent_at timestamptz
);
create index io_messages_due on io_messages (next_attempt_at) where status in ('da_inviare', 'errore');
create index io_messages_installment on io_messages (installment_id);
