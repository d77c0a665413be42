-- A document in installments also has a notice to pay it all at once, as pagoPA's notice model prints ("unica
-- soluzione") and its payment options offer (decision 0103): its own IUV and notice code, from the same sequence as
-- the installments'; its amount is the installments' total and it is payable only while none of them is paid.
create table full_notices (
  document_id bigint primary key references documents (id),
  iuv text not null unique check (iuv ~ '^[0-9]{17}$'),
  notice_code text not null unique check (notice_code ~ '^3[0-9]{17}$'),
  created_at timestamptz not null default now()
);
