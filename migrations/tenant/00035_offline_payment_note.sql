-- A payment the office records itself (at the counter, by bank transfer, another channel: source 'manuale', the
-- channel in `channel`, the office's reference in receipt_number) keeps the note the office wrote (issue "Money the
-- office handles itself"; decision 0095).
alter table installment_payments add column note text;
