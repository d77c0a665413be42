-- Several beneficiaries (decision 0104): a service may give part of each amount to up to four other bodies, each
-- with its own account, fiscal code, taxonomy code and remittance text; the body itself takes the rest (transfer 1).
-- The split is computed when a notice is issued (or its amount corrected) and kept per installment, so a later change
-- of the service's rule never changes a notice already in the family's hands.
create table service_beneficiaries (
  id bigint generated always as identity primary key,
  service_id bigint not null references services (id),
  position int not null check (position between 2 and 5),
  fiscal_code text not null check (fiscal_code ~ '^[0-9]{11}$'),
  name text not null check (length(name) between 2 and 140),
  iban text not null check (iban ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$'),
  postal boolean not null default false,
  taxonomy_code text not null check (taxonomy_code ~ '^[0-9]{7}(IM|TS|SP|SA|AP)$'),
  taxonomy_prefix text not null default '9/' check (taxonomy_prefix in ('9/', '6/', '7/', '8/')),
  remittance text not null check (length(remittance) between 1 and 140),
  share_kind text not null check (share_kind in ('percentuale', 'fisso')),
  -- basis points (percentuale) or cents (fisso)
  share_value bigint not null check (share_value > 0),
  created_at timestamptz not null default now(),
  unique (service_id, position)
);

create table installment_transfers (
  installment_id bigint not null references installments (id) on delete cascade,
  id_transfer int not null check (id_transfer between 2 and 5),
  fiscal_code text not null,
  name text not null,
  iban text not null,
  postal boolean not null,
  category text not null,
  remittance text not null,
  amount_cents bigint not null check (amount_cents > 0),
  primary key (installment_id, id_transfer)
);
