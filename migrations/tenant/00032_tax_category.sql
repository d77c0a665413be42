-- The item of the tax return a service's payments belong to (issue "Citizen pages…", point 4): asili nido, spese per
-- la frequenza scolastica, erogazioni liberali agli istituti scolastici, or none (not a school expense). Null: the
-- default of the service's kind (taxCategoryOf in src/platform/it/tax-categories.ts).
alter table services add column tax_category text
  check (tax_category in ('nido', 'frequenza', 'erogazioni', 'nessuna'));
