-- Invitations to a tenant's staff: the first administrator of an approved onboarding request and every person an
-- administrator adds. A pending invitation grants nothing: the membership is created when the person accepts it,
-- signed in as the existing account it is for, or by creating the account when there is none. No invitation sets
-- the password of an existing account or signs anyone into one (docs/onboarding.md).
create table platform.invitations (
  id bigint generated always as identity primary key,
  token_hash bytea not null unique,
  tenant_id bigint not null references platform.tenants (id) on delete cascade,
  role text not null check (role in ('admin', 'operatore', 'lettore')),
  -- where the link went: the existing account's own address, or the address given for a person without an account
  email text not null,
  -- the existing account the invitation is for (found by the email or by a proved codice fiscale); null: nobody yet
  account_id bigint references platform.accounts (id) on delete cascade,
  -- what the onboarding request said of a person without an account: proposed on the page, a claim, never a key
  given_name text,
  family_name text,
  codice_fiscale text check (codice_fiscale ~ '^[A-Z0-9]{16}$'),
  request_id bigint references platform.onboarding_requests (id) on delete set null,
  invited_by bigint references platform.accounts (id) on delete set null,
  invited_by_name text not null,
  lang text not null default 'it' check (lang in ('it', 'en')),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  accepted_at timestamptz,
  accepted_by bigint references platform.accounts (id) on delete set null,
  revoked_at timestamptz
);
-- one open invitation per person and tenant: a new one replaces it
create unique index invitations_open on platform.invitations (tenant_id, lower(email))
  where accepted_at is null and revoked_at is null;
create index invitations_account on platform.invitations (account_id) where account_id is not null;
create index invitations_request on platform.invitations (request_id) where request_id is not null;

-- Pending requests block nobody: several may name the same fiscal code or address, and the operator decides on
-- approval, where the tenants' own unique keys apply. These indexes stay, not unique, for the operator's warnings.
drop index platform.onboarding_requests_pending_fiscal;
drop index platform.onboarding_requests_pending_slug;
create index onboarding_requests_pending_fiscal on platform.onboarding_requests (fiscal_code) where status = 'pending';
create index onboarding_requests_pending_slug on platform.onboarding_requests (slug) where status = 'pending';

grant select, insert, update on platform.invitations to {{app_role}};
grant usage on all sequences in schema platform to {{app_role}}, {{tenant_group}};
