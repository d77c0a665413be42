// npm run tenants -- add tenants/x.json [...] | list | export <slug> [--out <file>|-] [--force]
// The work is src/cli/commands/tenants.ts; on the embedded database the running server does it (common.ts).
import { tenantsCommand } from './commands/tenants.ts'
import { runCommand } from './common.ts'

await runCommand(tenantsCommand, process.argv.slice(2))
