-- Where the payer pays at the provider, kept so that a payment left open can be resumed at the same page
-- (issue "Citizen pages that hold at 390 px…", point 2): the provider's own address, from its start answer.
alter table platform.payments add column redirect_url text;
