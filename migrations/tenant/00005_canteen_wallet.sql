-- The canteen wallet (portafoglio refezione): an append-only ledger per pupil of meal charges, top-ups,
-- notices paid, adjustments and opening balances, each with a unique key that makes every write happen once;
-- the attendance the families and the office record; the top-ups being paid; the days already charged; the
-- low-balance state that makes one email per threshold crossing.
create table canteen_attendance (
  pupil_id bigint not null references pupils (id),
  day date not null,
  -- a day without a row is a day present (a meal is served and charged)
  status text not null check (status in ('assente', 'bianco')),
  source text not null check (source in ('famiglia', 'ufficio')),
  account_id bigint,
  actor_name text not null,
  updated_at timestamptz not null default now(),
  primary key (pupil_id, day)
);
create index canteen_attendance_day on canteen_attendance (day);

create table canteen_ledger (
  id bigint generated always as identity primary key,
  pupil_id bigint not null references pupils (id),
  -- who paid (credits) or whose pupil ate (charges): the holder of the pupil's notices
  payer_id bigint references payers (id),
  kind text not null check (kind in ('pasto', 'rettifica_pasto', 'ricarica', 'avviso', 'rettifica', 'saldo_iniziale')),
  -- the day of the meal, or the day (Rome) of the payment or adjustment
  entry_date date not null,
  -- credits positive, charges negative
  amount_cents bigint not null,
  -- meals consumed by this entry: +1 a meal, -1 the correction of one
  meals int not null default 0,
  tariff_id bigint references canteen_tariffs (id),
  unit_price_cents bigint,
  -- what the meals of this entry cost at the base tariff (before reductions): reductions = gross − consumed
  gross_cents bigint,
  installment_id bigint unique references installments (id),
  -- 'pasto:<pupil>:<day>', 'rata:<installment>', … : what makes a rerun write nothing twice
  entry_key text not null unique,
  note text check (length(note) <= 300),
  actor_account_id bigint,
  actor_name text not null default 'sistema',
  created_at timestamptz not null default now(),
  check (amount_cents <> 0 or meals <> 0)
);
create index canteen_ledger_pupil on canteen_ledger (pupil_id, entry_date);
create index canteen_ledger_meals on canteen_ledger (entry_date) where kind in ('pasto', 'rettifica_pasto');
revoke update, delete, truncate on canteen_ledger from {{tenant_role}};

-- A pre-load of meals (ricarica): claimed by the check page's key before its document is issued, so a double
-- submit issues one document; the installment is credited to the pupil's wallet when it is settled.
create table canteen_topups (
  id bigint generated always as identity primary key,
  idempotency_key text not null unique check (idempotency_key ~ '^[A-Za-z0-9_-]{43}$'),
  account_id bigint not null,
  pupil_id bigint not null references pupils (id),
  payer_id bigint references payers (id),
  meals int not null check (meals between 1 and 200),
  unit_price_cents bigint not null check (unit_price_cents > 0),
  tariff_id bigint references canteen_tariffs (id),
  document_id bigint references documents (id),
  installment_id bigint unique references installments (id),
  withdrawn_at timestamptz,
  created_at timestamptz not null default now()
);
create index canteen_topups_open on canteen_topups (created_at) where withdrawn_at is null;

-- The days the charging job has done: a rerun skips them; a correction of such a day by the office adjusts the
-- ledger at once.
create table canteen_charge_days (
  day date primary key,
  meals int not null,
  charged_at timestamptz not null default now()
);

create table canteen_low_balance (
  pupil_id bigint primary key references pupils (id),
  below boolean not null,
  -- how many times the balance went below the threshold: the email of crossing n has its own dedupe key
  crossings int not null default 0,
  -- the email of the last crossing is decided but not yet in the outbox
  mail_pending boolean not null default false,
  changed_at timestamptz not null default now()
);
