-- pagoPA Checkout carts: which platform payments were handed to pagoPA Checkout, and the receipts (paSendRT)
-- that arrived for their notices. A tenant transaction reads the first (is this installment in a Checkout
-- cart?) and records into the second in the same transaction as its own receipt; when every item of a
-- payment has its receipt, the payment is finished (src/features/pagopa/service.ts).
create table platform.pagopa_carts (
  payment_id bigint primary key references platform.payments (id) on delete cascade,
  checkout_url text not null,
  created_at timestamptz not null default now()
);

create table platform.pagopa_cart_receipts (
  payment_id bigint not null references platform.pagopa_carts (payment_id) on delete cascade,
  tenant_id bigint not null references platform.tenants (id) on delete cascade,
  installment_id bigint not null,
  receipt_id text not null,
  amount_cents bigint not null check (amount_cents > 0),
  created_at timestamptz not null default now(),
  primary key (payment_id, tenant_id, installment_id)
);

grant select, insert, update, delete on platform.pagopa_carts, platform.pagopa_cart_receipts to {{app_role}};
grant select on platform.pagopa_carts to {{tenant_group}};
grant select, insert on platform.pagopa_cart_receipts to {{tenant_group}};
