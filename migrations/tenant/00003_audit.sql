-- Every change staff make, append-only: the tenant role may add rows and read them, never alter them.
create table audit_log (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  actor_account_id bigint,
  actor_name text not null,
  action text not null,
  entity text not null,
  entity_id text,
  before jsonb,
  after jsonb,
  reason text
);
create index audit_log_at on audit_log (at desc);
create index audit_log_entity on audit_log (entity, entity_id);
revoke update, delete, truncate on audit_log from {{tenant_role}};
