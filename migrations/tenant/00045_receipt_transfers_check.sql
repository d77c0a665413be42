-- A receipt whose transfers do not share the money as the notice was issued (decision 0105): the installment is
-- settled with the money received, the receipt flagged for the office with the split that was expected beside
-- the one received. (One change per statement: Citus refuses an ALTER TABLE that adds a constraint beside other
-- changes.)
alter table pagopa_receipts drop constraint pagopa_receipts_flag_check;
alter table pagopa_receipts add constraint pagopa_receipts_flag_check check (flag in ('amount_mismatch', 'already_paid', 'cancelled', 'transfers_mismatch'));
alter table pagopa_receipts add column expected_transfers jsonb;
