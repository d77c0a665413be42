-- The school canteen (refezione scolastica): schools and their classes, the school calendar (years with their
-- days of the week with service, and closures), tariffs with their prices over time, and the enrollment of
-- pupils with the tariff that applies from each date.
create table canteen_schools (
  id bigint generated always as identity primary key,
  kind text not null check (kind in ('infanzia', 'primaria', 'secondaria')),
  name text not null check (length(name) between 2 and 120),
  address text check (length(address) <= 200),
  active boolean not null default true,
  created_at timestamptz not null default now(),
  unique (kind, name)
);

create table canteen_classes (
  id bigint generated always as identity primary key,
  school_id bigint not null references canteen_schools (id),
  name text not null check (length(name) between 1 and 40),
  -- printed after the class, as in "Primaria DANTE ALIGHIERI 5 A (1 rientro)"
  note text check (length(note) <= 60),
  -- ISO days of the week (1 = Monday) on which the class eats at school
  weekdays smallint[] not null default '{1,2,3,4,5}'
    check (weekdays <@ '{1,2,3,4,5,6,7}'::smallint[] and cardinality(weekdays) >= 1),
  active boolean not null default true,
  created_at timestamptz not null default now(),
  unique (school_id, name)
);

-- A school year of the calendar: the canteen serves on its days of the week between its first and last day,
-- except on closures. Years never overlap.
create table canteen_school_years (
  id bigint generated always as identity primary key,
  label text not null unique check (label ~ '^[0-9]{4}/[0-9]{4}$'),
  starts_on date not null,
  ends_on date not null,
  weekdays smallint[] not null default '{1,2,3,4,5}'
    check (weekdays <@ '{1,2,3,4,5,6,7}'::smallint[] and cardinality(weekdays) >= 1),
  created_at timestamptz not null default now(),
  check (ends_on >= starts_on),
  exclude using gist (daterange(starts_on, ends_on, '[]') with &&)
);

-- Days without service: holidays for every school, or a closure of one school.
create table canteen_closures (
  id bigint generated always as identity primary key,
  school_year_id bigint not null references canteen_school_years (id) on delete cascade,
  starts_on date not null,
  ends_on date not null,
  description text not null check (length(description) between 2 and 120),
  school_id bigint references canteen_schools (id),
  created_at timestamptz not null default now(),
  check (ends_on >= starts_on)
);
create index canteen_closures_days on canteen_closures (starts_on, ends_on);

create table canteen_tariffs (
  id bigint generated always as identity primary key,
  -- "denominazione tariffa": RESIDENTE, NON RESIDENTE, ISEE fascia 1 …
  name text not null unique check (length(name) between 2 and 60),
  description text check (length(description) <= 200),
  -- a reduction of another tariff (the ISEE bands of RESIDENTE): the difference per meal is a reduction
  base_tariff_id bigint references canteen_tariffs (id),
  isee_min_cents bigint check (isee_min_cents >= 0),
  isee_max_cents bigint check (isee_max_cents >= 0),
  -- a light meal (pasto in bianco) is charged as a meal unless the tariff says otherwise
  light_meal_charged boolean not null default true,
  -- the tariff of an enrollment that names none
  is_default boolean not null default false,
  active boolean not null default true,
  created_at timestamptz not null default now(),
  check (base_tariff_id is null or base_tariff_id <> id)
);
create unique index canteen_tariffs_one_default on canteen_tariffs ((true)) where is_default;

-- The price of a tariff from a day on, until the next row of the same tariff: no overlaps, no gaps.
create table canteen_tariff_prices (
  tariff_id bigint not null references canteen_tariffs (id),
  valid_from date not null,
  price_cents bigint not null check (price_cents > 0 and price_cents <= 100000),
  created_at timestamptz not null default now(),
  primary key (tariff_id, valid_from)
);

-- One enrollment per pupil and school year ('2026/2027', from August to July).
create table canteen_enrollments (
  id bigint generated always as identity primary key,
  pupil_id bigint not null references pupils (id),
  school_year text not null check (school_year ~ '^[0-9]{4}/[0-9]{4}$'),
  class_id bigint references canteen_classes (id),
  start_date date not null,
  end_date date,
  status text not null default 'attiva' check (status in ('attiva', 'sospesa', 'cessata')),
  -- the ISEE declared, if any ("ISEE: NON DICHIARATO" otherwise)
  isee_cents bigint check (isee_cents >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (pupil_id, school_year),
  check (end_date is null or end_date >= start_date)
);
create index canteen_enrollments_class on canteen_enrollments (class_id);
create index canteen_enrollments_year on canteen_enrollments (school_year, status);

-- The tariff of an enrollment from a day on (an ISEE declared in January changes it from then).
create table canteen_enrollment_tariffs (
  enrollment_id bigint not null references canteen_enrollments (id) on delete cascade,
  valid_from date not null,
  tariff_id bigint not null references canteen_tariffs (id),
  primary key (enrollment_id, valid_from)
);
