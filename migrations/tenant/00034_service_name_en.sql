-- A service's name in English, for the citizen pages in English (decision 0093); null: the Italian name is shown in
-- both languages.
-- (One change per statement: Citus refuses an ALTER TABLE that adds a constraint beside other changes.)
alter table services add column name_en text;
alter table services add constraint services_name_en_check check (length(name_en) between 2 and 120);
