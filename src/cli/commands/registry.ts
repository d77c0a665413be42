// The commands a tool may ask the running server to do on its embedded database (src/cli/control.ts).
import type { Command } from './command.ts'
import { jobCommand } from './job.ts'
import { migrateCommand } from './migrate.ts'
import { tenantsCommand } from './tenants.ts'

export const COMMANDS: Record<Command['name'], Command> = {
  tenants: tenantsCommand,
  migrate: migrateCommand,
  job: jobCommand,
}

export function findCommand(name: unknown): Command | undefined {
  return typeof name === 'string' && Object.hasOwn(COMMANDS, name) ? COMMANDS[name as Command['name']] : undefined
}
