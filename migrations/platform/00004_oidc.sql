-- Digital identities (SPID / CIE through an OpenID Connect provider) linked to accounts. The account is found
-- by its codice fiscale; this table records which provider identity signed in to which account, and when.
create table platform.account_identities (
  account_id bigint not null references platform.accounts (id) on delete cascade,
  issuer text not null,
  subject text not null,
  created_at timestamptz not null default now(),
  last_login_at timestamptz not null default now(),
  primary key (issuer, subject)
);
create index account_identities_account on platform.account_identities (account_id);

grant select, insert, update, delete on platform.account_identities to {{app_role}};
