-- Reporting flows read from pagoPA's FdR REST interface (decision 0101): an import's source may be 'api', and the
-- body keeps how far it has read (the `published` instant of the last flow imported) and the last problem.
-- (One change per statement: Citus refuses an ALTER TABLE that adds a constraint beside other changes.)
alter table reconciliation_imports drop constraint reconciliation_imports_source_check;
alter table reconciliation_imports add constraint reconciliation_imports_source_check check (source in ('upload', 'cartella', 'api'));
alter table reconciliation_imports add column revision int;
create table fdr_cursor (
  id bigint primary key default 1 check (id = 1),
  published_after timestamptz,
  last_run_at timestamptz,
  last_error text,
  updated_at timestamptz not null default now()
);
