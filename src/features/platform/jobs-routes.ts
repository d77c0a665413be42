// The platform operator's jobs page: every scheduled job with its schedule, next and last run; recent runs and
// failures; the outbox with what waits, what is being retried and what failed for good (with a retry button).
import { Hono } from 'hono'
import cron from 'node-cron'
import { JOBS } from '../../jobs/registry.ts'
import { jobSummaries, recentRuns } from '../../jobs/runs.ts'
import { loadJobSettings } from '../../jobs/settings.ts'
import { NotFound } from '../../platform/errors.ts'
import type { Env } from '../../platform/http.ts'
import { render } from '../../platform/render.ts'
import { requireOperator } from '../../platform/roles.ts'

export const jobsRoutes = new Hono<Env>()

function nextRun(expression: string, timezone: string): Date | null {
  try {
    const task = cron.createTask(expression, () => {}, { timezone })
    const [next] = task.getNextRuns(1)
    void task.destroy()
    return next ?? null
  } catch {
    return null
  }
}

interface OutboxStats {
  pending: number
  retrying: number
  sending: number
  failed: number
  sent_24h: number
  oldest_pending: Date | null
}

interface OutboxProblem {
  id: number
  to_address: string
  subject: string
  status: string
  attempts: number
  last_error: string | null
  created_at: Date
  next_attempt_at: Date
}

jobsRoutes.get('/piattaforma/lavori', requireOperator, async (c) => {
  const { db, config } = c.var.deps
  const settings = loadJobSettings(config, JOBS)
  const filter = c.req.query('lavoro')
  const only = filter && JOBS.some((j) => j.name === filter) ? filter : undefined
  const [summaries, runs, problems, [outbox], failedMail, retryingMail] = await Promise.all([
    jobSummaries(db.sql),
    recentRuns(db.sql, { job: only, limit: 50 }),
    recentRuns(db.sql, { problems: true, limit: 20 }),
    db.sql<OutboxStats[]>`
      select count(*) filter (where status = 'pending')::int as pending,
        count(*) filter (where status = 'pending' and attempts > 0)::int as retrying,
        count(*) filter (where status = 'sending')::int as sending,
        count(*) filter (where status = 'failed')::int as failed,
        count(*) filter (where status = 'sent' and sent_at > now() - interval '24 hours')::int as sent_24h,
        min(created_at) filter (where status = 'pending') as oldest_pending
      from platform.outbox where status <> 'sent' or sent_at > now() - interval '24 hours'`,
    db.sql<OutboxProblem[]>`
      select id, to_address, subject, status, attempts, last_error, created_at, next_attempt_at from platform.outbox
      where status = 'failed' order by id desc limit 50`,
    db.sql<OutboxProblem[]>`
      select id, to_address, subject, status, attempts, last_error, created_at, next_attempt_at from platform.outbox
      where status = 'pending' and attempts > 0 order by next_attempt_at limit 20`,
  ])
  const jobs = JOBS.map((j) => {
    const schedule = settings.schedules[j.name] ?? j.schedule
    const off = settings.disabled.includes(j.name)
    return {
      name: j.name,
      description: j.description,
      schedule,
      off,
      next: off ? null : nextRun(schedule, settings.timezone),
      summary: summaries.find((s) => s.job === j.name) ?? null,
    }
  })
  return render(c, 'jobs/runs', {
    title: c.var.t('jobs.title'),
    jobs,
    runs,
    problems,
    outbox: outbox as OutboxStats,
    failedMail,
    retryingMail,
    filter: only ?? '',
    timezone: settings.timezone,
    jobsOn: config.jobs,
    retried: c.req.query('riprovato') === '1',
  })
})

/** A message that failed for good goes back to the queue, with a fresh set of attempts. */
jobsRoutes.post('/piattaforma/lavori/posta/:id/riprova', requireOperator, async (c) => {
  const id = Number(c.req.param('id'))
  if (!Number.isSafeInteger(id) || id < 1) throw new NotFound()
  const rows = await c.var.deps.db.sql`
    update platform.outbox set status = 'pending', attempts = 0, next_attempt_at = now()
    where id = ${id} and status = 'failed' returning id`
  if (rows.length === 0) throw new NotFound()
  c.var.deps.log.info({ outboxId: id, operator: c.var.user?.accountId }, 'outbox message queued again by an operator')
  c.var.deps.kickMail()
  return c.redirect('/piattaforma/lavori?riprovato=1#posta', 303)
})
