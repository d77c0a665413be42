-- Spontaneous payments that follow the service's rule (decision 0093): a service may offer fixed tariffs to choose
-- from (amount_mode 'tariffa': a JSON array of {"label", "cents"}), and a free amount may be bounded (min_cents,
-- max_cents). The request keeps the tariff chosen.
-- (One change per statement: Citus refuses an ALTER TABLE that adds a constraint beside other changes.)
alter table services drop constraint services_amount_mode_check;
alter table services add constraint services_amount_mode_check check (amount_mode in ('importo', 'quantita', 'tariffa'));
alter table services add column tariffs jsonb;
alter table services add column min_cents bigint;
alter table services add column max_cents bigint;
alter table services add constraint services_tariffs_check check (tariffs is null or jsonb_typeof(tariffs) = 'array');
alter table services add constraint services_min_cents_check check (min_cents > 0);
alter table services add constraint services_max_cents_check check (max_cents > 0);
alter table services add constraint services_amount_bounds
  check (min_cents is null or max_cents is null or min_cents <= max_cents);
alter table spontaneous_requests add column tariff text;
alter table spontaneous_requests add constraint spontaneous_requests_tariff_check check (length(tariff) <= 80);
