-- The registry of tenants and the index of which tenants bill which codice fiscale.
create table platform.tenants (
  id bigint generated always as identity primary key,
  slug text not null unique check (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$'),
  kind text not null check (kind in ('comune', 'scuola')),
  name text not null,
  short_name text not null,
  fiscal_code text not null unique check (fiscal_code ~ '^[0-9]{11}$'),
  codice_meccanografico text check (codice_meccanografico ~ '^[A-Z]{4}[A-Z0-9]{6}$'),
  istat_code text check (istat_code ~ '^[0-9]{6}$'),
  segregation_code text not null check (segregation_code ~ '^[0-9]{2}$'),
  schema_name text not null unique check (schema_name ~ '^t_[a-z0-9_]{1,40}$'),
  status text not null default 'active' check (status in ('setup', 'active', 'suspended', 'deleted')),
  branding jsonb not null default '{}',
  contacts jsonb not null default '{}',
  settings jsonb not null default '{}',
  schema_version int not null default 0,
  migration_error text,
  migrated_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Which tenants hold a debt position for a codice fiscale, so a citizen's pages ask only those tenants.
create table platform.payer_index (
  codice_fiscale text not null,
  tenant_id bigint not null references platform.tenants (id) on delete cascade,
  primary key (codice_fiscale, tenant_id)
);

grant usage on schema platform to {{app_role}}, {{tenant_group}};
grant select, insert, update, delete on platform.tenants, platform.payer_index to {{app_role}};
grant select on platform.tenants to {{tenant_group}};
grant select, insert, delete on platform.payer_index to {{tenant_group}};
