-- Spontaneous payments that follow the service's rule (issue "Citizen pages…", point 7): a service may offer fixed
-- tariffs to choose from (amount_mode 'tariffa': a JSON array of {"label", "cents"}), and a free amount may be bounded
-- (min_cents, max_cents). The request keeps the tariff chosen.
alter table services drop constraint services_amount_mode_check;
alter table services add constraint services_amount_mode_check check (amount_mode in ('importo', 'quantita', 'tariffa'));
alter table services
  add column tariffs jsonb check (tariffs is null or jsonb_typeof(tariffs) = 'array'),
  add column min_cents bigint check (min_cents > 0),
  add column max_cents bigint check (max_cents > 0),
  add constraint services_amount_bounds check (min_cents is null or max_cents is null or min_cents <= max_cents);
alter table spontaneous_requests add column tariff text check (length(tariff) <= 80);
