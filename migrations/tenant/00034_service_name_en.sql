-- A service's name in English, for the citizen pages in English (issue "Citizen pages…", point 6); null: the
-- Italian name is shown in both languages.
alter table services add column name_en text check (length(name_en) between 2 and 120);
