-- Where the payer pays at the provider, kept so that a payment left open can be resumed at the same page
-- (issue "Citizen pages that hold at 390 px…", point 2): the provider's own address, from its start answer.
alter table platform.payments add column redirect_url text;

-- What the receipt says of each notice, as it was when paid: the installment's place in its document ("2 di 3")
-- and the pupil it is for.
alter table platform.payment_items add column seq int, add column seq_of int, add column pupil_name text;
