-- Applications (istanze) and communications from citizens, the forms the office defines per service, their
-- attachments, and the enrollments an accepted application creates for services other than the canteen.
create table application_forms (
  id bigint generated always as identity primary key,
  service_id bigint not null unique references services (id),
  title text not null check (length(title) between 3 and 120),
  intro text not null default '' check (length(intro) <= 2000),
  -- which questions the form asks besides the pupil (always asked)
  fields text[] not null default '{}'
    check (fields <@ array['school', 'class', 'startDate', 'tariff', 'diet', 'notes']::text[]),
  open boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table applications (
  id bigint generated always as identity primary key,
  -- iscrizione: an application through a form; the others are communications
  kind text not null check (kind in ('iscrizione', 'indirizzo', 'sospensione', 'dieta', 'valutazione')),
  form_id bigint references application_forms (id),
  service_id bigint references services (id),
  status text not null default 'bozza'
    check (status in ('bozza', 'inviata', 'in_lavorazione', 'accolta', 'respinta')),
  -- the citizen's platform account (no foreign key into the platform schema) and who they are
  account_id bigint not null,
  applicant_cf text not null check (applicant_cf ~ '^[A-Z0-9]{16}$'),
  applicant_given_name text not null,
  applicant_family_name text not null,
  -- one of the applicant's pupils, or a child the office does not know yet
  pupil_id bigint references pupils (id),
  child_given_name text,
  child_family_name text,
  child_cf text check (child_cf ~ '^[A-Z0-9]{16}$'),
  answers jsonb not null default '{}',
  office_message text,
  assigned_account_id bigint,
  assigned_name text,
  decided_by_name text,
  -- what acceptance did: 'mensa' (canteen enrollment), 'servizio' (service_enrollments), 'indirizzo'
  effect text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  submitted_at timestamptz,
  taken_at timestamptz,
  decided_at timestamptz,
  check ((kind = 'iscrizione') = (form_id is not null)),
  check (status = 'bozza' or submitted_at is not null)
);
create index applications_queue on applications (status, submitted_at) where status <> 'bozza';
create index applications_applicant on applications (applicant_cf, created_at desc);

-- One attachment per application (a medical certificate for a diet): PDF, JPEG or PNG, kept in the tenant's
-- schema so that it follows the tenant's backups, roles and deletion (decision 0041).
create table application_attachments (
  application_id bigint primary key references applications (id) on delete cascade,
  file_name text not null,
  content_type text not null check (content_type in ('application/pdf', 'image/jpeg', 'image/png')),
  size_bytes int not null check (size_bytes between 1 and 5242880),
  sha256 text not null,
  content bytea not null,
  uploaded_at timestamptz not null default now()
);
-- (PDF, JPEG and PNG are already compressed; PostgreSQL's default storage gives up compressing them after the
-- first kilobyte. An earlier version set storage external here: Citus refuses that ALTER on a distributed
-- table, and schemas created before keep it, which changes nothing for reading or writing.)

-- Enrollment in a service other than the canteen (which keeps its own), created by an accepted application.
create table service_enrollments (
  id bigint generated always as identity primary key,
  service_id bigint not null references services (id),
  pupil_id bigint not null references pupils (id),
  application_id bigint references applications (id),
  start_date date not null,
  school text,
  class text,
  tariff text,
  isee_cents bigint check (isee_cents >= 0),
  status text not null default 'attiva' check (status in ('attiva', 'sospesa', 'cessata')),
  created_at timestamptz not null default now()
);
create unique index service_enrollments_active on service_enrollments (service_id, pupil_id) where status = 'attiva';
