-- Tenant transactions queue email (reminders, receipts of the pagoPA node, decisions on applications).
-- A dedupe key (ON CONFLICT on it) and RETURNING need read rights on those columns; the messages
-- themselves stay unreadable to tenant roles, which must never see another tenant's mail.
grant select (id, dedupe_key) on platform.outbox to {{tenant_group}};
