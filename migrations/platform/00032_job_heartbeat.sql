-- Job runs survive the death of their runner (decision 0089): a running run's runner writes heartbeat_at every
-- ten seconds; a scheduled run whose heartbeat is silent for 45 seconds is taken over by another instance (the
-- row changes hands in one update, so one taker only: attempts counts them, taken_over_from names the one
-- before); a manual run left so is closed as interrupted. host and pid let a starting server tell the runs of a
-- process of its own machine that is gone.
alter table platform.job_runs
  add column heartbeat_at timestamptz not null default now(),
  add column host text,
  add column pid integer,
  add column attempts integer not null default 1,
  add column taken_over_from text;
create index job_runs_heartbeat on platform.job_runs (heartbeat_at) where finished_at is null;
