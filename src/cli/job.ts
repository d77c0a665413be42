// npm run job -- <name> [--date YYYY-MM-DD] [--tenant slug[,slug…]]   runs one job now, recorded as a manual run
// npm run job -- --list                                               the jobs and their schedules
// The work is src/cli/commands/job.ts; on the embedded database the running server does it (common.ts).
import { interruptRuns } from '../jobs/runs.ts'
import { jobCommand } from './commands/job.ts'
import { runCommand } from './common.ts'

await runCommand(jobCommand, process.argv.slice(2), {
  // Ctrl-C or SIGTERM while this process runs the job: the run is recorded as interrupted (a killed run would hold
  // the scheduled slots back until its lease passes), then the process ends; what was in flight rolls back
  onOpen(ctx, [name]) {
    for (const [signal, number] of [
      ['SIGINT', 2],
      ['SIGTERM', 15],
    ] as const) {
      process.once(signal, () => {
        console.error(`job ${name}: stopped by ${signal}`)
        const done = () => process.exit(128 + number)
        setTimeout(done, 3000).unref()
        interruptRuns(ctx.db.sql, ctx.instance, `stopped by ${signal}`).then(done, done)
      })
    }
  },
})
