-- Self-service onboarding: requests to join (public form, decided by a platform operator), the platform's own
-- log of what operators and onboarding did, and the uploaded assets of tenants (the logo).

create table platform.onboarding_requests (
  id bigint generated always as identity primary key,
  -- the reference shown to the applicant (random: a sequential id would let anyone count the requests)
  public_ref text not null unique check (public_ref ~ '^[A-Z0-9]{4}-[A-Z0-9]{4}$'),
  status text not null default 'pending' check (status in ('pending', 'approved', 'rejected')),
  kind text not null check (kind in ('comune', 'scuola')),
  name text not null check (length(name) between 3 and 160),
  fiscal_code text not null check (fiscal_code ~ '^[0-9]{11}$'),
  codice_meccanografico text check (codice_meccanografico ~ '^[A-Z]{4}[A-Z0-9]{6}$'),
  istat_code text check (istat_code ~ '^[0-9]{6}$'),
  address text not null,
  pec text not null,
  email text not null,
  admin_given_name text not null,
  admin_family_name text not null,
  admin_codice_fiscale text not null check (admin_codice_fiscale ~ '^[A-Z0-9]{16}$'),
  admin_email text not null,
  slug text not null check (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$'),
  lang text not null default 'it' check (lang in ('it', 'en')),
  created_at timestamptz not null default now(),
  decided_at timestamptz,
  decided_by bigint references platform.accounts (id) on delete set null,
  decision_message text,
  tenant_id bigint references platform.tenants (id) on delete set null,
  admin_account_id bigint references platform.accounts (id) on delete set null
);
-- one open request per body and per address: a second one gets a clear answer instead of a duplicate
create unique index onboarding_requests_pending_fiscal on platform.onboarding_requests (fiscal_code)
  where status = 'pending';
create unique index onboarding_requests_pending_slug on platform.onboarding_requests (slug) where status = 'pending';
create index onboarding_requests_recent on platform.onboarding_requests (status, created_at desc);
create index onboarding_requests_admin on platform.onboarding_requests (admin_account_id) where status = 'approved';

-- What platform operators (and onboarding itself) did: approvals, rejections, suspensions, go-live, invitations.
-- Append-only for the application: it may add and read rows, never change them.
create table platform.platform_log (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  actor_account_id bigint,
  actor_name text not null,
  action text not null,
  request_id bigint,
  tenant_id bigint,
  tenant_slug text,
  detail jsonb
);
create index platform_log_at on platform.platform_log (at desc);
create index platform_log_tenant on platform.platform_log (tenant_id, at desc) where tenant_id is not null;

-- Files a tenant uploads (today: its logo), served from /t/<slug>/logo/<sha>.png with a year-long cache.
create table platform.tenant_assets (
  tenant_id bigint not null references platform.tenants (id) on delete cascade,
  name text not null check (name in ('logo')),
  content_type text not null check (content_type in ('image/png')),
  sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  body bytea not null check (octet_length(body) <= 204800),
  width int not null,
  height int not null,
  updated_at timestamptz not null default now(),
  primary key (tenant_id, name)
);

grant select, insert, update on platform.onboarding_requests to {{app_role}};
grant select, insert on platform.platform_log to {{app_role}};
grant select, insert, update, delete on platform.tenant_assets to {{app_role}};
grant usage on all sequences in schema platform to {{app_role}}, {{tenant_group}};
