-- Back office: CSV imports of documents (kept as drafts between the check page and the creation, then as the
-- record of what was imported), the link from each document to its import, and indexes for the office's
-- searches and duplicate checks.
create table document_imports (
  id bigint generated always as identity primary key,
  status text not null default 'draft' check (status in ('draft', 'done')),
  file_name text not null,
  file_sha256 text not null check (file_sha256 ~ '^[0-9a-f]{64}$'),
  -- the file as decoded UTF-8 text: validated again when the import is confirmed
  content text not null,
  line_count int not null,
  document_count int not null,
  installment_count int not null,
  total_cents bigint not null,
  created_by bigint,
  created_by_name text not null,
  created_at timestamptz not null default now(),
  completed_at timestamptz
);
create index document_imports_recent on document_imports (created_at desc);

alter table documents add column import_id bigint references document_imports (id);
create index documents_import on documents (import_id) where import_id is not null;
-- the duplicate key of an import (service, payer, pupil, year, description) among documents not cancelled
create index documents_dup_key on documents (service_id, payer_id, year) where cancelled_at is null;
create index documents_pupil on documents (pupil_id) where pupil_id is not null;

-- office searches by name
create index payers_name on payers (lower(family_name), lower(given_name));
create index pupils_name on pupils (lower(family_name), lower(given_name));
create index audit_log_actor on audit_log (actor_account_id, at desc);
