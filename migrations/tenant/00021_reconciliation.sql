-- Reconciliation of reporting flows (pagoPA Flusso di Rendicontazione) and bank statements (ISO 20022
-- camt.053): every imported version of a flow, its lines, what each line matched, and the discrepancies staff
-- resolve. A flow is identified by (kind, flow_id); a version by flow_at: the same version imported again
-- changes nothing, a later version supersedes the earlier one.
create table reconciliation_imports (
  id bigint generated always as identity primary key,
  kind text not null check (kind in ('fdr', 'camt053')),
  flow_id text not null check (length(flow_id) between 1 and 200),
  flow_at timestamptz not null,
  settlement_ref text,
  settlement_date date,
  sender text,
  receiver text,
  declared_count int,
  declared_cents bigint,
  line_count int not null default 0,
  total_cents bigint not null default 0,
  matched int not null default 0,
  confirmed int not null default 0,
  discrepancies int not null default 0,
  source text not null check (source in ('upload', 'cartella')),
  file_name text,
  file_sha256 text not null,
  status text not null default 'current' check (status in ('current', 'superseded')),
  superseded_by bigint references reconciliation_imports (id),
  imported_at timestamptz not null default now(),
  imported_by bigint,
  imported_by_name text not null,
  unique (kind, flow_id, flow_at)
);
create index reconciliation_imports_recent on reconciliation_imports (imported_at desc);

create table reconciliation_lines (
  id bigint generated always as identity primary key,
  import_id bigint not null references reconciliation_imports (id) on delete cascade,
  line_no int not null,
  -- stable across versions of a flow: IUV, collection id (IUR) or bank reference, index
  line_key text not null,
  iuv text,
  -- the receipt number recorded on the settlement: the IUR of a pagoPA line, the bank's reference otherwise
  reference text not null,
  amount_cents bigint not null,
  paid_on date,
  outcome_code text,
  payer_name text,
  remittance text,
  installment_id bigint references installments (id),
  result text not null check (result in ('matched', 'confirmed', 'unknown_iuv', 'amount_differs', 'already_paid',
                                         'paid_twice', 'cancelled', 'revoked', 'withdrawn')),
  discrepancy boolean generated always as (result not in ('matched', 'confirmed')) stored,
  resolved_at timestamptz,
  resolved_by bigint,
  resolved_by_name text,
  resolution_note text,
  unique (import_id, line_key)
);
create index reconciliation_lines_import on reconciliation_lines (import_id, line_no);
create index reconciliation_lines_iuv on reconciliation_lines (iuv) where iuv is not null;
create index reconciliation_lines_open on reconciliation_lines (import_id) where discrepancy and resolved_at is null;
