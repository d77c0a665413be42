-- Keys of tenant tables are bigint (see docs/scaling.md: schema-based sharding).
alter table pagopa_settings alter column id type bigint;
