-- The debt-position model of one tenant: services, payers, pupils, documents and their installments.
create table services (
  id bigint generated always as identity primary key,
  code text not null unique check (code ~ '^[a-z0-9-]{1,40}$'),
  kind text not null check (kind in ('mensa', 'trasporto', 'nido', 'assicurazione', 'contributo', 'gite',
                                    'extrascolastico', 'tributi', 'altro')),
  name text not null,
  causale text not null,
  spontaneous boolean not null default false,
  -- how a spontaneous payment's amount is formed: a free amount, or a quantity times a unit price
  amount_mode text not null default 'importo' check (amount_mode in ('importo', 'quantita')),
  unit_price_cents bigint check (unit_price_cents > 0),
  -- null: the tenant's commission rule applies
  commission jsonb,
  active boolean not null default true,
  created_at timestamptz not null default now()
);

create table payers (
  id bigint generated always as identity primary key,
  codice_fiscale text not null unique check (codice_fiscale ~ '^[A-Z0-9]{16}$'),
  given_name text not null,
  family_name text not null,
  email text,
  phone text,
  address text,
  created_at timestamptz not null default now()
);

create table pupils (
  id bigint generated always as identity primary key,
  codice_fiscale text unique check (codice_fiscale ~ '^[A-Z0-9]{16}$'),
  given_name text not null,
  family_name text not null,
  birth_date date,
  created_at timestamptz not null default now()
);

create table pupil_payers (
  pupil_id bigint not null references pupils (id) on delete cascade,
  payer_id bigint not null references payers (id) on delete cascade,
  relation text not null default 'genitore' check (relation in ('genitore', 'tutore', 'delegato')),
  -- the payer to whom this pupil's notices are issued
  holder boolean not null default false,
  primary key (pupil_id, payer_id)
);
create unique index pupil_payers_one_holder on pupil_payers (pupil_id) where holder;
create index pupil_payers_payer on pupil_payers (payer_id);

create sequence document_number_seq as bigint;
create sequence iuv_seq as bigint;

create table documents (
  id bigint generated always as identity primary key,
  year int not null check (year between 2000 and 2100),
  number text not null,
  issue_date date not null,
  service_id bigint not null references services (id),
  payer_id bigint not null references payers (id),
  pupil_id bigint references pupils (id),
  description text not null,
  total_cents bigint not null check (total_cents > 0),
  cancelled_at timestamptz,
  cancel_reason text,
  created_at timestamptz not null default now(),
  unique (year, number)
);
create index documents_payer on documents (payer_id);

create table installments (
  id bigint generated always as identity primary key,
  document_id bigint not null references documents (id) on delete cascade,
  seq int not null check (seq >= 1),
  due_date date not null,
  amount_cents bigint not null check (amount_cents > 0),
  iuv text not null unique check (iuv ~ '^[0-9]{17}$'),
  notice_code text not null unique check (notice_code ~ '^3[0-9]{17}$'),
  status text not null default 'da_pagare' check (status in ('da_pagare', 'in_corso', 'pagato', 'annullato')),
  paid_at timestamptz,
  paid_cents bigint,
  created_at timestamptz not null default now(),
  unique (document_id, seq)
);
create index installments_open_due on installments (due_date) where status = 'da_pagare';
