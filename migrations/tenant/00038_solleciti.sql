-- Formal reminders (solleciti) the office sends from the debtors' list (issue "Money the office handles itself",
-- decision 0097): one batch per sending, one row per installment and step (1st, 2nd, final notice). The key on
-- (installment, step) is what makes a step go out once whatever is clicked twice or run at the same time; the row
-- says by which channel (email through the outbox, or a letter printed by the office).
create table solleciti_lotti (
  id bigint generated always as identity primary key,
  step int not null check (step between 1 and 3),
  filters jsonb not null,
  families int not null default 0,
  emails int not null default 0,
  letters int not null default 0,
  installments int not null default 0,
  total_cents bigint not null default 0,
  created_by_name text not null,
  created_at timestamptz not null default now()
);

create table solleciti (
  installment_id bigint not null references installments (id),
  step int not null check (step between 1 and 3),
  lotto_id bigint not null references solleciti_lotti (id),
  payer_id bigint not null references payers (id),
  channel text not null check (channel in ('email', 'lettera')),
  sent_on date not null,
  amount_cents bigint not null,
  outbox_key text,
  created_at timestamptz not null default now(),
  primary key (installment_id, step)
);
create index solleciti_lotto on solleciti (lotto_id);
revoke update, delete, truncate on solleciti from {{tenant_role}};
