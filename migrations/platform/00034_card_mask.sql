-- The card as a receipt may name it: its brand and last four digits (never more), reported by the provider with the
-- outcome and kept on the payment.
alter table platform.sandbox_psp_sessions add column card_mask text;
alter table platform.payments add column card_mask text;
