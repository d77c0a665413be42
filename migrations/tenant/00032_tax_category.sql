-- The item of the tax return a service's payments belong to (decision 0093): asili nido, spese per la frequenza
-- scolastica, erogazioni liberali agli istituti scolastici, or none (not a school expense). Null: the default of the
-- service's kind (taxCategoryOf in src/platform/it/tax-categories.ts).
-- (One change per statement: Citus refuses an ALTER TABLE that adds a constraint beside other changes.)
alter table services add column tax_category text;
alter table services add constraint services_tax_category_check
  check (tax_category in ('nido', 'frequenza', 'erogazioni', 'nessuna'));
