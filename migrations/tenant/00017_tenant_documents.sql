-- Documents the office publishes for citizens (regulations, tariffs, privacy notice, diet forms, menus): PDF
-- only, at most 10 MB, kept in the tenant's schema (decision 0041).
create table tenant_documents (
  id bigint generated always as identity primary key,
  title text not null check (length(title) between 3 and 150),
  category text not null
    check (category in ('regolamento', 'tariffe', 'privacy', 'dieta', 'menu', 'modulistica', 'altro')),
  file_name text not null check (file_name ~ '^[A-Za-z0-9._-]{1,100}$'),
  size_bytes int not null check (size_bytes between 1 and 10485760),
  sha256 text not null,
  content bytea not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  updated_by_name text not null
);
-- (storage external was set here once: see 00016)
create index tenant_documents_list on tenant_documents (category, title);
