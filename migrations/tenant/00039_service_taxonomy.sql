-- pagoPA's taxonomy per service (decision 0099): the code (body type, macro area, service type, legal reason) and
-- the prefix sent in every transfer's transferCategory as `<prefix><code>/`. Null code: the default of the service's
-- kind for the body's type (src/features/pagopa/taxonomy.ts). A code an office saved for the whole body before
-- (pagopa_settings.transfer_category, other than the old placeholder) stays with every service: it was chosen.
-- (One change per statement: Citus refuses an ALTER TABLE that adds a constraint beside other changes.)
alter table services add column taxonomy_code text;
alter table services add constraint services_taxonomy_code_check check (taxonomy_code ~ '^[0-9]{7}(IM|TS|SP|SA|AP)$');
alter table services add column taxonomy_prefix text not null default '9/';
alter table services add constraint services_taxonomy_prefix_check check (taxonomy_prefix in ('9/', '6/', '7/', '8/'));
update services set taxonomy_code = p.transfer_category
  from pagopa_settings p
  where p.id = 1 and p.transfer_category <> '0101100IM' and p.transfer_category ~ '^[0-9]{7}(IM|TS|SP|SA|AP)$';
alter table pagopa_settings drop column transfer_category;
