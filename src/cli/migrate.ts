// npm run migrate [-- --only slug,slug] : platform migrations, then every tenant schema up to date.
// The work is src/cli/commands/migrate.ts; on the embedded database the running server does it (common.ts).
import { migrateCommand } from './commands/migrate.ts'
import { runCommand } from './common.ts'

await runCommand(migrateCommand, process.argv.slice(2))
