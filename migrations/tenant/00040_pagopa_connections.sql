-- The body's connection to pagoPA's REST services and to IO (decision 0100), one row per environment: base URLs, the
-- subscription keys (sealed with SECRETS_KEY, only their last four characters readable), the client certificate
-- for mutual TLS (its key sealed), and the last "test the connection". Which environment is in use is a setting.
create table pagopa_connections (
  environment text primary key check (environment in ('collaudo', 'esercizio')),
  aca_url text check (aca_url ~ '^https?://'),
  aca_key text,
  aca_key_last4 text,
  fdr_url text check (fdr_url ~ '^https?://'),
  fdr_key text,
  fdr_key_last4 text,
  io_url text check (io_url ~ '^https?://'),
  client_cert text,
  client_key text,
  tested_at timestamptz,
  test_result jsonb,
  updated_at timestamptz not null default now()
);
alter table pagopa_settings add column environment text not null default 'collaudo';
alter table pagopa_settings add constraint pagopa_settings_environment_check check (environment in ('collaudo', 'esercizio'));

-- IO per service: the service's API key (sealed) and whether its notices and reminders go to the IO app.
create table service_io (
  service_id bigint primary key references services (id),
  enabled boolean not null default false,
  io_service_id text check (length(io_service_id) between 1 and 64),
  api_key text,
  api_key_last4 text,
  updated_at timestamptz not null default now()
);

-- Each document's debt position in pagoPA's central archive (ACA), the outbox of what the archive must hold: the
-- fingerprint of the data last accepted, the state, and the retries of a failed call (decision 0100).
create table aca_positions (
  document_id bigint primary key references documents (id),
  iupd text not null unique,
  environment text not null check (environment in ('collaudo', 'esercizio')),
  state text not null check (state in ('da_inviare', 'in_archivio', 'pagata', 'invalidata', 'errore')),
  created_remote boolean not null default false,
  fingerprint text,
  -- the notices (NAV) the archive holds for the position, and those it holds as paid
  sent_navs text[] not null default '{}',
  paid_navs text[] not null default '{}',
  remote_status text,
  attempts int not null default 0,
  next_attempt_at timestamptz,
  last_error text,
  synced_at timestamptz,
  updated_at timestamptz not null default now()
);
create index aca_positions_errors on aca_positions (next_attempt_at) where state = 'errore';
