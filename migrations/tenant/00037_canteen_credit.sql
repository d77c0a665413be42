-- Canteen credit left at the year's end (issue "Money the office handles itself", decision 0096): refunded to the
-- family through the refund register ('rimborso': the credit leaves the wallet when the refund is opened, and comes
-- back if it is cancelled) or moved to a sibling's wallet ('trasferimento': one entry out, one in).
alter table canteen_ledger drop constraint canteen_ledger_kind_check;
alter table canteen_ledger add constraint canteen_ledger_kind_check
  check (kind in ('pasto', 'rettifica_pasto', 'ricarica', 'avviso', 'rettifica', 'saldo_iniziale', 'rimborso',
                  'trasferimento'));
