-- Payment control (controllo pagamenti) aggregates installments by service, due date, payer and pupil: the
-- indexes those groupings and filters use. Settlements of other channels are listed by date.
create index control_documents_service on documents (service_id);
create index control_installments_due on installments (due_date);
create index control_installment_payments_other on installment_payments (paid_at) where payment_id is null;
