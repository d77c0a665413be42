-- Scheduled job runs. The unique (job, slot) key is the run coordinator: every instance tries to insert the
-- row of a scheduled slot, and only the one whose insert succeeds runs it. Manual runs (npm run job) get a
-- row of their own with trigger 'manual'.
create table platform.job_runs (
  id bigint generated always as identity primary key,
  job text not null check (job ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  slot timestamptz not null,
  instance text not null,
  trigger text not null default 'schedule' check (trigger in ('schedule', 'manual')),
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  -- null while running; 'interrupted': the instance stopped before the end (found after the job's lease)
  outcome text check (outcome in ('succeeded', 'failed', 'interrupted')),
  counts jsonb not null default '{}',
  -- per-tenant counts ({"tenants": {"<slug>": {...}}}), so an office can see its own last run
  details jsonb,
  error text,
  unique (job, slot)
);
create index job_runs_started on platform.job_runs (started_at desc);
create index job_runs_job_started on platform.job_runs (job, started_at desc);
create index job_runs_unfinished on platform.job_runs (job, started_at) where finished_at is null;
create index job_runs_problems on platform.job_runs (started_at desc) where outcome in ('failed', 'interrupted');

grant select, insert, update, delete on platform.job_runs to {{app_role}};
grant usage on all sequences in schema platform to {{app_role}}, {{tenant_group}};
