-- A codice fiscale typed at registration is a claim; personal data found through it opens only once it is proved
-- (docs/security.md): by SPID/CIE, by a code sent to the email a body holds for that payer, by an activation letter
-- the office prints, or by the office's confirmation. Only a proved codice fiscale is unique: a claim reserves nothing.
alter table platform.accounts
  add column cf_proved_at timestamptz,
  add column cf_proved_by text check (cf_proved_by in ('spid', 'cie', 'oidc', 'email_code', 'letter', 'office', 'seed'));
alter table platform.accounts drop constraint accounts_codice_fiscale_key;
create unique index accounts_cf_proved on platform.accounts (codice_fiscale) where cf_proved_at is not null;
create index accounts_cf on platform.accounts (codice_fiscale);

-- Accounts created by a SPID/CIE sign-in had their codice fiscale from the provider. An account that was registered
-- with a password and linked to an identity later stays unproved: the next SPID/CIE sign-in proves it for the
-- verified person and ends the password holder's access (a stranger may have registered with that code).
update platform.accounts a set cf_proved_at = i.first, cf_proved_by = 'oidc'
from (select account_id, min(created_at) as first from platform.account_identities group by account_id) i
where i.account_id = a.id and i.first <= a.created_at + interval '1 minute';

-- Single-use codes that prove a codice fiscale: mailed to a payer's address on a body's record (account known), or
-- printed by the office on an activation letter (for the codice fiscale: whichever account claims it may use it).
create table platform.cf_proofs (
  id bigint generated always as identity primary key,
  codice_fiscale text not null check (codice_fiscale ~ '^[A-Z0-9]{16}$'),
  account_id bigint references platform.accounts (id) on delete cascade,
  channel text not null check (channel in ('email_code', 'letter')),
  tenant_id bigint references platform.tenants (id) on delete cascade,
  code_hash bytea not null,
  created_by bigint references platform.accounts (id) on delete set null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz,
  used_by bigint references platform.accounts (id) on delete set null
);
create index cf_proofs_cf on platform.cf_proofs (codice_fiscale) where used_at is null;

grant select, insert, update, delete on platform.cf_proofs to {{app_role}};
grant select, insert, update on platform.cf_proofs to {{tenant_group}};
grant update (cf_proved_at, cf_proved_by, updated_at) on platform.accounts to {{tenant_group}};
